import { describe, expect, it } from 'vitest';
import { allDefinitions, DLQ_PURGE, START } from '../../../../bridge/cli/definitions.js';
import { describeFailure } from '../../../../bridge/cli/failure.js';
import { readmeCommandTable, renderHelp, usageLine } from '../../../../bridge/cli/help.js';

describe('help from the command definitions', () => {
  it('the usage line brackets optional flags only', () => {
    expect(usageLine(DLQ_PURGE)).toMatch(/^etcd-bridge dlq purge --route R \[--yes\] \[--json\]/);
    expect(usageLine(START)).toContain('[--start-position latest|earliest|resync|REV]');
  });

  it('every flag appears with its default in the help and in the README table', () => {
    const table = readmeCommandTable();
    for (const def of allDefinitions()) {
      const help = renderHelp(def);
      for (const [name, flag] of Object.entries(def.flags)) {
        expect(help).toContain(`--${name}`);
        if (def.name !== 'dlq') expect(table).toContain(`\`--${name}`);
        const shown = flag.type === 'string' ? (flag.default ?? flag.shownDefault) : undefined;
        if (shown !== undefined) expect(help).toContain(`(default: ${shown})`);
      }
    }
  });

  it('short flags are unique within a command', () => {
    for (const def of allDefinitions()) {
      const shorts = Object.values(def.flags).flatMap((f) => (f.short ? [f.short] : []));
      expect(new Set(shorts).size, def.name).toBe(shorts.length);
      expect(shorts, `${def.name}: -h is --help`).not.toContain('h');
    }
  });
});

describe('a failure in one line', () => {
  it('a circuit breaker that opened after the real error shows the real error', () => {
    const cause = new Error('14 UNAVAILABLE: No connection established');
    const breaker = new Error('Execution prevented because the circuit breaker is open', { cause });
    expect(describeFailure(breaker)).toBe('14 UNAVAILABLE: No connection established');
  });

  it('a breaker with no cause says what it means', () => {
    expect(describeFailure(new Error('Execution prevented because the circuit breaker is open'))).toMatch(
      /^etcd did not answer/,
    );
  });

  it('a multi-line message keeps its first line unless that line introduces the rest', () => {
    expect(describeFailure(new Error('boom\n    at x (y.js:1:1)'))).toBe('boom');
    expect(describeFailure(new Error('config is invalid:\n  group: bad'))).toBe(
      'config is invalid: group: bad',
    );
  });
});
