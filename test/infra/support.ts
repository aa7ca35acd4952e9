// Shared helpers of the infra tests: build the CDK app the way `cdk synth` does (cdk.json's context plus
// overrides), synthesize it once, and run cdk-nag's AwsSolutions pack over a stack.
import { readFileSync } from 'node:fs';
import { type App, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { createApp, type EtcdBridgeStacks } from '../../infra/build.js';

/** The `context` of cdk.json (feature flags and the sample etcd endpoints). */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

export interface SynthesizedApp extends EtcdBridgeStacks {
  readonly app: App;
  readonly assembly: CloudAssembly;
  template(stack: Stack): Template;
}

/**
 * Builds and synthesizes the app with cdk.json's context plus `context`.
 * @param bundle false skips esbuild bundling (the functions get a placeholder asset): for variant apps.
 */
export function synthApp(context: Record<string, unknown> = {}, { bundle = true } = {}): SynthesizedApp {
  // createApp registers cdk-nag like `cdk synth` does: an unacknowledged nag error makes synth() throw.
  const { app, pipeline, bridge, monitoring } = createApp({
    context: {
      ...CDK_JSON_CONTEXT,
      // As the CDK CLI sets them: asset metadata (aws:asset:path) in templates, as `sam local` uses.
      'aws:cdk:enable-asset-metadata': true,
      ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...context,
    },
  });
  const assembly = app.synth();
  const templates = new Map<Stack, Template>();
  return {
    app,
    assembly,
    pipeline,
    bridge,
    monitoring,
    template(stack) {
      let t = templates.get(stack);
      if (t === undefined) {
        t = Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
        templates.set(stack, t);
      }
      return t;
    },
  };
}

export interface NagFinding {
  readonly rule: string;
  readonly severity: string;
  readonly paths: readonly string[];
}

/** cdk-nag AwsSolutions findings (errors and warnings) in a stack that no acknowledgement covers. */
export function nagFindings(stack: Stack): NagFinding[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.map((v) => ({
    rule: v.ruleName,
    severity: v.severity ?? 'unknown',
    paths: v.violatingResources.map((r) => r.constructPath ?? '?'),
  }));
}

export interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/**
 * Every cdk-nag acknowledgement (`Validations.of(...).acknowledge({ id: 'AwsSolutions-…' })`) recorded in a
 * construct's subtree. (aws-cdk-lib records its own CloudFormation-Validate acknowledgements too; not ours.)
 */
export function acknowledgements(scope: IConstruct): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  for (const construct of scope.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || typeof entry.data !== 'object')
        continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        const id = key.replace(/^annotation::/i, '');
        if (!id.startsWith('AwsSolutions-')) continue;
        found.push({
          path: construct.node.path,
          id,
          reason: typeof reason === 'string' ? reason : JSON.stringify(reason),
        });
      }
    }
  }
  return found;
}

/** All strings (literals) inside an IAM policy value: `Action`/`Resource` may be a string, an array or an intrinsic. */
export function literalStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(literalStrings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(literalStrings);
  return [];
}
