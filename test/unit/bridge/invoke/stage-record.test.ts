import { describe, expect, it } from 'vitest';
import { buildStageRecord, RouteReads } from '../../../../bridge/invoke/stage-record.js';

const snapshot = {
  entries: new Map([
    ['/config/v2.0/ports/p1', { value: Buffer.from('{"version": 3}'), modRevision: '4' }],
    ['/state/v2.0/ports/p1', null],
  ]),
};

describe('RouteReads', () => {
  it('fills the read templates from the key pattern, and reads nothing for a key outside it', () => {
    const reads = new RouteReads({
      keyPattern: '/esi-worker/heat_stacks/{api}/{collection}/{id}',
      reads: ['/config/{api}/{collection}/{id}', '/state/{api}/{collection}/{id}'],
    });
    expect(reads.keysFor('/esi-worker/heat_stacks/v2.0/ports/p1')).toEqual([
      '/config/v2.0/ports/p1',
      '/state/v2.0/ports/p1',
    ]);
    expect(reads.keysFor('/elsewhere/p1')).toEqual([]);
  });
});

describe('buildStageRecord', () => {
  it('decodes the value and takes each read from the snapshot (null when absent)', () => {
    const built = buildStageRecord(
      {
        id: '3',
        type: 'put',
        key: '/k',
        value: Buffer.from('{"é": 1}'),
        modRevision: '12',
        readKeys: ['/config/v2.0/ports/p1', '/state/v2.0/ports/p1', '/not/read'],
      },
      snapshot,
    );
    expect(built).toEqual({
      ok: true,
      record: {
        id: '3',
        type: 'put',
        key: '/k',
        value: '{"é": 1}',
        modRevision: '12',
        reads: { '/config/v2.0/ports/p1': '{"version": 3}', '/state/v2.0/ports/p1': null, '/not/read': null },
      },
    });
  });

  it('gives a delete a null value', () => {
    const built = buildStageRecord(
      { id: '0', type: 'delete', key: '/k', value: null, modRevision: '1', readKeys: [] },
      snapshot,
    );
    expect(built.ok && built.record.value).toBeNull();
  });

  it('refuses a value that is not UTF-8 as a bad record, naming the key', () => {
    const built = buildStageRecord(
      { id: '0', type: 'put', key: '/k', value: Buffer.from([0xc3, 0x28]), modRevision: '1', readKeys: [] },
      snapshot,
    );
    expect(built).toMatchObject({
      ok: false,
      failure: {
        verdict: 'terminal',
        reason: 'bad-record',
        errorType: 'RecordValidationError',
        message: '/k: value: is not valid UTF-8',
      },
    });
  });

  it('refuses a read that is not UTF-8 as a bad record, naming the read key (no U+FFFD in the output)', () => {
    const reads = {
      entries: new Map([
        [
          '/esi-worker/heat_stacks/v2.0/ports/p1',
          { value: Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x7d]), modRevision: '2' },
        ],
      ]),
    };
    const built = buildStageRecord(
      {
        id: '0',
        type: 'put',
        key: '/k',
        value: Buffer.from('{}'),
        modRevision: '1',
        readKeys: ['/esi-worker/heat_stacks/v2.0/ports/p1'],
      },
      reads,
    );
    expect(built).toMatchObject({
      ok: false,
      failure: {
        verdict: 'terminal',
        errorType: 'RecordValidationError',
        message: '/esi-worker/heat_stacks/v2.0/ports/p1: value: is not valid UTF-8 (read for /k)',
      },
    });
  });

  it('decodes a read as it decodes the value: a leading UTF-8 BOM is dropped from both', () => {
    const bom = (text: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    const built = buildStageRecord(
      {
        id: '0',
        type: 'put',
        key: '/k',
        value: bom('{}'),
        modRevision: '1',
        readKeys: ['/config/v2.0/ports/p1'],
      },
      { entries: new Map([['/config/v2.0/ports/p1', { value: bom('{"version": 3}'), modRevision: '2' }]]) },
    );
    expect(built).toMatchObject({
      ok: true,
      record: { value: '{}', reads: { '/config/v2.0/ports/p1': '{"version": 3}' } },
    });
  });
});
