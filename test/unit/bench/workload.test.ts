import { describe, expect, it } from 'vitest';
import { parseProcStatus } from '../../../bench/backlog.js';
import { parsePidStat, parseProcStat } from '../../../bench/cpu.js';
import { makeWorkload, STATE_ROOT, stateSeq } from '../../../bench/workload.js';
import { heatStacksTransform, jobStateTransform, type StageRecord } from '../../../shared/index.js';

function record(key: string, value: string | null, reads: Record<string, string | null> = {}): StageRecord {
  return { id: '0', type: 'put', key, value, modRevision: '7', reads };
}

describe('bench workload', () => {
  it('spreads records round-robin: any `keys` consecutive records touch distinct keys', () => {
    const workload = makeWorkload('run', 200);
    const keys = new Set(Array.from({ length: 200 }, (_, i) => workload.record(500 + i).key));
    expect(keys.size).toBe(200);
    expect(workload.record(3).key).toBe(workload.record(203).key);
    expect(workload.record(3).seq).toBe(4);
  });

  it("carries each record's seq through both real stages into the state record", () => {
    const workload = makeWorkload('run', 10);
    for (const i of [0, 10, 19]) {
      const input = workload.record(i);
      const [jobState] = heatStacksTransform(record(input.key, input.value));
      expect(jobState?.op).toBe('put');
      if (jobState?.op !== 'put') return;
      const stateKey = jobState.key.replace('/esi-worker/job_state/', STATE_ROOT.slice(0, -'v2.0/'.length));
      const mutations = jobStateTransform(
        record(jobState.key, jobState.value, { [input.key]: input.value, [stateKey]: null }),
      );
      const state = mutations.find((m) => m.op === 'put');
      expect(state?.key).toBe(stateKey);
      expect(workload.ownsStateKey(stateKey)).toBe(true);
      expect(makeWorkload('warm', 10).ownsStateKey(stateKey)).toBe(false);
      expect(stateSeq(state?.op === 'put' ? state.value : '')).toBe(input.seq);
    }
  });

  it('stateSeq is undefined for a state record that is not the bench’s', () => {
    expect(stateSeq('not json')).toBeUndefined();
    expect(stateSeq(JSON.stringify({ state: { heat_outputs: '[]' } }))).toBeUndefined();
  });
});

describe('/proc parsers', () => {
  it('reads VmRSS and VmHWM from /proc/<pid>/status', () => {
    const text = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t  265000 kB\nVmRSS:\t  200000 kB\n';
    expect(parseProcStatus(text)).toEqual({ rssKb: 200000, hwmKb: 265000 });
    expect(parseProcStatus('Name:\tgone\n')).toBeUndefined();
  });

  it('reads busy and total ticks from /proc/stat', () => {
    const text = 'cpu  100 5 50 800 10 0 5 0 0 0\ncpu0 50 2 25 400 5 0 2 0 0 0\n';
    expect(parseProcStat(text)).toEqual({ busy: 160, total: 970 });
  });

  it('reads utime + stime from /proc/<pid>/stat, whatever the command name holds', () => {
    const fields = ['S', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '120', '30', '0', '0'];
    expect(parsePidStat(`42 (node) ${fields.join(' ')}`)).toBe(150);
    expect(parsePidStat(`42 (a ) b) ${fields.join(' ')}`)).toBe(150);
  });
});
