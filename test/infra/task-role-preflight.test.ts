/**
 * The deployed bridge task runs `start --config /app/config/routes.json --invoke lambda` (Dockerfile CMD) with the
 * environment the Service stack gives it, under the task role the stack writes. `start` runs the preflight
 * before it campaigns (exit 2 on any problem). This test runs the real preflight with the task's environment
 * against a real SQS server (fauxqs) and the real local Lambda endpoint, with each AWS call gated by the task
 * role's synthesized policy the way IAM evaluates an identity policy: an action no Allow statement names is
 * denied (AccessDenied). The preflight must pass: otherwise every task exits 2 right after it starts.
 */
import { type LambdaClient, LambdaClient as LambdaSdkClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEnvironment, parseBridgeConfig } from '../../bridge/config.js';
import { type LambdaEndpoint, startLambdaEndpoint } from '../../bridge/lambda-endpoint/server.js';
import { stageFunctions } from '../../bridge/lambda-endpoint/stage-functions.js';
import { preflight } from '../../bridge/preflight/preflight.js';
import { FAUXQS_CREDENTIALS, FAUXQS_REGION, Fauxqs } from '../helpers/fauxqs.js';
import { literalStrings, type SynthesizedApp, synthApp } from './support.js';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Gate every command of an SDK client on `<service>:<Action>` being allowed by one of the statements. */
function gateByPolicy(client: SQSClient | LambdaClient, service: 'sqs' | 'lambda', statements: Statement[]) {
  const allowed = new Set(
    statements
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])),
  );
  const seen: string[] = [];
  (client.middlewareStack as { add: (mw: unknown, opts: unknown) => void }).add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: unknown) => {
        const api = String(context.commandName).replace(/Command$/, '');
        // IAM's action names are the API's, except Lambda's Invoke (lambda:InvokeFunction).
        const action = `${service}:${service === 'lambda' && api === 'Invoke' ? 'InvokeFunction' : api}`;
        seen.push(action);
        if (!allowed.has(action) && !allowed.has(`${service}:*`)) {
          const error = new Error(
            `User: arn:aws:sts::123456789012:assumed-role/EtcdBridgeService-TaskRole/task is not authorized to perform: ${action}`,
          );
          error.name = service === 'sqs' ? 'AccessDenied' : 'AccessDeniedException';
          throw error;
        }
        return next(args);
      },
    { step: 'initialize', name: 'iamGate' },
  );
  return seen;
}

describe('the deployed task passes its own preflight under the task role', () => {
  let synth: SynthesizedApp;
  let sqs: Fauxqs;
  let endpoint: LambdaEndpoint;

  beforeAll(async () => {
    synth = synthApp({}, { bundle: false });
    sqs = await Fauxqs.start();
    endpoint = await startLambdaEndpoint({ functions: await stageFunctions(), port: 0 });
  }, 120_000);
  afterAll(async () => {
    await endpoint?.close();
    await sqs?.stop();
  });

  it('start --invoke lambda with the task environment: no preflight problem', async () => {
    const t = synth.template(synth.bridge).toJSON();
    const [container] = Object.values(
      t.Resources as Record<
        string,
        { Type: string; Properties: { ContainerDefinitions: Array<{ Environment: unknown }> } }
      >,
    ).find((r) => r.Type === 'AWS::ECS::TaskDefinition')!.Properties.ContainerDefinitions;
    const policyId = synth.bridge.getLogicalId(
      synth.bridge.taskDefinition.taskRole.node.findChild('DefaultPolicy').node.defaultChild as never,
    );
    const statements: Statement[] = t.Resources[policyId].Properties.PolicyDocument.Statement;
    const sqsStatements = statements.filter((s) =>
      literalStrings(s.Resource).some((r) => /DeadLetterQueue/.test(r)),
    );
    const lambdaStatements = statements.filter((s) =>
      literalStrings(s.Resource).some((r) => /Function/.test(r)),
    );

    // The container's environment, with the Pipeline stack's outputs replaced by this machine's queues and functions.
    const local: Record<string, string> = {
      HEAT_STACKS_FUNCTION_NAME: 'heat-stacks',
      JOB_STATE_FUNCTION_NAME: 'job-state',
      HEAT_STACKS_DLQ_URL: await sqs.createQueue('heat-stacks-dlq'),
      JOB_STATE_DLQ_URL: await sqs.createQueue('job-state-dlq'),
      AWS_REGION: FAUXQS_REGION,
    };
    const env: NodeJS.ProcessEnv = {};
    for (const { Name, Value } of (container?.Environment ?? []) as Array<{ Name: string; Value: unknown }>) {
      env[Name] = typeof Value === 'string' ? Value : local[Name];
    }
    expect(env.HEAT_STACKS_DLQ_URL).toBe(local.HEAT_STACKS_DLQ_URL);
    // routes.json is `{}` in the image; CMD adds --invoke lambda.
    const config = parseBridgeConfig(
      applyEnvironment({ invoke: { mode: 'lambda', endpoint: endpoint.url } }, env),
    );
    expect(config.deadLetter.sink).toBe('sqs');

    const sqsClient = new SQSClient({
      region: FAUXQS_REGION,
      credentials: FAUXQS_CREDENTIALS,
      maxAttempts: 1,
    });
    const lambdaClient = new LambdaSdkClient({
      region: FAUXQS_REGION,
      endpoint: endpoint.url,
      credentials: FAUXQS_CREDENTIALS,
      maxAttempts: 1,
    });
    const sqsCalls = gateByPolicy(sqsClient, 'sqs', sqsStatements);
    const lambdaCalls = gateByPolicy(lambdaClient, 'lambda', lambdaStatements);
    try {
      const problems = await preflight(config, { sqsClient, lambdaClient, env });
      expect(sqsCalls).toContain('sqs:GetQueueAttributes');
      expect(lambdaCalls.length).toBeGreaterThan(0);
      expect(problems.map((p) => `${p.subject}: ${p.problem}`)).toEqual([]);
    } finally {
      sqsClient.destroy();
      lambdaClient.destroy();
    }
  }, 60_000);
});
