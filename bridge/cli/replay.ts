/**
 * `etcd-bridge replay --trace FILE`: the shadow check before switching off the legacy worker.
 * Exit 0 only when every expected write matched and extra writes are within --allow-extra.
 */
import { readFile } from 'node:fs/promises';
import { EtcdEndpointSchema } from '../config.js';
import { errorMessage } from '../errors.js';
import { parseRuntime, stageFunctionHost } from '../lambda-endpoint/stage-host.js';
import { runReplay } from '../replay/run.js';
import { parseTrace, TraceError } from '../replay/trace.js';
import { REPLAY } from './definitions.js';
import { progressBar } from './progress.js';
import { CliUsageError, parseCommandLine } from './usage.js';

/** How many mismatches the JSON line carries. */
const MISMATCHES_SHOWN = 5;

export async function replayCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine('replay', args, REPLAY.flags);
  if (positionals.length > 0) throw new CliUsageError(`replay: unexpected argument ${positionals[0]}`);
  if (!values.trace) throw new CliUsageError('replay: --trace FILE is required');
  if (values.invoke !== 'inprocess' && values.invoke !== 'lambda') {
    throw new CliUsageError(`replay: --invoke must be inprocess or lambda, got ${values.invoke}`);
  }
  const runtime = parseRuntime(values.runtime);
  if (!runtime) throw new CliUsageError(`replay: --runtime must be inprocess or ric, got ${values.runtime}`);
  const allowExtra = Number(values['allow-extra']);
  if (!Number.isInteger(allowExtra) || allowExtra < 0) {
    throw new CliUsageError(
      `replay: --allow-extra must be a whole number >= 0, got ${values['allow-extra']}`,
    );
  }

  // Every member, comma-separated, each written out as the bridge's own config does (a port, no
  // trailing `/`): the replay's client and its bridge get the same list.
  let etcdEndpoints: string[] | undefined;
  if (values.etcd !== undefined) {
    etcdEndpoints = [];
    for (const url of values.etcd.split(',').map((s) => s.trim())) {
      const parsed = EtcdEndpointSchema.safeParse(url);
      if (!parsed.success) throw new CliUsageError(`replay: --etcd: ${parsed.error.issues[0]?.message}`);
      etcdEndpoints.push(parsed.data);
    }
  }

  let text: string;
  try {
    text = await readFile(values.trace, 'utf8');
  } catch (error) {
    throw new CliUsageError(`replay: --trace ${values.trace}: ${errorMessage(error)}`);
  }
  let trace: ReturnType<typeof parseTrace>;
  try {
    trace = parseTrace(text, values.trace);
  } catch (error) {
    if (error instanceof TraceError) throw new CliUsageError(`replay: ${error.message}`);
    throw error;
  }

  const bar = progressBar('replay');
  const result = await runReplay({
    trace,
    // ric: the shadow check runs the bundles that will be deployed, behind the local endpoint.
    invoke: runtime === 'ric' ? 'lambda' : values.invoke,
    ...(runtime === 'ric' ? { functionHost: await stageFunctionHost({ runtime }) } : {}),
    ...(etcdEndpoints ? { etcdEndpoints } : {}),
    onProgress: (done, total) => bar.update(done, total),
  });
  bar.done();

  const ok = result.matched === result.expected && result.extra <= allowExtra;
  const out = process.stdout;
  out.write(
    `replay ${values.trace}: ${result.inputs} inputs, ${result.matched}/${result.expected} expected writes matched, ` +
      `${result.extra} extra (allowed ${allowExtra}) in ${(result.durationMs / 1000).toFixed(1)} s: ${ok ? 'OK' : 'FAILED'}\n`,
  );
  for (const m of result.mismatches.slice(0, MISMATCHES_SHOWN)) {
    out.write(
      `  missing ${m.expected.action} ${m.key}\n    expected: ${JSON.stringify(m.expected.value)}\n    got:      ${JSON.stringify(m.got?.value ?? null)}${m.got ? ` (${m.got.action})` : ''}\n`,
    );
  }
  for (const e of result.extras.slice(0, MISMATCHES_SHOWN)) out.write(`  extra ${e.action} ${e.key}\n`);
  if (values.json) {
    const mismatches = result.mismatches.slice(0, MISMATCHES_SHOWN).map((m) => ({
      key: m.key,
      expected: { action: m.expected.action, value: m.expected.value },
      got: m.got ? { action: m.got.action, value: m.got.value } : null,
    }));
    out.write(
      `${JSON.stringify({ expected: result.expected, matched: result.matched, extra: result.extra, mismatches })}\n`,
    );
  }
  return ok ? 0 : 1;
}
