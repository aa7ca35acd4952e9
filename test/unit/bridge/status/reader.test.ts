import { describe, expect, it } from 'vitest';
import { noLeaderHint } from '../../../../bridge/status/reader.js';

describe('noLeaderHint', () => {
  it('says nothing while the group has a leader', () => {
    expect(noLeaderHint({ group: 'dev', leader: 'host-1', groupsInEtcd: ['dev'] })).toBeUndefined();
  });

  it('names the other groups in etcd when the one asked for has no leader', () => {
    const hint = noLeaderHint({ group: 'default', leader: null, groupsInEtcd: ['default', 'dev', 'prod'] });

    expect(hint).toBe(
      'group default has no leader now; groups found in etcd: dev, prod (choose one with --group)',
    );
  });

  it('says when no other group is there, and when none has ever run', () => {
    expect(noLeaderHint({ group: 'dev', leader: null, groupsInEtcd: ['dev'] })).toMatch(/no other group/);
    expect(noLeaderHint({ group: 'dev', leader: null, groupsInEtcd: [] })).toMatch(
      /no bridge group has ever run/,
    );
  });
});
