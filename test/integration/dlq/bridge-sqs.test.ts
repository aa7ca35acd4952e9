/**
 * The SQS dead-letter queue under a bridge on a real etcd, against a real SQS server (fauxqs):
 * - a poison record reaches the queue as the same JSON record the etcd sink stores, a value over
 *   256 KiB as its size and sha256 only;
 * - at least once (DESIGN §7): the message is sent before the applied marker commits, so a bridge
 *   killed between the two leaves the record to the next leader, which sends it again; the duplicate
 *   is harmless, a redrive drops it once the key has moved on;
 * - a queue that refuses (here: deleted) holds the key, retrying, until it accepts again.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Bridge } from '../../../bridge/bridge.js';
import { EtcdDeadLetterSink } from '../../../bridge/dlq/etcd-sink.js';
import { DeadLetterRecordSchema } from '../../../bridge/dlq/record.js';
import { SqsDeadLetterSink } from '../../../bridge/dlq/sqs-sink.js';
import { keyspaceFor, padRevision } from '../../../bridge/keyspace.js';
import { DEFAULT_ROUTES } from '../../../shared/index.js';
import { startBridge } from '../../helpers/bridge.js';
import { BridgeProcess, killAllBridgeProcesses } from '../../helpers/bridge-process.js';
import { runCli } from '../../helpers/cli.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../../helpers/etcd.js';
import {
  AnswerHold,
  FAUXQS_CREDENTIALS,
  FAUXQS_REGION,
  Fauxqs,
  fauxqsEnv,
  SQS_MAX_MESSAGE_BYTES,
} from '../../helpers/fauxqs.js';
import { heatStackText } from '../../helpers/records.js';
import { waitFor } from '../../helpers/wait.js';

const heatKey = (id: string) => `/esi-worker/heat_stacks/v2.0/ports/${id}`;
const jobKey = (id: string) => `/esi-worker/job_state/v2.0/ports/${id}`;
const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');
const BAD_JSON = '{\n    "stack_status": "CREATE_COMPLETE", \n    "output": [';

describe('SQS dead-letter queue (fauxqs) under a bridge on a real etcd', () => {
  let fixture: EtcdFixture;
  let sqs: Fauxqs;
  let bridge: Bridge | undefined;
  let dir: string;

  beforeAll(async () => {
    sqs = await Fauxqs.start();
    dir = await mkdtemp(join(tmpdir(), 'dlq-sqs-'));
  }, 120_000);
  // An etcd of its own for each test: no test sees another's keys or groups.
  beforeEach(async () => {
    fixture = await startEtcd();
  });
  afterEach(async () => {
    await bridge?.stop();
    bridge = undefined;
    await killAllBridgeProcesses();
    await stopEtcd(fixture);
  });
  afterAll(async () => {
    await sqs?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function put(key: string, value: string): Promise<bigint> {
    return BigInt((await fixture.client.put(key).value(value).exec()).header.revision);
  }
  const marker = (group: string, id: string) =>
    fixture.client.get(keyspaceFor(group).applied('heat-stacks', heatKey(id))).string();

  /** Until the child's route has chosen where it starts ('latest': a put before that is not its work). */
  const routeStarted = (child: BridgeProcess) => child.waitForLine(/"message":"route starts"/);

  /** A child bridge's configuration: heat-stacks only, its dead-letter queue in fauxqs. */
  const childConfig = (queueUrl: string) => ({
    leaseTtlSeconds: 2,
    checkpointFlushMs: 100,
    routes: [DEFAULT_ROUTES[0]],
    deadLetter: { sink: 'sqs', region: FAUXQS_REGION, queueUrls: { 'heat-stacks': queueUrl } },
  });

  /** The same as a file for the CLI (`dlq list|redrive --config`), with etcd and the group. */
  async function configFile(group: string, queueUrl: string): Promise<string> {
    const file = join(dir, `${group}.json`);
    const config = { etcd: { endpoints: [fixture.etcd.clientUrl] }, group, ...childConfig(queueUrl) };
    await writeFile(file, JSON.stringify(config));
    return file;
  }

  /** The bodies of up to 10 messages, left visible (a visibility timeout of 0). */
  async function peek(url: string): Promise<string[]> {
    const out = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    return (out.Messages ?? []).map((m) => m.Body ?? '');
  }

  /** Messages in the queue, visible or not. */
  async function depth(url: string): Promise<number> {
    const out = await sqs.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }

  it('sends the same JSON record, keeps only size and sha256 of a value over 256 KiB, and lists and removes', async () => {
    // Prepare
    const group = 'sqs';
    const url = await sqs.createQueue('heat-stacks-dlq');
    const sink = new SqsDeadLetterSink(
      new SQSClient({ region: FAUXQS_REGION, credentials: FAUXQS_CREDENTIALS, endpoint: sqs.endpoint }),
      { 'heat-stacks': url },
      { receiveWaitSeconds: 0 },
    );
    bridge = await startBridge(fixture, { group, routes: [DEFAULT_ROUTES[0]!] }, { deadLetters: sink });

    // Act: a small poison record and one of 300 KiB
    const small = await put(heatKey('sqs-small'), BAD_JSON);
    const bigText = `${BAD_JSON}${' '.repeat(300 * 1024)}`;
    const big = await put(heatKey('sqs-big'), bigText);

    // Assess
    for (const id of ['sqs-small', 'sqs-big'])
      await waitFor(`the marker of ${id}`, async () => (await marker(group, id)) ?? undefined);
    const bodies = await peek(url);
    expect(bodies).toHaveLength(2);
    const records = bodies.map((b) => DeadLetterRecordSchema.parse(JSON.parse(b)));
    const smallRecord = records.find((r) => r.key === heatKey('sqs-small'));
    const bigRecord = records.find((r) => r.key === heatKey('sqs-big'));
    expect(smallRecord).toMatchObject({
      route: 'heat-stacks',
      modRevision: small.toString(),
      value: BAD_JSON,
      valueEncoding: 'utf8',
      valueSha256: sha256(BAD_JSON),
      errorType: 'RecordValidationError',
      attempts: 1,
      bridgeId: bridge.bridgeId,
    });
    // The message is exactly the record's JSON (what the etcd sink would store), nothing SQS-only in it.
    const etcdSink = new EtcdDeadLetterSink(fixture.client, keyspaceFor(group));
    for (const body of bodies) expect(etcdSink.write(JSON.parse(body)).value).toBe(body);
    expect(bigRecord?.modRevision).toBe(big.toString());
    expect(bigRecord?.value).toBeUndefined();
    expect(bigRecord?.valueSize).toBe(Buffer.byteLength(bigText));
    expect(bigRecord?.valueSha256).toBe(sha256(bigText));
    for (const body of bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    // Nothing in the etcd dead-letter prefix: SQS is the queue here
    expect(await etcdSink.list()).toEqual([]);

    // list / remove / release
    const listed = await sink.list('heat-stacks');
    expect(listed.map((e) => e.record.modRevision).sort()).toEqual([small.toString(), big.toString()].sort());
    await sink.remove(listed.find((e) => e.record.key === heatKey('sqs-small'))!);
    await sink.release(listed);
    expect(await sink.count('heat-stacks')).toBe(1);
    expect((await sink.list('heat-stacks')).map((e) => e.record.key)).toEqual([heatKey('sqs-big')]);
  });

  it('does not send a record again that is redelivered after it was dead-lettered (its marker is read first)', async () => {
    // Prepare: stage heat-stacks reads nothing; a record older than the bridge's start may be
    // applied, so its marker is read all the same (and a record that fails is checked again before
    // it is sent: RouteWorker.unlessApplied).
    const group = 'sqs-once';
    const url = await sqs.createQueue('heat-stacks-dlq-once');
    const sink = () =>
      new SqsDeadLetterSink(
        new SQSClient({ region: FAUXQS_REGION, credentials: FAUXQS_CREDENTIALS, endpoint: sqs.endpoint }),
        { 'heat-stacks': url },
        { receiveWaitSeconds: 0 },
      );
    bridge = await startBridge(fixture, { group, routes: [DEFAULT_ROUTES[0]!] }, { deadLetters: sink() });
    const poison = await put(heatKey('once'), BAD_JSON);
    await waitFor('the marker of the poison record', async () => (await marker(group, 'once')) ?? undefined);
    expect(await depth(url)).toBe(1);
    await bridge.stop();

    // Act: the route's checkpoint gone, a new bridge starts the route at the poison record's revision
    // (as after a crash before any checkpoint passed it): the record comes again, then a good one.
    await fixture.client.delete().key(keyspaceFor(group).checkpoint('heat-stacks'));
    bridge = await startBridge(
      fixture,
      { group, routes: [{ ...DEFAULT_ROUTES[0]!, startPosition: poison.toString() }] },
      { deadLetters: sink() },
    );
    await put(heatKey('after'), heatStackText({}));
    await waitFor(
      'the job_state of the record after it',
      async () => (await fixture.client.get(jobKey('after')).string()) ?? undefined,
    );

    // Assess: still one message; the second bridge skipped the record as applied.
    expect(await depth(url)).toBe(1);
    const stats = bridge.status().find((s) => s.route === 'heat-stacks')!.stats;
    expect(stats).toMatchObject({ skipped: 1, deadLettered: 0 });
    expect(await marker(group, 'once')).toBe(padRevision(poison));
  });

  it('sends again after a bridge dies between the send and the marker: at least once, and the duplicate is harmless', async () => {
    // Prepare: bridge 1 reaches SQS through a hop that keeps SendMessage's answer from it.
    const group = 'sqs-twice';
    const url = await sqs.createQueue('heat-stacks-dlq-twice');
    const config = await configFile(group, url);
    const hold = await AnswerHold.start(sqs.endpoint);
    try {
      const first = BridgeProcess.spawn({
        etcd: fixture.etcd.clientUrl,
        group,
        name: 'first',
        // The same queue, reached through the hop: the SDK sends to the queue URL's origin.
        config: childConfig(url.replace(sqs.endpoint, hold.endpoint)),
        env: fauxqsEnv(hold.endpoint),
      });
      await routeStarted(first);

      // Act: a poison record; SQS has its message, bridge 1 never hears so; kill it there.
      const sent = hold.holdNext('SendMessage');
      const poison = await put(heatKey('twice'), BAD_JSON);
      await sent;
      await first.kill('SIGKILL');
      expect(await marker(group, 'twice')).toBeNull();
      expect(await depth(url)).toBe(1);

      // The next leader finds the record unfinished and dead-letters it again.
      const second = BridgeProcess.spawn({
        etcd: fixture.etcd.clientUrl,
        group,
        name: 'second',
        config: childConfig(url),
        env: fauxqsEnv(sqs.endpoint),
      });
      await second.waitForLeader();
      await waitFor('the marker at the poison revision', async () =>
        (await marker(group, 'twice')) === padRevision(poison) ? true : undefined,
      );
      // A good revision of the key moves it on.
      const fixed = await put(heatKey('twice'), heatStackText({}));
      await waitFor('the fixed revision applied', async () =>
        (await marker(group, 'twice')) === padRevision(fixed) ? true : undefined,
      );
      expect(await second.stop()).toEqual({ code: 0, signal: null });

      // Assess: two messages, one record (same key, revision, value), from two bridges.
      expect(await depth(url)).toBe(2);
      const listed = await runCli(['dlq', 'list', '--json', '--config', config], {
        env: fauxqsEnv(sqs.endpoint),
      });
      expect(listed.code, listed.stderr).toBe(0);
      const rows = JSON.parse(listed.stdout) as Array<{ key: string; modRevision: string; bridgeId: string }>;
      expect(rows.map((r) => [r.key, r.modRevision])).toEqual([
        [heatKey('twice'), poison.toString()],
        [heatKey('twice'), poison.toString()],
      ]);

      // Redrive drops both copies: the key has moved past that revision. (One copy a run: redrive takes
      // a record id once per run, and leaves a second message of the same id for the next run.)
      const totals = { redriven: 0, superseded: 0, failed: 0, runs: 0 };
      while ((await depth(url)) > 0 && totals.runs < 3) {
        const redrive = await runCli(['dlq', 'redrive', '--json', '--config', config], {
          env: fauxqsEnv(sqs.endpoint),
        });
        expect(redrive.code, redrive.stderr).toBe(0);
        const summary = JSON.parse(redrive.stdout) as typeof totals;
        totals.redriven += summary.redriven;
        totals.superseded += summary.superseded;
        totals.failed += summary.failed;
        totals.runs++;
      }
      expect(totals).toMatchObject({ redriven: 0, superseded: 2, failed: 0 });
      expect(await depth(url)).toBe(0);
      expect(await fixture.client.get(jobKey('twice')).string()).toContain('"orchestration_state"');
    } finally {
      await hold.close();
    }
  }, 150_000);

  it('holds the key while the queue refuses, and dead-letters the record once it accepts', async () => {
    const group = 'sqs-refuses';
    const name = 'heat-stacks-dlq-refuses';
    const url = await sqs.createQueue(name);
    const bridgeProcess = BridgeProcess.spawn({
      etcd: fixture.etcd.clientUrl,
      group,
      config: childConfig(url),
      env: fauxqsEnv(sqs.endpoint),
    });
    await routeStarted(bridgeProcess);

    // Act: the queue goes away, a poison record comes
    await sqs.deleteQueue(url);
    const poison = await put(heatKey('refused'), BAD_JSON);
    await bridgeProcess.waitForLine(/"message":"dead-letter send failed; retrying"/);
    expect(await marker(group, 'refused')).toBeNull();

    // The queue is back (same URL): the next retry lands, then the marker
    expect(await sqs.createQueue(name)).toBe(url);
    await waitFor(
      'the marker after the queue accepted',
      async () => ((await marker(group, 'refused')) === padRevision(poison) ? true : undefined),
      45_000,
    );
    const [body, ...rest] = await peek(url);
    expect(rest).toEqual([]);
    expect(DeadLetterRecordSchema.parse(JSON.parse(body!))).toMatchObject({
      key: heatKey('refused'),
      modRevision: poison.toString(),
      value: BAD_JSON,
    });
    expect(await bridgeProcess.stop()).toEqual({ code: 0, signal: null });
  }, 90_000);
});
