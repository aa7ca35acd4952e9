import { describe, expect, it } from 'vitest';
import { CommitPressure, operatorAdvice } from '../../../../bridge/commit/pressure.js';
import { classified } from '../../../../bridge/failure/classify.js';

describe('CommitPressure', () => {
  it('tells an episode once when it begins, with what to do, and once when it ends', () => {
    // Prepare
    const logs: Array<[string, string, Record<string, unknown>]> = [];
    const pressure = new CommitPressure((level, message, fields) => logs.push([level, message, fields]));
    const noSpace = new Error('etcdserver: mvcc: database space exceeded');
    // Act
    for (let i = 0; i < 5; i++) pressure.refused(classified('etcd-no-space'), noSpace, new Date(1_000));
    const during = pressure.current;
    pressure.accepted(new Date(4_000));
    pressure.accepted(new Date(5_000));
    // Assess
    expect(during).toMatchObject({ reason: 'etcd-no-space', message: noSpace.message });
    expect(pressure.current).toBeUndefined();
    expect(logs).toEqual([
      [
        'error',
        'commits paused: etcd refuses writes',
        { reason: 'etcd-no-space', error: noSpace.message, action: operatorAdvice('etcd-no-space') },
      ],
      ['info', 'commits resumed: etcd takes writes again', { reason: 'etcd-no-space', pausedSeconds: 3 }],
    ]);
  });

  it('a new reason within an episode is told too', () => {
    const messages: string[] = [];
    const pressure = new CommitPressure((_level, _message, fields) => messages.push(String(fields.reason)));
    pressure.refused(classified('etcd-too-many-requests'), new Error('etcdserver: too many requests'));
    pressure.refused(classified('etcd-no-space'), new Error('etcdserver: mvcc: database space exceeded'));
    expect(messages).toEqual(['etcd-too-many-requests', 'etcd-no-space']);
  });

  it('tells the operator how to clear NOSPACE', () => {
    expect(operatorAdvice('etcd-no-space')).toMatch(/compact.*defrag.*alarm disarm/);
  });
});
