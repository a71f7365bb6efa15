import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetQueueAttributesCommand,
  type QueueAttributeName,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { AsyncInvoker, type InvocationRecord } from '../../local/lambda/async-invoker';
import { FunctionPool } from '../../local/lambda/function-pool';
import { type LocalInvokeServer, startInvokeServer } from '../../local/lambda/invoke-server';
import { type LocalSqsServer, startSqsServer } from '../../local/sqs/sqs-server';
import { failureQueueNames, SERVICE_NAME } from '../../scripts/redrive/queues';
import { type RedriveOptions, type RedriveResult, redrive } from '../../scripts/redrive/redrive';
import { fakeCodeDirectory, fakeHandler } from '../local/fake-functions/records';

const execFileAsync = promisify(execFile);
const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const ACCOUNT_ID = '000000000000';
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const QUEUES = failureQueueNames(SERVICE_NAME, 'local');
const THUMBNAIL_FUNCTION = 'image-pipeline-local-createThumbnail';
const LABELS_FUNCTION = 'image-pipeline-local-analyzeImage';
// A function of the same account that the stage does not own.
const FOREIGN_FUNCTION = 'billing-prod-chargeCustomer';
const arnOf = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${name}`;

/** Builds an invocation record in the shape of the Lambda developer guide's example, for an event `{ n }`. */
function recordBody(n: number, functionName = THUMBNAIL_FUNCTION): string {
  return JSON.stringify({
    version: '1.0',
    timestamp: '2026-01-01T00:00:00.000Z',
    requestContext: {
      requestId: `request-${n}`,
      functionArn: `${arnOf(functionName)}:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    },
    requestPayload: { n },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'Error', errorMessage: 'broken' },
  });
}

/**
 * The parts of the local stack a re-drive talks to: the failure queues and Lambda's Invoke endpoint. By default the
 * endpoint only records each event. With `failing`, the events run in a function that always throws, and their
 * records return to the failed-invocations queue as on the local stack.
 */
interface RedriveHarness {
  sqsServer: LocalSqsServer;
  invokeServer: LocalInvokeServer;
  sqs: SQSClient;
  lambda: LambdaClient;
  /** Every event the Invoke endpoint accepted, with the function it named. */
  invoked: Array<{ functionName: string; event: unknown }>;
  invoker: AsyncInvoker | undefined;
  close(): Promise<void>;
}

async function startHarness(failing = false): Promise<RedriveHarness> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'redrive-attack-'));
  const sqsServer = await startSqsServer({
    port: 0,
    region: REGION,
    accountId: ACCOUNT_ID,
    queues: [{ name: QUEUES.failedInvocations }, { name: QUEUES.undeliveredEvents }],
  });
  const pool = failing
    ? new FunctionPool(
        {
          name: THUMBNAIL_FUNCTION,
          key: 'createThumbnail',
          arn: arnOf(THUMBNAIL_FUNCTION),
          codeDirectory: fakeCodeDirectory(),
          handler: fakeHandler('fail'),
          runtime: 'nodejs22.x',
          memorySize: 256,
          timeoutSeconds: 5,
          environment: { RECORD_FILE: path.join(workDir, 'invocations.jsonl') },
        },
        () => {},
        { maxConcurrency: 2 },
      )
    : undefined;
  const invoker = failing
    ? new AsyncInvoker({
        failureDirectory: path.join(workDir, 'failed'),
        retryDelaysMs: [0, 0],
        sendToDestination: async (_arn, record) => {
          sqsServer.sendMessage(QUEUES.failedInvocations, JSON.stringify(record));
        },
      })
    : undefined;
  const invoked: RedriveHarness['invoked'] = [];
  const invokeServer = await startInvokeServer({
    port: 0,
    // The account also contains a foreign function, which an operator with wide permissions could invoke.
    functions: [THUMBNAIL_FUNCTION, LABELS_FUNCTION, FOREIGN_FUNCTION].map((name) => ({
      name,
      arn: arnOf(name),
    })),
    invokeAsync: (functionName, event) => {
      invoked.push({ functionName, event });
      if (invoker === undefined || pool === undefined) return 'request-id';
      return invoker.invokeAsync(
        pool,
        event,
        { maximumRetryAttempts: 2, onFailureDestination: 'queue' },
        () => {},
      );
    },
  });
  const sqs = new SQSClient({
    endpoint: sqsServer.endpoint,
    region: REGION,
    credentials: { ...CREDENTIALS },
  });
  const lambda = new LambdaClient({
    endpoint: invokeServer.endpoint,
    region: REGION,
    credentials: { ...CREDENTIALS },
  });
  return {
    sqsServer,
    invokeServer,
    sqs,
    lambda,
    invoked,
    invoker,
    close: async () => {
      sqs.destroy();
      lambda.destroy();
      await invoker?.whenIdle();
      await pool?.close();
      await invokeServer.close();
      await sqsServer.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

function redriveOptions(harness: RedriveHarness, overrides: Partial<RedriveOptions> = {}): RedriveOptions {
  return {
    sqs: harness.sqs,
    lambda: harness.lambda,
    queueNames: [QUEUES.failedInvocations, QUEUES.undeliveredEvents],
    notificationFunctions: [THUMBNAIL_FUNCTION, LABELS_FUNCTION],
    location: 'the test stack',
    ...overrides,
  };
}

async function sendTo(harness: RedriveHarness, queueName: string, body: string): Promise<void> {
  await harness.sqs.send(
    new SendMessageCommand({ QueueUrl: harness.sqsServer.queueUrl(queueName), MessageBody: body }),
  );
}

async function queueAttribute(
  harness: RedriveHarness,
  name: QueueAttributeName,
  queueName = QUEUES.failedInvocations,
): Promise<string | undefined> {
  const response = await harness.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: harness.sqsServer.queueUrl(queueName),
      AttributeNames: [name],
    }),
  );
  return response.Attributes?.[name];
}

/** Reads every message of a queue without hiding it (visibility timeout 0), in order. */
async function peekAll(harness: RedriveHarness, queueName = QUEUES.failedInvocations) {
  const response = await harness.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: harness.sqsServer.queueUrl(queueName),
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 0,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }),
  );
  return response.Messages ?? [];
}

const eventNumbers = (harness: RedriveHarness) =>
  harness.invoked.map((invocation) => (invocation.event as { n: number }).n).sort((a, b) => a - b);

let harness: RedriveHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('redrive of unexpected messages', () => {
  it('record naming a function outside the stage is skipped', async () => {
    harness = await startHarness();
    await sendTo(harness, QUEUES.failedInvocations, recordBody(1, FOREIGN_FUNCTION));
    const results = await redrive(redriveOptions(harness));

    expect(results.map((result) => result.status)).toEqual(['skipped']);
  });

  it('record naming a function outside the stage invokes nothing', async () => {
    harness = await startHarness();
    await sendTo(harness, QUEUES.failedInvocations, recordBody(1, FOREIGN_FUNCTION));
    await redrive(redriveOptions(harness));

    expect(harness.invoked).toEqual([]);
  });

  it.each([
    ['text that is not JSON', 'not json'],
    ['a JSON array', '[1,2,3]'],
    ['a record without a function ARN', JSON.stringify({ requestContext: {}, requestPayload: {} })],
    ['an SNS message of another type', JSON.stringify({ Type: 'SubscriptionConfirmation', TopicArn: 'x' })],
  ])('message with %s is skipped and kept', async (_name, body) => {
    harness = await startHarness();
    await sendTo(harness, QUEUES.failedInvocations, body);
    const results = await redrive(redriveOptions(harness));

    expect([results.map((result) => result.status), harness.invoked.length]).toEqual([['skipped'], 0]);
  });
});

describe('redrive of a poison message', () => {
  let results: RedriveResult[];

  beforeEach(async () => {
    harness = await startHarness(true);
    for (let n = 0; n < 12; n += 1) await sendTo(harness, QUEUES.failedInvocations, recordBody(n));
    results = await redrive(redriveOptions(harness));
    await harness.invoker?.whenIdle();
  });

  it('re-delivers each message once per run', () => {
    expect(eventNumbers(harness as RedriveHarness)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('reports every message as re-driven', () => {
    expect(results.filter((result) => result.status === 'redriven')).toHaveLength(12);
  });

  it('ends every event back on the failed-invocations queue', async () => {
    expect(await queueAttribute(harness as RedriveHarness, 'ApproximateNumberOfMessages')).toBe('12');
  });

  it('returned records carry the original events', async () => {
    const queueUrl = harness?.sqsServer.queueUrl(QUEUES.failedInvocations);
    const payloads: number[] = [];
    for (let batch = 0; batch < 2; batch += 1) {
      const response = await harness?.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
      );
      for (const message of response?.Messages ?? []) {
        const record = JSON.parse(message.Body ?? '{}') as InvocationRecord;
        payloads.push((record.requestPayload as { n: number }).n);
      }
    }

    expect(payloads.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });
});

describe('dry run', () => {
  beforeEach(async () => {
    harness = await startHarness();
    for (let n = 0; n < 3; n += 1) await sendTo(harness, QUEUES.failedInvocations, recordBody(n));
    await sendTo(harness, QUEUES.undeliveredEvents, 'not json');
    await redrive(redriveOptions(harness, { dryRun: true }));
  });

  it('invokes nothing', () => {
    expect(harness?.invoked).toEqual([]);
  });

  it('leaves every failed invocation visible', async () => {
    expect(await queueAttribute(harness as RedriveHarness, 'ApproximateNumberOfMessagesNotVisible')).toBe(
      '0',
    );
  });

  it('leaves every undelivered event visible', async () => {
    expect(
      await queueAttribute(
        harness as RedriveHarness,
        'ApproximateNumberOfMessages',
        QUEUES.undeliveredEvents,
      ),
    ).toBe('1');
  });

  it('leaves the message bodies unchanged', async () => {
    const bodies = (await peekAll(harness as RedriveHarness)).map((message) => message.Body);

    expect(bodies).toEqual([recordBody(0), recordBody(1), recordBody(2)]);
  });

  it('counts as one receive of each message', async () => {
    // SQS cannot read a message without receiving it, so the count goes up, as docs/operations.md states.
    const counts = (await peekAll(harness as RedriveHarness)).map(
      (message) => message.Attributes?.ApproximateReceiveCount,
    );

    expect(counts).toEqual(['2', '2', '2']);
  });
});

describe('two redrives at once', () => {
  it('deliver each message once', async () => {
    harness = await startHarness();
    for (let n = 0; n < 30; n += 1) await sendTo(harness, QUEUES.failedInvocations, recordBody(n));
    await Promise.all([redrive(redriveOptions(harness)), redrive(redriveOptions(harness))]);

    expect(eventNumbers(harness)).toEqual(Array.from({ length: 30 }, (_, n) => n));
  });
});

describe('redrive against a missing stage', () => {
  it('names the missing queue and the options to check', async () => {
    harness = await startHarness();
    const wrongStage = failureQueueNames(SERVICE_NAME, 'prdo');

    await expect(
      redrive(redriveOptions(harness, { queueNames: [wrongStage.failedInvocations] })),
    ).rejects.toThrow(
      `queue ${wrongStage.failedInvocations} does not exist in the test stack: check --stage`,
    );
  });

  it('names the queue when the SQS endpoint is down', async () => {
    harness = await startHarness();
    // Port 1 on loopback: nothing listens there, as after the local stack stopped.
    const unreachable = new SQSClient({
      endpoint: 'http://127.0.0.1:1',
      region: REGION,
      credentials: { ...CREDENTIALS },
      maxAttempts: 1,
    });

    await expect(redrive(redriveOptions(harness, { sqs: unreachable }))).rejects.toThrow(
      `cannot read queue ${QUEUES.failedInvocations} in the test stack`,
    );
    unreachable.destroy();
  });
});

describe('npm run redrive options', () => {
  const cli = ['--import', 'tsx', path.join(PROJECT_DIR, 'scripts', 'redrive.ts')];
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'redrive-cli-'));
  });

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each(['0', '-1', '2.5', '1e3', '0x10', ' 7', 'ten'])(
    '--limit "%s" is rejected',
    async (limit) => {
      await expect(
        execFileAsync(
          process.execPath,
          [...cli, '--stage', 'local', '--data-dir', dataDir, `--limit=${limit}`],
          {
            cwd: PROJECT_DIR,
          },
        ),
      ).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('--limit must be a whole number') });
    },
    60_000,
  );

  it('stage local without a running stack names the data folder', async () => {
    await expect(
      execFileAsync(process.execPath, [...cli, '--stage', 'local', '--data-dir', dataDir], {
        cwd: PROJECT_DIR,
      }),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`no local stack is running on ${dataDir}`),
    });
  }, 60_000);
});
