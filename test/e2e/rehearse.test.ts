import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { StackResourceSummary } from '@aws-sdk/client-cloudformation';
import { deployPackage } from '../../scripts/rehearse/deploy-package';
import { adaptTemplateForMoto } from '../../scripts/rehearse/moto-compat';
import { type MotoServer, motoServerInstalled, startMotoServer } from '../../scripts/rehearse/moto-server';
import {
  type CompiledTemplate,
  compareResources,
  expectedResources,
} from '../../scripts/rehearse/template-resources';
import { compiledPackage, PACKAGE_TIMEOUT_MS } from '../template/compiled-template';

const execFileAsync = promisify(execFile);

const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const REHEARSE_CLI = ['--import', 'tsx', path.join(PROJECT_DIR, 'scripts', 'rehearse.ts')];

// moto is a Python tool, not an npm package, so a machine may lack it.
const describeWithMoto: jest.Describe = motoServerInstalled()
  ? describe
  : (Object.assign(
      (name: string, fn: jest.EmptyFunction) =>
        describe.skip(
          `${name} (skipped: moto_server is not on PATH; install it with pip install 'moto[server]')`,
          fn,
        ),
      describe,
    ) as unknown as jest.Describe);

/** A template with one resource behind a condition on a parameter's default, as resources/api.yml has. */
const CONDITIONAL_TEMPLATE: CompiledTemplate = {
  Parameters: { ApiAuth: { Default: 'apiKey' } },
  Conditions: {
    UseIamAuth: { 'Fn::Equals': [{ Ref: 'ApiAuth' }, 'iam'] },
    UseApiKeyAuth: { 'Fn::Not': [{ Condition: 'UseIamAuth' }] },
  },
  Resources: {
    Bucket: { Type: 'AWS::S3::Bucket' },
    Key: { Type: 'AWS::ApiGateway::ApiKey', Condition: 'UseApiKeyAuth' },
    SignedOnly: { Type: 'AWS::IAM::Role', Condition: 'UseIamAuth' },
  },
};

describe('expected resources of a template', () => {
  it('keeps resources whose condition holds', () => {
    expect(expectedResources(CONDITIONAL_TEMPLATE).get('Key')).toBe('AWS::ApiGateway::ApiKey');
  });

  it('drops resources whose condition fails', () => {
    expect(expectedResources(CONDITIONAL_TEMPLATE).has('SignedOnly')).toBe(false);
  });

  it('keeps unconditional resources', () => {
    expect([...expectedResources(CONDITIONAL_TEMPLATE).keys()]).toEqual(['Bucket', 'Key']);
  });
});

describe('resource comparison', () => {
  const expected = new Map([
    ['Bucket', 'AWS::S3::Bucket'],
    ['Table', 'AWS::DynamoDB::Table'],
  ]);
  const complete = (id: string, type: string): StackResourceSummary => ({
    LogicalResourceId: id,
    ResourceType: type,
    ResourceStatus: 'CREATE_COMPLETE',
    PhysicalResourceId: id.toLowerCase(),
    LastUpdatedTimestamp: new Date(0),
  });

  it('finds nothing when ids and types match', () => {
    const comparison = compareResources(expected, [
      complete('Bucket', 'AWS::S3::Bucket'),
      complete('Table', 'AWS::DynamoDB::Table'),
    ]);

    expect([comparison.missing, comparison.unexpected, comparison.wrongType, comparison.incomplete]).toEqual([
      [],
      [],
      [],
      [],
    ]);
  });

  it('names a missing resource', () => {
    const comparison = compareResources(expected, [complete('Bucket', 'AWS::S3::Bucket')]);

    expect(comparison.missing).toEqual(['Table (AWS::DynamoDB::Table)']);
  });

  it('names a resource of another type', () => {
    const comparison = compareResources(expected, [
      complete('Bucket', 'AWS::S3::Bucket'),
      complete('Table', 'AWS::SQS::Queue'),
    ]);

    expect(comparison.wrongType).toEqual(['Table: AWS::SQS::Queue, expected AWS::DynamoDB::Table']);
  });

  it('names a failed resource', () => {
    const comparison = compareResources(expected, [
      complete('Bucket', 'AWS::S3::Bucket'),
      { ...complete('Table', 'AWS::DynamoDB::Table'), ResourceStatus: 'CREATE_FAILED' },
    ]);

    expect(comparison.incomplete).toEqual(['Table: CREATE_FAILED']);
  });

  it('names surplus entries without an id', () => {
    const anonymous = { ...complete('', ''), LogicalResourceId: '' };
    const comparison = compareResources(
      expected,
      [complete('Bucket', 'AWS::S3::Bucket'), anonymous, anonymous],
      new Set(['AWS::DynamoDB::Table']),
    );

    expect(comparison.unexpected).toEqual([
      '2 entries without a logical id, expected 1: one per unmodeled resource (1) and per resource whose Condition is false (0)',
    ]);
  });
});

describe('moto adaptations', () => {
  it(
    'keep every logical id and type',
    async () => {
      const { template } = await compiledPackage('dev');
      const adapted = adaptTemplateForMoto(template as unknown as CompiledTemplate).template;
      const typesOf = (resources: CompiledTemplate['Resources']) =>
        Object.entries(resources).map(([id, resource]) => `${id} ${resource.Type}`);

      expect(typesOf(adapted.Resources)).toEqual(
        typesOf((template as unknown as CompiledTemplate).Resources),
      );
    },
    PACKAGE_TIMEOUT_MS,
  );
});

describeWithMoto('deployment into moto', () => {
  let moto: MotoServer;
  let resources: Map<string, string>;
  let stackResources: StackResourceSummary[];

  beforeAll(async () => {
    const { dir } = await compiledPackage('dev');
    moto = await startMotoServer();
    const deployed = await deployPackage({
      endpoint: moto.url,
      region: 'us-east-1',
      stackName: 'image-pipeline-dev',
      packageDir: dir,
      waitTimeoutMs: 60_000,
      log: () => {},
      adaptTemplate: adaptTemplateForMoto,
    });
    stackResources = deployed.resources;
    resources = new Map(
      stackResources.map((resource) => [resource.LogicalResourceId ?? '', resource.ResourceType ?? '']),
    );
  }, PACKAGE_TIMEOUT_MS);

  afterAll(async () => {
    await moto?.close();
  });

  // The pipeline's core resources, by the logical ids resources/*.yml and the framework give them.
  it.each([
    ['ServerlessDeploymentBucket', 'AWS::S3::Bucket'],
    ['RawBucket', 'AWS::S3::Bucket'],
    ['ThumbnailBucket', 'AWS::S3::Bucket'],
    ['ImageEventsTopic', 'AWS::SNS::Topic'],
    ['ImagesTable', 'AWS::DynamoDB::Table'],
    ['CreateThumbnailLambdaFunction', 'AWS::Lambda::Function'],
    ['AnalyzeImageLambdaFunction', 'AWS::Lambda::Function'],
    ['ImagesApi', 'AWS::ApiGateway::RestApi'],
  ])('creates %s', (logicalId, type) => {
    expect(resources.get(logicalId)).toBe(type);
  });

  it('completes every resource', () => {
    const incomplete = stackResources.filter(
      (resource) =>
        resource.ResourceStatus !== 'CREATE_COMPLETE' && resource.ResourceStatus !== 'UPDATE_COMPLETE',
    );

    expect(incomplete).toEqual([]);
  });
});

describeWithMoto('npm run rehearse', () => {
  it(
    'passes on the packaged dev stage',
    async () => {
      const { dir } = await compiledPackage('dev');
      const { stdout } = await execFileAsync(
        process.execPath,
        [...REHEARSE_CLI, '--package', dir, '--stage', 'dev'],
        {
          cwd: PROJECT_DIR,
          env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        },
      );

      expect(stdout).toMatch(/rehearse: passed: \d+ of the template's \d+ resources/);
    },
    PACKAGE_TIMEOUT_MS,
  );
});

describe('npm run rehearse without moto', () => {
  it('exits 0 and says why it skipped', async () => {
    // PATH with only node's own folder, so moto_server cannot be found.
    const { stdout } = await execFileAsync(process.execPath, [...REHEARSE_CLI], {
      cwd: PROJECT_DIR,
      env: { ...process.env, PATH: path.dirname(process.execPath) },
    });

    expect(stdout).toContain('rehearse: skipped: moto_server is not on PATH');
  }, 60_000);
});
