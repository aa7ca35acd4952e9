import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTES, RouteSchema, StageRequestSchema } from '../../../shared/index.js';

describe('route configuration', () => {
  it('fills defaults for the built-in routes', () => {
    const [heat, job] = DEFAULT_ROUTES.map((r) => RouteSchema.parse(r));
    expect(heat).toMatchObject({
      name: 'heat-stacks',
      eventTypes: ['put'],
      onFailure: 'dead-letter',
      startPosition: 'latest',
    });
    expect(job?.reads).toHaveLength(3);
    expect(job?.retry.maxAttempts).toBeGreaterThan(1);
  });

  it('rejects unknown fields and bad values, naming them', () => {
    const bad = RouteSchema.safeParse({ ...DEFAULT_ROUTES[0], batchSzie: 10 });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('batchSzie');
    const badSize = RouteSchema.safeParse({ ...DEFAULT_ROUTES[0], batchSize: 0 });
    expect(badSize.error?.issues[0]?.path).toEqual(['batchSize']);
  });

  it('rejects a read template naming a part the pattern does not have', () => {
    const result = RouteSchema.safeParse({ ...DEFAULT_ROUTES[0], reads: ['/config/{api}/{tenant}'] });
    expect(result.error?.issues[0]).toMatchObject({
      path: ['reads', 0],
      message: expect.stringContaining('{tenant}'),
    });
  });

  it('accepts a revision as start position, as a decimal string', () => {
    expect(
      RouteSchema.parse({ ...DEFAULT_ROUTES[0], startPosition: '12345678901234567' }).startPosition,
    ).toBe('12345678901234567');
    expect(RouteSchema.safeParse({ ...DEFAULT_ROUTES[0], startPosition: 'soon' }).success).toBe(false);
  });

  it('rejects revision 0 as start position, naming the field (etcd counts from 1)', () => {
    const result = RouteSchema.safeParse({ ...DEFAULT_ROUTES[0], startPosition: '0' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toContain('startPosition');
    expect(RouteSchema.parse({ ...DEFAULT_ROUTES[0], startPosition: '1' }).startPosition).toBe('1');
  });
});

describe('the batch contract', () => {
  it('rejects a batch that is not the contract', () => {
    expect(StageRequestSchema.safeParse({ route: 'x', records: [{ id: '1' }] }).success).toBe(false);
    expect(StageRequestSchema.safeParse({ route: 'x', records: [], extra: 1 }).success).toBe(false);
    const record = { id: '1', type: 'put', key: '/k', value: 'v', modRevision: 12, reads: {} };
    expect(StageRequestSchema.safeParse({ route: 'x', records: [record] }).success).toBe(false);
    expect(
      StageRequestSchema.safeParse({ route: 'x', records: [{ ...record, modRevision: '12' }] }).success,
    ).toBe(true);
  });
});
