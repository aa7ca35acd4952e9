import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../infra/config.js';
import { CDK_JSON_CONTEXT } from './support.js';

const ENDPOINTS = { 'etcdBridge:etcdEndpoints': 'https://etcd-0:2379,http://etcd-1:12379,https://etcd-2' };

function configError(context: Record<string, unknown>): string {
  try {
    parseConfig(context);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const c = parseConfig(ENDPOINTS);
    expect(c).toMatchObject({
      stackPrefix: 'EtcdBridge',
      maxAzs: 2,
      natGateways: 1,
      etcdEndpoints: ['https://etcd-0:2379', 'http://etcd-1:12379', 'https://etcd-2:2379'],
      etcdPorts: [2379, 12379],
      etcdPeerCidr: '0.0.0.0/0',
      bridgeGroup: 'etcd-bridge',
      desiredCount: 2,
      bridgeCpu: 256,
      bridgeMemoryMiB: 512,
      architecture: 'ARM64',
      logLevel: 'INFO',
      logRetentionDays: 30,
      functionMemoryMiB: 256,
      functionTimeoutSeconds: 30,
      reservedConcurrency: { 'heat-stacks': undefined, 'job-state': undefined },
      maxRetryAttempts: 2,
      maxEventAgeSeconds: 3600,
      lagRevisionsThreshold: 1000,
      lagSecondsThreshold: 300,
      lagEvaluationMinutes: 5,
      removalPolicy: 'retain',
    });
    for (const optional of ['env', 'account', 'region', 'vpcId', 'etcdSecretArn', 'alarmTopicArn'] as const) {
      expect(c[optional], optional).toBeUndefined();
    }
  });

  it("accepts cdk.json's context (feature flags are ignored)", () => {
    expect(parseConfig(CDK_JSON_CONTEXT).etcdEndpoints).toHaveLength(3);
  });

  it('accepts command-line strings for numbers and lists, and JSON values from cdk.json', () => {
    const c = parseConfig({
      'etcdBridge:etcdEndpoints': ['https://etcd:2379'],
      'etcdBridge:desiredCount': '3',
      'etcdBridge:heatStacksReservedConcurrency': '5',
      'etcdBridge:jobStateReservedConcurrency': 7,
      'etcdBridge:logRetentionDays': '90',
      'etcdBridge:bridgeCpu': '512',
      'etcdBridge:bridgeMemoryMiB': 2048,
    });
    expect(c.desiredCount).toBe(3);
    expect(c.reservedConcurrency).toEqual({ 'heat-stacks': 5, 'job-state': 7 });
    expect(c.logRetentionDays).toBe(90);
    expect(c.bridgeCpu).toBe(512);
  });

  it('takes the stack environment from context, both parts or neither', () => {
    const c = parseConfig({
      ...ENDPOINTS,
      'etcdBridge:account': '123456789012',
      'etcdBridge:region': 'eu-west-1',
    });
    expect(c.env).toEqual({ account: '123456789012', region: 'eu-west-1' });
    expect(configError({ ...ENDPOINTS, 'etcdBridge:region': 'eu-west-1' })).toMatch(
      /etcdBridge:account: give both/,
    );
  });

  it('fails on an unknown setting, naming it', () => {
    expect(configError({ ...ENDPOINTS, 'etcdBridge:desiredCont': 2 })).toMatch(
      /etcdBridge:desiredCont: unknown setting/,
    );
  });

  it('fails on a missing etcd endpoint list', () => {
    expect(configError({})).toMatch(/etcdBridge:etcdEndpoints: is required/);
  });

  it.each([
    ['desiredCount', 'two', /etcdBridge:desiredCount:/],
    ['desiredCount', -1, /etcdBridge:desiredCount:/],
    ['desiredCount', 11, /etcdBridge:desiredCount:/],
    ['maxRetryAttempts', 3, /etcdBridge:maxRetryAttempts:/],
    ['maxEventAgeSeconds', 30, /etcdBridge:maxEventAgeSeconds:/],
    ['logRetentionDays', 31, /etcdBridge:logRetentionDays: must be one of 1, 3, 5/],
    ['logLevel', 'TRACE', /etcdBridge:logLevel:/],
    ['architecture', 'arm', /etcdBridge:architecture:/],
    ['vpcId', 'my-vpc', /etcdBridge:vpcId: must be a VPC id/],
    [
      'etcdSecretArn',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:etcd',
      /etcdBridge:etcdSecretArn: must be the complete ARN/,
    ],
    ['alarmTopicArn', 'alarms', /etcdBridge:alarmTopicArn: must be the ARN of an SNS topic/],
    ['etcdEndpoints', 'https://etcd:99999', /etcdBridge:etcdEndpoints\.0: port must be at most 65535/],
    ['etcdEndpoints', 'https://etcd:2379/v3/path', /etcdBridge:etcdEndpoints\.0: each endpoint/],
    ['etcdEndpoints', 'etcd:2379', /etcdBridge:etcdEndpoints\.0: each endpoint must be a URL/],
    ['etcdEndpoints', 'grpc://etcd:2379', /etcdBridge:etcdEndpoints\.0: each endpoint must be a URL/],
    ['bridgeGroup', '-leading-dash', /etcdBridge:bridgeGroup:/],
    [
      'bridgeMemoryMiB',
      4096,
      /etcdBridge:bridgeMemoryMiB: 4096 MiB is not a valid Fargate memory size for 256 CPU units/,
    ],
    ['removalPolicy', 'snapshot', /etcdBridge:removalPolicy:/],
    [
      'heatStacksReservedConcurrency',
      '0',
      /etcdBridge:heatStacksReservedConcurrency: must be at least 1: 0 throttles every invocation/,
    ],
    ['jobStateReservedConcurrency', 1001, /etcdBridge:jobStateReservedConcurrency:/],
  ])('fails on an invalid %s (%j), naming the field', (field, value, message) => {
    expect(configError({ ...ENDPOINTS, [`etcdBridge:${field}`]: value })).toMatch(message);
  });

  it('requires an explicit environment for a VPC lookup', () => {
    const message = configError({ ...ENDPOINTS, 'etcdBridge:vpcId': 'vpc-0123456789abcdef0' });
    expect(message).toMatch(/etcdBridge:account: is required when etcdBridge:vpcId is set/);
    expect(message).toMatch(/etcdBridge:region: is required when etcdBridge:vpcId is set/);
  });
});
