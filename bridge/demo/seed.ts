/**
 * The seed operation "Update Loadbalancer Interface": records (1), (2), (3) and the resource's
 * config record, as stored in etcd (bridge/demo/seed/*: `<name>.key`, `<name>.value.json`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

export interface SeedRecord {
  readonly key: string;
  readonly value: string;
}

export interface Seed {
  readonly config: SeedRecord;
  readonly heatStack: SeedRecord;
  readonly jobState: SeedRecord;
  readonly state: SeedRecord;
}

export function loadSeed(): Seed {
  const dir = join(packageRoot(), 'bridge', 'demo', 'seed');
  const read = (name: string): SeedRecord => ({
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    value: readFileSync(join(dir, `${name}.value.json`), 'utf8'),
  });
  return {
    config: read('config'),
    heatStack: read('heat-stack'),
    jobState: read('job-state'),
    state: read('state'),
  };
}
