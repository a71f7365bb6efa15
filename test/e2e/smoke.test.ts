import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { APIGatewayClient, GetApiKeyCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { ensurePackaged } from '../../local/packaging';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { runSmoke, SMOKE_STEPS, type SmokeOptions, type SmokeReport } from '../../scripts/smoke/steps';
import { deployedTarget, localTarget, type SmokeTarget } from '../../scripts/smoke/target';

const execFileAsync = promisify(execFile);

const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const SAMPLE_FILE = path.join(PROJECT_DIR, 'samples', 'dog_bicycle_truck.jpg');
// The local stage's thumbnail box (config/stages/local.yml).
const LOCAL_BOX = { maxWidth: 256, maxHeight: 256 };

let workDir: string;
let dataDir: string;
let stack: LocalStack;
let target: SmokeTarget;
let s3: S3Client;

function smokeOptions(overrides: Partial<SmokeOptions> = {}): SmokeOptions {
  return {
    sample: { body: readFileSync(SAMPLE_FILE), contentType: 'image/jpeg', name: 'dog_bicycle_truck.jpg' },
    thumbnailBox: LOCAL_BOX,
    waitTimeoutMs: 60_000,
    pollIntervalMs: 200,
    ...overrides,
  };
}

function headObject(bucket: string | null, key: string): Promise<unknown> {
  return s3.send(new HeadObjectCommand({ Bucket: bucket ?? '', Key: key }));
}

describe('local stack', () => {
  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'smoke-e2e-'));
    dataDir = path.join(workDir, 'data');
    await ensurePackaged(PROJECT_DIR, 'local', () => {});
    stack = await startLocalStack({
      projectDir: PROJECT_DIR,
      dataDir,
      ports: { s3: 0, dynamodb: 0, rekognition: 0, api: 0 },
      retryDelaysMs: [50, 50],
      log: () => {},
    });
    target = localTarget(stack.description);
    s3 = new S3Client({
      endpoint: stack.description.endpoints.s3,
      region: stack.description.region,
      forcePathStyle: true,
      credentials: stack.description.credentials,
    });
  }, 300_000);

  afterAll(async () => {
    target?.s3.destroy();
    s3?.destroy();
    await stack?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  describe('smoke steps on the local stack', () => {
    let report: SmokeReport;

    beforeAll(async () => {
      report = await runSmoke(target, smokeOptions());
    }, 240_000);

    it('passes every step', () => {
      expect(report.steps.filter((step) => !step.ok).map((step) => `${step.step}: ${step.detail}`)).toEqual(
        [],
      );
      expect(report.failedStep).toBeUndefined();
    });

    it('runs the steps in order', () => {
      expect(report.steps.map((step) => step.step)).toEqual([...SMOKE_STEPS]);
    });

    it('uploads under a key of its own', () => {
      expect(report.key).toMatch(/^smoke\/.+-dog_bicycle_truck\.jpg$/);
    });

    it('leaves no original behind', async () => {
      await expect(headObject(stack.description.rawBucket, report.key)).rejects.toMatchObject({
        name: 'NotFound',
      });
    });

    it('leaves no thumbnail behind', async () => {
      await expect(headObject(stack.description.thumbnailBucket, report.key)).rejects.toMatchObject({
        name: 'NotFound',
      });
    });
  });

  describe('smoke steps that fail', () => {
    it('wrong API key fails the upload step', async () => {
      const report = await runSmoke({ ...target, apiKey: 'not-the-key' }, smokeOptions());

      expect(report.failedStep).toBe('upload');
      expect(report.steps.map((step) => step.step)).toEqual(['upload']);
    }, 60_000);

    it('unexpected thumbnail size fails the thumbnail step', async () => {
      // dog_bicycle_truck.jpg is 768x576, so a 256x256 box gives 256x192, never the 100x100 this box implies.
      const report = await runSmoke(
        target,
        smokeOptions({ thumbnailBox: { maxWidth: 100, maxHeight: 100 } }),
      );

      expect(report.failedStep).toBe('thumbnail');
    }, 240_000);

    it('failed run still deletes its original', async () => {
      const report = await runSmoke(
        target,
        smokeOptions({ thumbnailBox: { maxWidth: 100, maxHeight: 100 } }),
      );

      expect(report.steps.map((step) => step.step)).toEqual(['upload', 'labels', 'thumbnail', 'delete']);
      await expect(headObject(stack.description.rawBucket, report.key)).rejects.toMatchObject({
        name: 'NotFound',
      });
    }, 240_000);
  });

  describe('npm run smoke -- --local', () => {
    const cli = ['--import', 'tsx', path.join(PROJECT_DIR, 'scripts', 'smoke.ts')];

    it('exits 0 and prints each step', async () => {
      const { stdout } = await execFileAsync(
        process.execPath,
        [...cli, '--local', '--data-dir', dataDir, '--timeout', '60'],
        { cwd: PROJECT_DIR },
      );
      const printedSteps = stdout
        .split('\n')
        .filter((line) => line.startsWith('ok '))
        .map((line) => line.split(/\s+/)[1]);

      expect(printedSteps).toEqual([...SMOKE_STEPS]);
      expect(stdout).toContain('smoke test passed');
    }, 240_000);

    it('names the missing stack and exits 2', async () => {
      const missing = path.join(workDir, 'no-stack-here');

      await expect(
        execFileAsync(process.execPath, [...cli, '--local', '--data-dir', missing], { cwd: PROJECT_DIR }),
      ).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringContaining(`no local stack is running with data in ${missing}`),
      });
    }, 60_000);
  });
});

describe('deployed target', () => {
  const cloudFormation = mockClient(CloudFormationClient);
  const apiGateway = mockClient(APIGatewayClient);
  // Output keys as resources/outputs.yml names them.
  const outputs: Output[] = [
    { OutputKey: 'ImagesApiUrl', OutputValue: 'https://abc123.execute-api.eu-west-1.amazonaws.com/dev' },
    { OutputKey: 'ImagesApiKeyId', OutputValue: 'key-id-1' },
    { OutputKey: 'RawBucketName', OutputValue: 'acme-image-pipeline-dev-raw' },
  ];

  afterEach(() => {
    cloudFormation.reset();
    apiGateway.reset();
  });

  afterAll(() => {
    cloudFormation.restore();
    apiGateway.restore();
  });

  it('reads the API, key and bucket from the stack', async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'image-pipeline-dev' }).resolves({
      Stacks: [
        {
          StackName: 'image-pipeline-dev',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: outputs,
        },
      ],
    });
    apiGateway
      .on(GetApiKeyCommand, { apiKey: 'key-id-1', includeValue: true })
      .resolves({ value: 'secret-key-value' });

    const deployed = await deployedTarget({ stackName: 'image-pipeline-dev', region: 'eu-west-1' });
    deployed.s3.destroy();

    expect([deployed.apiUrl, deployed.apiKey, deployed.rawBucket]).toEqual([
      'https://abc123.execute-api.eu-west-1.amazonaws.com/dev',
      'secret-key-value',
      'acme-image-pipeline-dev-raw',
    ]);
  });

  it('names the missing API key output', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'image-pipeline-dev',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: outputs.filter((output) => output.OutputKey !== 'ImagesApiKeyId'),
        },
      ],
    });

    await expect(deployedTarget({ stackName: 'image-pipeline-dev', region: 'eu-west-1' })).rejects.toThrow(
      'stack image-pipeline-dev in eu-west-1 has no output ImagesApiKeyId',
    );
  });
});
