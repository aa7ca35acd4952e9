import { describe, expect, it } from 'vitest';
import { compareWrites, type Write } from '../../../../bridge/replay/compare.js';
import { parseTrace, TraceError } from '../../../../bridge/replay/trace.js';

const put = (key: string, value: string): Write => ({ key, action: 'put', value });
const del = (key: string): Write => ({ key, action: 'delete', value: null });

describe('compareWrites', () => {
  it('matches expected writes per key, in order, and counts the rest as extra', () => {
    const expected = [put('/a', '1'), put('/b', '1'), del('/a')];
    const actual = [put('/b', '1'), put('/a', '1'), put('/a', 'x'), del('/a'), del('/c')];
    const result = compareWrites(expected, actual);
    expect(result).toMatchObject({ expected: 3, matched: 3, extra: 2, mismatches: [] });
    expect(result.extras).toEqual([put('/a', 'x'), del('/c')]);
  });

  it('reports a missing or different write with what the pipeline wrote there', () => {
    const result = compareWrites([put('/a', '1'), put('/a', '2')], [put('/a', '1'), put('/a', '3')]);
    expect(result.matched).toBe(1);
    expect(result.mismatches).toEqual([{ key: '/a', expected: put('/a', '2'), got: put('/a', '3') }]);
    expect(compareWrites([put('/z', '1')], []).mismatches).toEqual([
      { key: '/z', expected: put('/z', '1'), got: null },
    ]);
  });

  it('does not match writes out of order', () => {
    const result = compareWrites([put('/a', '1'), put('/a', '2')], [put('/a', '2'), put('/a', '1')]);
    expect(result.matched).toBe(1);
  });
});

describe('parseTrace', () => {
  it('reads one change a line', () => {
    const text =
      '{"seq": 0, "role": "input", "action": "put", "key": "/k", "value": "{}"}\n\n{"seq": 1, "role": "expect", "action": "delete", "key": "/k", "value": null}\n';
    expect(parseTrace(text)).toHaveLength(2);
  });

  it.each([
    ['not JSON', '{', /t.jsonl:1: not JSON/],
    [
      'a bad role',
      '{"seq": 0, "role": "output", "action": "put", "key": "/k", "value": ""}',
      /t.jsonl:1: role: /,
    ],
    [
      'a put without value',
      '{"seq": 0, "role": "input", "action": "put", "key": "/k", "value": null}',
      /a put needs a value/,
    ],
    [
      'an unknown field',
      '{"seq": 0, "role": "input", "action": "put", "key": "/k", "value": "", "x": 1}',
      /t.jsonl:1/,
    ],
  ])('rejects %s with the line number', (_what, text, message) => {
    expect(() => parseTrace(text, 't.jsonl')).toThrow(TraceError);
    expect(() => parseTrace(text, 't.jsonl')).toThrow(message);
  });
});
