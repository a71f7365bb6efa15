import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SNSEvent } from 'aws-lambda';
import type { AsyncOutcome, InvocationRecord } from '../../local/lambda/async-invoker';
import { prepareFunctionCode } from '../../local/lambda/function-code';
import { ensurePackaged } from '../../local/packaging';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { failureQueueNames, SERVICE_NAME } from '../../scripts/redrive/queues';
import { type RedriveResult, redrive } from '../../scripts/redrive/redrive';

const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const IMAGE = path.join(PROJECT_DIR, 'samples', 'coffee_cup.png');
const KEY = 'failures/coffee cup.png';
const QUEUES = failureQueueNames(SERVICE_NAME, 'local');
// Lambda makes one attempt plus MaximumRetryAttempts retries; serverless.yml sets 2 retries for every stage.
const EXPECTED_ATTEMPTS = 3;

// Runs the packaged createThumbnail, but throws while the fault file exists: the "bug" that the test then fixes.
const FAULTY_WRAPPER = `'use strict';
const { existsSync } = require('node:fs');
const packaged = require('./create-thumbnail-packaged.js');
exports.handler = async (event, context) => {
  if (existsSync(process.env.THUMBNAIL_FAULT_FILE)) throw new Error('thumbnail writer is broken (test fault)');
  return packaged.handler(event, context);
};
`;

let workDir: string;
let faultFile: string;
let stack: LocalStack;
let s3: S3Client;
let sqs: SQSClient;
let lambda: LambdaClient;
let documents: DynamoDBDocumentClient;
let failure: AsyncOutcome;
let record: InvocationRecord;
let queueDepthAfterFailure: string | undefined;
let dryRun: RedriveResult[];
let queueDepthAfterDryRun: string | undefined;
let thumbnailStatusBeforeFix: unknown;
let redriven: RedriveResult[];

/** Extracts the packaged createThumbnail and puts the faulty wrapper in front of its handler. */
async function faultyThumbnailCode(): Promise<string> {
  const directory = path.join(workDir, 'create-thumbnail-code');
  await prepareFunctionCode(path.join(PROJECT_DIR, '.serverless', 'createThumbnail.zip'), directory);
  const handlers = path.join(directory, 'src', 'handlers');
  renameSync(path.join(handlers, 'create-thumbnail.js'), path.join(handlers, 'create-thumbnail-packaged.js'));
  writeFileSync(path.join(handlers, 'create-thumbnail.js'), FAULTY_WRAPPER);
  return directory;
}

function clientConfig(endpoint: string) {
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
}

async function queueDepth(queueName: string): Promise<string | undefined> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
  const response = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return response.Attributes?.ApproximateNumberOfMessages;
}

async function thumbnailStatus(): Promise<unknown> {
  const response = await documents.send(
    new GetCommand({ TableName: stack.description.tableName, Key: { Id: KEY }, ConsistentRead: true }),
  );
  return response.Item?.ThumbnailStatus;
}

function runRedrive(dryRunOnly: boolean): Promise<RedriveResult[]> {
  return redrive({
    sqs,
    lambda,
    queueNames: [QUEUES.failedInvocations, QUEUES.undeliveredEvents],
    notificationFunctions: stack.description.functions.map((fn) => fn.name),
    location: 'the test stack',
    dryRun: dryRunOnly,
  });
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'failure-destination-e2e-'));
  faultFile = path.join(workDir, 'thumbnail-fault');
  writeFileSync(faultFile, 'broken\n');

  await ensurePackaged(PROJECT_DIR, 'local', () => {});
  stack = await startLocalStack({
    projectDir: PROJECT_DIR,
    dataDir: path.join(workDir, 'data'),
    ports: { s3: 0, dynamodb: 0, rekognition: 0, api: 0 },
    codeDirectories: { createThumbnail: await faultyThumbnailCode() },
    functionEnvironment: { THUMBNAIL_FAULT_FILE: faultFile },
    retryDelaysMs: [20, 20],
    testEvents: 'never',
    log: () => {},
  });
  s3 = new S3Client({ ...clientConfig(stack.description.endpoints.s3), forcePathStyle: true });
  sqs = new SQSClient(clientConfig(stack.description.endpoints.sqs));
  lambda = new LambdaClient(clientConfig(stack.description.endpoints.lambda));
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient(clientConfig(stack.description.endpoints.dynamodb)),
  );

  // The failing upload: createThumbnail throws on every attempt until the fault file is removed.
  const failed = new Promise<AsyncOutcome>((resolve) => {
    stack.events.on('outcome', (outcome) => {
      if (outcome.functionKey === 'createThumbnail' && !outcome.result.ok) resolve(outcome);
    });
  });
  await s3.send(
    new PutObjectCommand({
      Bucket: stack.description.rawBucket,
      Key: KEY,
      Body: readFileSync(IMAGE),
      ContentType: 'image/png',
    }),
  );
  failure = await failed;
  await stack.whenIdle();

  queueDepthAfterFailure = await queueDepth(QUEUES.failedInvocations);
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: QUEUES.failedInvocations }));
  // Visibility timeout 0 leaves the message in place for the re-drive below.
  const peeked = await sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 0 }));
  record = JSON.parse(peeked.Messages?.[0]?.Body ?? '{}') as InvocationRecord;

  dryRun = await runRedrive(true);
  queueDepthAfterDryRun = await queueDepth(QUEUES.failedInvocations);
  thumbnailStatusBeforeFix = await thumbnailStatus();

  // The fix, then the re-drive.
  rmSync(faultFile);
  redriven = await runRedrive(false);
  await stack.whenIdle();
}, 300_000);

afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  lambda?.destroy();
  documents?.destroy();
  await stack?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('failed event on the local stack', () => {
  it('function is attempted once plus its retries', () => {
    expect(failure.attempts).toBe(EXPECTED_ATTEMPTS);
  });

  it('invocation record goes to the failed-invocations queue', () => {
    expect(queueDepthAfterFailure).toBe('1');
  });

  it('failure folder keeps a copy of the record', () => {
    expect(existsSync(failure.failureRecordPath ?? '')).toBe(true);
  });

  it('record has the documented version and condition', () => {
    expect([record.version, record.requestContext.condition]).toEqual(['1.0', 'RetriesExhausted']);
  });

  it('record counts every attempt', () => {
    expect(record.requestContext.approximateInvokeCount).toBe(EXPECTED_ATTEMPTS);
  });

  it('record names the unpublished version of the function that failed', () => {
    // Lambda's ARN format with the local stack's region and placeholder account.
    expect(record.requestContext.functionArn).toBe(
      'arn:aws:lambda:us-east-1:000000000000:function:image-pipeline-local-createThumbnail:$LATEST',
    );
  });

  it('record carries the original SNS event as request payload', () => {
    const message = (record.requestPayload as SNSEvent).Records[0]?.Sns.Message ?? '{}';
    const key = (JSON.parse(message) as { Records: Array<{ s3: { object: { key: string } } }> }).Records[0]
      ?.s3.object.key;

    // S3 URL-encodes keys in notifications, with + for spaces.
    expect(key).toBe('failures/coffee+cup.png');
  });

  it('record carries the error the function threw', () => {
    expect(record.responsePayload.errorMessage).toBe('thumbnail writer is broken (test fault)');
  });

  it('no thumbnail is recorded before the fix', () => {
    expect(thumbnailStatusBeforeFix).toBeUndefined();
  });
});

describe('redrive', () => {
  it('dry run lists the failed event with its key', () => {
    expect(dryRun.map((result) => [result.status, result.objectKeys])).toEqual([['would-redrive', [KEY]]]);
  });

  it('dry run leaves the message in the queue', () => {
    expect(queueDepthAfterDryRun).toBe('1');
  });

  it('re-delivers the event to the function that failed', () => {
    expect(
      redriven.map((result) => [result.status, result.targets.map((target) => target.split(':').pop())]),
    ).toEqual([['redriven', ['image-pipeline-local-createThumbnail']]]);
  });

  it('empties the failed-invocations queue', async () => {
    expect(await queueDepth(QUEUES.failedInvocations)).toBe('0');
  });

  it('item is done after the fix', async () => {
    expect(await thumbnailStatus()).toBe('done');
  });

  it('thumbnail exists after the fix', async () => {
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: stack.description.thumbnailBucket ?? '', Key: KEY }),
    );

    expect(head.ContentLength).toBeGreaterThan(0);
  });
});
