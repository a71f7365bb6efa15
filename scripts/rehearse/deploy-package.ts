import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type Capability,
  CloudFormationClient,
  CreateChangeSetCommand,
  CreateStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  paginateListStackResources,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { CompiledTemplate } from './template-resources';

/** File names that `sls package` writes into its package folder (osls 4.3.1). */
export const CREATE_TEMPLATE_FILE = 'cloudformation-template-create-stack.json';
export const UPDATE_TEMPLATE_FILE = 'cloudformation-template-update-stack.json';
/** Name under which `sls deploy` uploads the compiled template beside the zips. */
const COMPILED_TEMPLATE_KEY = 'compiled-cloudformation-template.json';
// The same capabilities `sls deploy` passes: the service creates IAM roles with names.
const CAPABILITIES: Capability[] = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'];

export interface DeployTarget {
  /** Endpoint that serves CloudFormation and S3, such as moto_server's URL. */
  endpoint: string;
  region: string;
  stackName: string;
  /** Folder written by `sls package --package DIR`. */
  packageDir: string;
  waitTimeoutMs: number;
  log: (line: string) => void;
  /** Changes the compiled template before it is uploaded, for an emulator's gaps; the returned lines are logged. */
  adaptTemplate?: (template: CompiledTemplate) => { template: CompiledTemplate; changes: string[] };
}

export interface DeployedResources {
  template: CompiledTemplate;
  resources: StackResourceSummary[];
  outputs: Record<string, string>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readJson<T>(file: string): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    throw new Error(
      `cannot read ${file}: ${(error as Error).message}; package with sls package --package DIR first`,
      {
        cause: error,
      },
    );
  }
}

/** Returns the S3 key of each zip the template's functions and layers load, with the local file it comes from. */
function codeArtifacts(template: CompiledTemplate, packageDir: string): { key: string; file: string }[] {
  const artifacts = new Map<string, string>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const code =
      resource.Type === 'AWS::Lambda::Function'
        ? resource.Properties?.Code
        : resource.Type === 'AWS::Lambda::LayerVersion'
          ? resource.Properties?.Content
          : undefined;
    if (code === undefined) continue;
    const key = (code as { S3Key?: unknown }).S3Key;
    if (typeof key !== 'string')
      throw new Error(`${logicalId} has no literal S3Key in ${UPDATE_TEMPLATE_FILE}`);
    artifacts.set(key, path.join(packageDir, path.posix.basename(key)));
  }
  return [...artifacts].map(([key, file]) => ({ key, file }));
}

async function stackFailureReasons(cloudFormation: CloudFormationClient, stackName: string): Promise<string> {
  const { StackEvents = [] } = await cloudFormation.send(
    new DescribeStackEventsCommand({ StackName: stackName }),
  );
  const failures = StackEvents.filter((event) => event.ResourceStatus?.endsWith('_FAILED')).map(
    (event) => `${event.LogicalResourceId} (${event.ResourceType}): ${event.ResourceStatusReason}`,
  );
  return failures.length > 0 ? failures.join('; ') : 'no failed resource events';
}

/** Polls the stack until no operation is in progress; throws unless it ends in `expected`. */
async function waitForStack(
  cloudFormation: CloudFormationClient,
  target: DeployTarget,
  expected: string,
): Promise<Record<string, string>> {
  const deadline = Date.now() + target.waitTimeoutMs;
  for (;;) {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: target.stackName }));
    const stack = Stacks?.[0];
    const status = stack?.StackStatus ?? 'missing';
    if (!status.endsWith('_IN_PROGRESS')) {
      if (status !== expected) {
        const reasons = await stackFailureReasons(cloudFormation, target.stackName);
        throw new Error(`stack ${target.stackName} ended in ${status}, expected ${expected}: ${reasons}`);
      }
      return Object.fromEntries(
        (stack?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]),
      );
    }
    if (Date.now() >= deadline) {
      throw new Error(`stack ${target.stackName} is still ${status} after ${target.waitTimeoutMs / 1000} s`);
    }
    await sleep(250);
  }
}

async function waitForChangeSet(cloudFormation: CloudFormationClient, target: DeployTarget, name: string) {
  const deadline = Date.now() + target.waitTimeoutMs;
  for (;;) {
    const changeSet = await cloudFormation.send(
      new DescribeChangeSetCommand({ StackName: target.stackName, ChangeSetName: name }),
    );
    if (changeSet.Status === 'CREATE_COMPLETE') return;
    if (changeSet.Status === 'FAILED') {
      throw new Error(`change set ${name} failed: ${changeSet.StatusReason}`);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `change set ${name} is still ${changeSet.Status} after ${target.waitTimeoutMs / 1000} s`,
      );
    }
    await sleep(250);
  }
}

/**
 * Deploys a packaged service as `sls deploy --package DIR` does with osls 4.3.1's change-set method. It creates the
 * stack from the create-stack template, which contains only the deployment bucket. It uploads the zips and the
 * compiled template into that bucket under the keys the template names, then creates and executes a change set from
 * the template's URL. Returns the stack's resources and outputs.
 */
export async function deployPackage(target: DeployTarget): Promise<DeployedResources> {
  const createTemplate = await readJson<CompiledTemplate>(path.join(target.packageDir, CREATE_TEMPLATE_FILE));
  const template = await readJson<CompiledTemplate>(path.join(target.packageDir, UPDATE_TEMPLATE_FILE));
  const artifacts = codeArtifacts(template, target.packageDir);
  const firstArtifact = artifacts[0];
  if (firstArtifact === undefined)
    throw new Error(`${UPDATE_TEMPLATE_FILE} has no Lambda function code to upload`);
  const artifactDirectory = path.posix.dirname(firstArtifact.key);

  // Fake credentials: the endpoint is an emulator on loopback, never AWS.
  const config = {
    endpoint: target.endpoint,
    region: target.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const cloudFormation = new CloudFormationClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  try {
    target.log(`creating stack ${target.stackName} with the deployment bucket`);
    await cloudFormation.send(
      new CreateStackCommand({
        StackName: target.stackName,
        TemplateBody: JSON.stringify(createTemplate),
        Capabilities: CAPABILITIES,
      }),
    );
    const createOutputs = await waitForStack(cloudFormation, target, 'CREATE_COMPLETE');
    const bucket = createOutputs.ServerlessDeploymentBucketName;
    if (bucket === undefined)
      throw new Error(`${CREATE_TEMPLATE_FILE} has no ServerlessDeploymentBucketName output`);

    for (const artifact of artifacts) {
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: artifact.key, Body: await readFile(artifact.file) }),
      );
      target.log(`uploaded s3://${bucket}/${artifact.key}`);
    }
    const adapted = target.adaptTemplate?.(template) ?? { template, changes: [] };
    for (const change of adapted.changes) target.log(`adapted: ${change}`);
    const templateKey = `${artifactDirectory}/${COMPILED_TEMPLATE_KEY}`;
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: templateKey, Body: JSON.stringify(adapted.template) }),
    );
    target.log(`uploaded s3://${bucket}/${templateKey}`);

    const changeSetName = `${target.stackName}-change-set`;
    target.log(`creating and executing change set ${changeSetName}`);
    await cloudFormation.send(
      new CreateChangeSetCommand({
        StackName: target.stackName,
        ChangeSetName: changeSetName,
        ChangeSetType: 'UPDATE',
        // The template is above CloudFormation's 51,200-byte TemplateBody limit, so it is read from S3, as sls does.
        TemplateURL: `https://s3.amazonaws.com/${bucket}/${templateKey}`,
        Capabilities: CAPABILITIES,
      }),
    );
    await waitForChangeSet(cloudFormation, target, changeSetName);
    await cloudFormation.send(
      new ExecuteChangeSetCommand({ StackName: target.stackName, ChangeSetName: changeSetName }),
    );
    const outputs = await waitForStack(cloudFormation, target, 'UPDATE_COMPLETE');

    const resources: StackResourceSummary[] = [];
    for await (const page of paginateListStackResources(
      { client: cloudFormation },
      { StackName: target.stackName },
    )) {
      resources.push(...(page.StackResourceSummaries ?? []));
    }
    return { template, resources, outputs };
  } finally {
    cloudFormation.destroy();
    s3.destroy();
  }
}
