import { describe, expect, it } from 'vitest';
import { compileKeyPattern, KEY_PATTERNS, parseResourceKey, resourceKey } from '../../../shared/index.js';

describe('key patterns', () => {
  it('match and build keys of any collection', () => {
    const pattern = compileKeyPattern('/esi-worker/job_state/{api}/{collection}/{id}');
    expect(pattern.prefix).toBe('/esi-worker/job_state/');
    expect(pattern.match('/esi-worker/job_state/v2.0/firewall_interfaces/fw-1')).toEqual({
      api: 'v2.0',
      collection: 'firewall_interfaces',
      id: 'fw-1',
    });
    expect(pattern.match('/esi-worker/job_state/v2.0/ports')).toBeUndefined();
    expect(pattern.match('/esi-worker/job_state/v2.0/ports/a/b')).toBeUndefined();
    expect(pattern.build({ api: 'v1', collection: 'networks', id: 'n' })).toBe(
      '/esi-worker/job_state/v1/networks/n',
    );
  });

  it('build around text before, between and after the parts, and without parts', () => {
    const pattern = compileKeyPattern('/t/{a}-{b}/x.json');
    expect(pattern.build({ a: '1', b: '2' })).toBe('/t/1-2/x.json');
    expect(pattern.match(pattern.build({ a: 'p', b: 'q' }))).toEqual({ a: 'p', b: 'q' });
    expect(compileKeyPattern('/fixed/key').build({})).toBe('/fixed/key');
    expect(() => pattern.build({ a: '1', b: '' })).toThrow(/part \{b\} is missing/);
  });

  it('treat regex characters in the literal text literally', () => {
    expect(compileKeyPattern('/a.b/{x}').match('/aXb/1')).toBeUndefined();
    expect(compileKeyPattern('/a.b/{x}').match('/a.b/1')).toEqual({ x: '1' });
  });

  it('refuse parts that are not one segment, and malformed patterns', () => {
    expect(() => compileKeyPattern('/a/{x}').build({ x: 'a/b' })).toThrow(/not one key segment/);
    expect(() => compileKeyPattern('/a/{x}').build({})).toThrow(/missing/);
    expect(() => compileKeyPattern('a/{x}')).toThrow(/must start with/);
    expect(() => compileKeyPattern('/a/{x}/{x}')).toThrow(/repeats/);
    expect(() => compileKeyPattern('/a/{x')).toThrow(/unbalanced/);
  });

  it('give the four record kinds of one resource', () => {
    const ref = parseResourceKey('heatStack', '/esi-worker/heat_stacks/v2.0/vnf_instances/398d');
    expect(ref).toEqual({ api: 'v2.0', collection: 'vnf_instances', id: '398d' });
    expect(resourceKey('state', ref)).toBe('/state/v2.0/vnf_instances/398d');
    expect(resourceKey('config', ref)).toBe('/config/v2.0/vnf_instances/398d');
    expect(resourceKey('jobState', ref)).toBe('/esi-worker/job_state/v2.0/vnf_instances/398d');
    expect(Object.keys(KEY_PATTERNS)).toEqual(['heatStack', 'jobState', 'state', 'config']);
  });
});
