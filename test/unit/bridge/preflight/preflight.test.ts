/**
 * The preflight against "AWS": GetFunction where it is allowed, a DryRun invoke where it is not,
 * and each answer turned into the route, the function and the setting to change. The AWS control
 * plane is mocked (aws-sdk-client-mock); the local endpoint is tested for real in
 * test/integration/preflight.test.ts.
 */
import { GetFunctionCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBridgeConfig } from '../../../../bridge/config.js';
import { preflight } from '../../../../bridge/preflight/preflight.js';
import { formatProblem } from '../../../../bridge/preflight/problem.js';

const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
const lambdaConfig = parseBridgeConfig({ invoke: { mode: 'lambda', region: 'eu-west-1' } });

function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}

describe('preflight', () => {
  const lambda = mockClient(LambdaClient);
  const sqs = mockClient(SQSClient);
  afterEach(() => {
    lambda.reset();
    sqs.reset();
  });
  const client = () => new LambdaClient({ region: 'eu-west-1', credentials });

  it('passes when GetFunction finds every function, and invokes nothing', async () => {
    lambda.on(GetFunctionCommand).resolves({});
    expect(await preflight(lambdaConfig, { lambdaClient: client() })).toEqual([]);
    expect(lambda.commandCalls(GetFunctionCommand).map((c) => c.args[0].input.FunctionName)).toEqual([
      'heat-stacks',
      'job-state',
    ]);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('names the route, the function and its variable when GetFunction says it does not exist', async () => {
    lambda
      .on(GetFunctionCommand, { FunctionName: 'heat-stacks' })
      .rejects(awsError('ResourceNotFoundException', 'Function not found: heat-stacks'))
      .on(GetFunctionCommand, { FunctionName: 'job-state' })
      .resolves({});
    const problems = await preflight(lambdaConfig, { lambdaClient: client() });
    expect(problems.map(formatProblem)).toEqual([
      'route heat-stacks: function "heat-stacks" not found at AWS Lambda; set HEAT_STACKS_FUNCTION_NAME or routes[0].function in the config',
    ]);
  });

  it('falls back to a DryRun invoke where GetFunction is denied, and believes its answer', async () => {
    lambda.on(GetFunctionCommand).rejects(awsError('AccessDeniedException'));
    lambda
      .on(InvokeCommand, { FunctionName: 'heat-stacks' })
      .resolves({ StatusCode: 204 })
      .on(InvokeCommand, { FunctionName: 'job-state' })
      .rejects(awsError('ResourceNotFoundException'));
    const problems = await preflight(lambdaConfig, { lambdaClient: client() });
    expect(lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input.InvocationType)).toEqual([
      'DryRun',
      'DryRun',
    ]);
    expect(problems.map((p) => p.subject)).toEqual(['route job-state']);
    expect(problems[0]?.fix).toContain('JOB_STATE_FUNCTION_NAME');
  });

  it('says the credentials are refused, not that the function is missing', async () => {
    lambda
      .on(GetFunctionCommand)
      .rejects(awsError('UnrecognizedClientException', 'The security token is invalid'));
    const problems = await preflight(lambdaConfig, { lambdaClient: client() });
    expect(problems).toHaveLength(2);
    expect(problems[0]?.problem).toContain('refused the credentials');
    expect(problems[0]?.fix).toContain('AWS_ACCESS_KEY_ID');
  });

  it('without a region asks for AWS_REGION before calling anything', async () => {
    const config = parseBridgeConfig({ invoke: { mode: 'lambda' } });
    const problems = await preflight(config, { lambdaClient: client(), env: {} });
    expect(problems.map((p) => p.fix)).toEqual([expect.stringContaining('AWS_REGION')]);
    expect(lambda.calls()).toHaveLength(0);
  });

  it('checks each SQS dead-letter queue with GetQueueAttributes', async () => {
    const config = parseBridgeConfig({
      deadLetter: {
        sink: 'sqs',
        queueUrls: {
          'heat-stacks': 'https://sqs.eu-west-1.amazonaws.com/1/heat',
          'job-state': 'https://sqs.eu-west-1.amazonaws.com/1/job',
        },
      },
    });
    sqs
      .on(GetQueueAttributesCommand, { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/heat' })
      .resolves({ Attributes: { QueueArn: 'arn' } })
      .on(GetQueueAttributesCommand, { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/job' })
      .rejects(awsError('QueueDoesNotExist', 'The specified queue does not exist.'));
    const problems = await preflight(config, {
      sqsClient: new SQSClient({ region: 'eu-west-1', credentials }),
    });
    expect(problems.map(formatProblem)).toEqual([
      expect.stringMatching(
        /^route job-state: dead-letter queue https:\/\/sqs.eu-west-1.amazonaws.com\/1\/job does not answer GetQueueAttributes \(QueueDoesNotExist: .*\); set JOB_STATE_DLQ_URL/,
      ),
    ]);
  });
});
