/** The project's seed fixture (test/fixtures/seed), read once. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../fixtures/seed/', import.meta.url));
const read = (name: string) => ({
  key: readFileSync(`${dir}${name}.key`, 'utf8'),
  value: readFileSync(`${dir}${name}.value.json`, 'utf8'),
});

export const seed = {
  config: read('config'),
  heatStack: read('heat-stack'),
  jobState: read('job-state'),
  state: read('state'),
};
