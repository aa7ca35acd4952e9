/**
 * Writes examples/traces/multi-resource.jsonl: the seed document's "Update Loadbalancer Interface"
 * inside the life of the resources around it, in the replay trace format (README.md here).
 *
 *   npx tsx examples/traces/generate.ts
 *
 * Inputs are what the world writes: config records, the job runner's `{}` job_state placeholder,
 * heat stack records in the Heat side's Python 2 layout. Expected writes are what the two stages
 * answer, run here one record at a time over an in-memory keyspace (a reference model of the
 * pipeline, with the reads the job-state route takes): so the trace checks the bridge's plumbing —
 * per-key order, reads from one snapshot, the conditional job_state delete, versions and the
 * rollback rule across records — while the byte formats are checked against CPython by the
 * golden tests of shared/json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  dumpsIndented,
  heatStacksTransform,
  jobStateTransform,
  type Mutation,
  parseJson,
  resourceKey,
  TransformError,
} from '../../shared/index.js';

interface TraceLine {
  seq: number;
  role: 'input' | 'expect';
  action: 'put' | 'delete';
  key: string;
  value: string | null;
}

const lines: TraceLine[] = [];
const store = new Map<string, { value: string; modRevision: bigint }>();
let revision = 1n;

function write(
  role: TraceLine['role'],
  action: TraceLine['action'],
  key: string,
  value: string | null,
): bigint {
  lines.push({ seq: lines.length, role, action, key, value });
  revision++;
  if (action === 'put') store.set(key, { value: value ?? '', modRevision: revision });
  else store.delete(key);
  return revision;
}

/** Python 2's `json.dumps(obj, indent=4)` of a JSON text, as the Heat side and the API write them. */
const py = (value: unknown) => dumpsIndented(parseJson(JSON.stringify(value)));

function apply(mutations: readonly Mutation[]): Array<{ key: string; revision: bigint }> {
  const puts: Array<{ key: string; revision: bigint }> = [];
  for (const m of mutations) {
    if (m.op === 'put') puts.push({ key: m.key, revision: write('expect', 'put', m.key, m.value) });
    else if (m.ifModRevision === undefined || store.get(m.key)?.modRevision.toString() === m.ifModRevision)
      write('expect', 'delete', m.key, null);
  }
  return puts;
}

/** The job-state route on a job_state revision: its reads from the keyspace as it is now. */
function runJobState(key: string, at: bigint): void {
  const current = store.get(key);
  if (!current) return;
  const ref = key.split('/').slice(3);
  const [api, collection, id] = ref as [string, string, string];
  const parts = { api, collection, id };
  const reads: Record<string, string | null> = {};
  for (const kind of ['config', 'state', 'heatStack'] as const) {
    const readKey = resourceKey(kind, parts);
    reads[readKey] = store.get(readKey)?.value ?? null;
  }
  const mutations = jobStateTransform({
    id: '0',
    type: 'put',
    key,
    value: current.value,
    modRevision: at.toString(),
    reads,
  });
  apply(mutations);
}

/** One heat stack put: the heat-stacks stage, then the job-state stage on what it wrote. */
function heatStack(key: string, stack: Record<string, unknown>): void {
  const value = py(stack);
  const at = write('input', 'put', key, value);
  let mutations: Mutation[];
  try {
    mutations = heatStacksTransform({
      id: '0',
      type: 'put',
      key,
      value,
      modRevision: at.toString(),
      reads: {},
    });
  } catch (error) {
    // A rejected status: dead-lettered, nothing written, the placeholder left as it is.
    if (error instanceof TransformError) return;
    throw error;
  }
  for (const put of apply(mutations)) runJobState(put.key, put.revision);
}

/** One operation on a resource: its config (when given), the `{}` placeholder, the heat stack. */
function operation(
  collection: string,
  id: string,
  stack: { status: string; reason: string; outputs: Array<[string, string, string]> },
  config?: { version: number; body: Record<string, unknown> },
): void {
  const api = 'v2.0';
  const parts = { api, collection, id };
  if (config)
    write('input', 'put', resourceKey('config', parts), py({ body: config.body, version: config.version }));
  write('input', 'put', resourceKey('jobState', parts), '{}');
  const singular = collection.replace(/s$/, '');
  heatStack(resourceKey('heatStack', parts), {
    stack_id: `${singular}_${id}`,
    tenant_id: 'fe3a4a1a72c04479bb6c19c2c0ccba4c',
    stack_status: stack.status,
    output: stack.outputs.map(([key, value, description]) => ({
      output_value: value,
      description,
      output_key: key,
    })),
    status_reason: stack.reason,
    id: `${singular}:${id}`,
  });
}

const VNF = '398d65ba-0060-456e-b415-5bc954450717';
const ok = (action: string) => `Stack ${action} completed successfully`;

// The network the load balancer sits on.
operation(
  'networks',
  'a1f0c6de-3b55-4c1e-9f4e-1d2c3b4a5f60',
  {
    status: 'CREATE_COMPLETE',
    reason: ok('CREATE'),
    outputs: [['network_id', 'net-0001', 'Neutron network']],
  },
  { version: 1, body: { name: 'lb-net' } },
);
operation(
  'subnets',
  'b2e1d7ef-4c66-4d2f-8a5b-2e3d4c5b6a71',
  {
    status: 'CREATE_COMPLETE',
    reason: ok('CREATE'),
    outputs: [
      ['subnet_id', 'subnet-0001', 'Neutron subnet'],
      ['cidr', '10.20.0.0/24', 'Address range'],
    ],
  },
  { version: 1, body: { name: 'lb-subnet', network: 'a1f0c6de-3b55-4c1e-9f4e-1d2c3b4a5f60' } },
);
// Two ports, one of which first fails and is rolled back, then succeeds.
operation(
  'ports',
  'c3f2e8f0-5d77-4e30-9b6c-3f4e5d6c7b82',
  { status: 'CREATE_COMPLETE', reason: ok('CREATE'), outputs: [['fixed_ip', '10.20.0.5', 'Port address']] },
  { version: 1, body: { name: 'lb-port-1' } },
);
operation(
  'ports',
  'd4a3f901-6e88-4f41-8c7d-4a5f6e7d8c93',
  {
    status: 'ROLLBACK_COMPLETE',
    reason: 'Resource CREATE failed: IpAddressGenerationFailure: No more IP addresses available',
    outputs: [],
  },
  { version: 1, body: { name: 'lb-port-2' } },
);
operation('ports', 'd4a3f901-6e88-4f41-8c7d-4a5f6e7d8c93', {
  status: 'CREATE_COMPLETE',
  reason: ok('CREATE'),
  outputs: [['fixed_ip', '10.20.0.6', 'Port address']],
});
// The VNF instance, created, then the seed operation itself: Update Loadbalancer Interface.
operation(
  'vnf_instances',
  VNF,
  {
    status: 'CREATE_COMPLETE',
    reason: ok('CREATE'),
    outputs: [['server_id', '47531b14-72e9-439d-8949-fd941457ecde', 'A unique id for the nova server.']],
  },
  { version: 1, body: { id: VNF, name: 'load_balancer', orchestration_state: 'CREATE_IN_PROGRESS' } },
);
operation('load_balancers', 'e5b40a12-7f99-4052-9d8e-5b6a7f8e9da4', {
  status: 'CREATE_COMPLETE',
  reason: ok('CREATE'),
  outputs: [['vip', '10.20.0.100', 'Virtual IP']],
});
operation(
  'vnf_instances',
  VNF,
  {
    status: 'UPDATE_COMPLETE',
    reason: 'Stack successfully updated',
    outputs: [
      ['server_id', '47531b14-72e9-439d-8949-fd941457ecde', 'A unique id for the nova server.'],
      ['monitoring_target_id', 'ed1b9e59-0d6f-44d9-83bc-07ba4a236598', 'Monitoring Target ID'],
      [
        'monitoring_link',
        'http://collector-agents-se:7070/targets/ed1b9e59-0d6f-44d9-83bc-07ba4a236598',
        'Monitoring Process Link',
      ],
    ],
  },
  {
    version: 2,
    body: { id: VNF, name: 'load_balancer_update_interface', orchestration_state: 'UPDATE_IN_PROGRESS' },
  },
);
// An interface update that fails (the error is the heat stack's status_reason), and a check
// the pipeline rejects (dead-lettered; its placeholder stays and nothing else is written).
operation('firewall_interfaces', 'f6c51b23-80aa-4163-8e9f-6c7b8a9f0eb5', {
  status: 'UPDATE_FAILED',
  reason: 'Resource UPDATE failed: Conflict: port is in use',
  outputs: [],
});
operation('ports', 'c3f2e8f0-5d77-4e30-9b6c-3f4e5d6c7b82', {
  status: 'CHECK_COMPLETE',
  reason: 'Stack CHECK completed successfully',
  outputs: [],
});

// The update's record (3) is the seed document's, byte for byte, or this is not the seed scenario.
const seedState = readFileSync(new URL('../../bridge/demo/seed/state.value.json', import.meta.url), 'utf8');
const vnfState = lines
  .filter((l) => l.role === 'expect' && l.key === `/state/v2.0/vnf_instances/${VNF}`)
  .at(-1);
if (vnfState?.value !== seedState) throw new Error('record (3) of the update differs from the seed document');

const out = fileURLToPath(new URL('multi-resource.jsonl', import.meta.url));
writeFileSync(out, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
const expected = lines.filter((l) => l.role === 'expect').length;
process.stdout.write(`${out}: ${lines.length - expected} inputs, ${expected} expected writes\n`);
