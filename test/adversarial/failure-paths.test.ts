import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { AsyncInvoker, type InvocationRecord } from '../../local/lambda/async-invoker';
import { FunctionPool } from '../../local/lambda/function-pool';
import { type LocalInvokeServer, startInvokeServer } from '../../local/lambda/invoke-server';
import { type LocalSqsServer, startSqsServer } from '../../local/sqs/sqs-server';
import { runSmoke, type SmokeOptions, type SmokeReport } from '../../scripts/smoke/steps';
import type { SmokeTarget } from '../../scripts/smoke/target';
import { fakeCodeDirectory, fakeHandler, readInvocations } from '../local/fake-functions/records';

const ACCOUNT_ID = '000000000000';
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
// SendMessage API reference: "The maximum size is 1 MiB or 1,048,576 bytes".
const SQS_MAX_MESSAGE_BYTES = 1_048_576;

interface RawResponse {
  status: number;
  /** `__type` of an AWS JSON error body, or undefined for a success. */
  errorType: string | undefined;
  body: string;
}

/** Posts a raw AWS JSON 1.0 request, as a client with a bug or an attacker would send it. */
async function postJson(
  endpoint: string,
  target: string,
  body: string | Buffer,
  urlPath = '/',
): Promise<RawResponse> {
  const response = await fetch(`${endpoint}${urlPath}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': target },
    body,
  });
  const text = await response.text();
  let errorType: string | undefined;
  try {
    errorType = (JSON.parse(text) as { __type?: string }).__type;
  } catch {
    errorType = undefined;
  }
  return { status: response.status, errorType, body: text };
}

describe('local SQS endpoint under attack', () => {
  const QUEUE = 'attack-queue';
  let workDir: string;
  let server: LocalSqsServer;
  let sqs: SQSClient;
  let queueUrl: string;

  const send = (body: unknown) => postJson(server.endpoint, 'AmazonSQS.SendMessage', JSON.stringify(body));

  const visibleMessages = async (): Promise<string | undefined> => {
    const response = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    return response.Attributes?.ApproximateNumberOfMessages;
  };

  beforeEach(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'sqs-attack-'));
    server = await startSqsServer({
      port: 0,
      region: REGION,
      accountId: ACCOUNT_ID,
      directory: path.join(workDir, 'sqs'),
      queues: [{ name: QUEUE }],
    });
    sqs = new SQSClient({ endpoint: server.endpoint, region: REGION, credentials: { ...CREDENTIALS } });
    queueUrl = server.queueUrl(QUEUE);
  });

  afterEach(async () => {
    sqs.destroy();
    await server.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('JSON null body is a client error', async () => {
    const response = await postJson(server.endpoint, 'AmazonSQS.SendMessage', 'null');

    expect(response.status).toBe(400);
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'target AmazonSQS.%s is an unsupported operation',
    async (name) => {
      const response = await postJson(server.endpoint, `AmazonSQS.${name}`, '{}');

      expect(response.errorType).toBe('com.amazonaws.sqs#UnsupportedOperation');
    },
  );

  it('body one byte over 1 MiB is rejected', async () => {
    const response = await send({ QueueUrl: queueUrl, MessageBody: 'a'.repeat(SQS_MAX_MESSAGE_BYTES + 1) });

    expect(response.errorType).toBe('com.amazonaws.sqs#InvalidParameterValue');
  });

  it('body of exactly 1 MiB is accepted', async () => {
    const response = await send({ QueueUrl: queueUrl, MessageBody: 'a'.repeat(SQS_MAX_MESSAGE_BYTES) });

    expect(response.status).toBe(200);
  });

  it('body over 1 MiB leaves the queue empty', async () => {
    await send({ QueueUrl: queueUrl, MessageBody: 'a'.repeat(SQS_MAX_MESSAGE_BYTES + 1) });

    expect(await visibleMessages()).toBe('0');
  });

  // Characters outside #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF (SendMessage API reference).
  it.each([
    ['NUL', 'a\u0000b'],
    ['a C0 control character', 'a\u0001b'],
    ['a lone high surrogate', 'a\ud800b'],
    ['U+FFFE', 'a\ufffeb'],
  ])('body with %s is rejected as InvalidMessageContents', async (_name, body) => {
    const response = await send({ QueueUrl: queueUrl, MessageBody: body });

    expect(response.errorType).toBe('com.amazonaws.sqs#InvalidMessageContents');
  });

  it.each([
    ['tab, newline and carriage return', 'a\tb\nc\rd'],
    ['a character outside the BMP', 'camera \u{1F4F7}'],
  ])('body with %s is accepted', async (_name, body) => {
    const response = await send({ QueueUrl: queueUrl, MessageBody: body });

    expect(response.status).toBe(200);
  });

  it('request body that is not UTF-8 is rejected', async () => {
    const body = Buffer.concat([
      Buffer.from(`{"QueueUrl":"${queueUrl}","MessageBody":"a`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const response = await postJson(server.endpoint, 'AmazonSQS.SendMessage', body);

    expect(response.status).toBe(400);
  });

  it.each([
    ['a number', { a: 5 }],
    ['a string', 'attributes'],
    ['a missing DataType', { a: { StringValue: 'x' } }],
    ['a String without StringValue', { a: { DataType: 'String' } }],
    ['a Number that is not a number', { a: { DataType: 'Number', StringValue: 'ten' } }],
  ])('message attributes with %s are rejected', async (_name, attributes) => {
    const response = await send({ QueueUrl: queueUrl, MessageBody: 'x', MessageAttributes: attributes });

    expect(response.errorType).toBe('com.amazonaws.sqs#InvalidParameterValue');
  });

  it('malformed message attributes do not break later receives', async () => {
    await send({ QueueUrl: queueUrl, MessageBody: 'bad', MessageAttributes: { a: 5 } });
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'good' }));
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );

    expect(received.Messages?.map((message) => message.Body)).toEqual(['good']);
  });

  it('CreateQueue rejects a visibility timeout that is not a number', async () => {
    const response = await postJson(
      server.endpoint,
      'AmazonSQS.CreateQueue',
      JSON.stringify({ QueueName: 'nan-queue', Attributes: { VisibilityTimeout: 'abc' } }),
    );

    expect(response.errorType).toBe('com.amazonaws.sqs#InvalidAttributeValue');
  });

  it('CreateQueue rejects a visibility timeout over 12 hours', async () => {
    const response = await postJson(
      server.endpoint,
      'AmazonSQS.CreateQueue',
      JSON.stringify({ QueueName: 'long-queue', Attributes: { VisibilityTimeout: '43201' } }),
    );

    expect(response.errorType).toBe('com.amazonaws.sqs#InvalidAttributeValue');
  });

  it('CreateQueue rejects a name that climbs out of the data folder', async () => {
    const response = await postJson(
      server.endpoint,
      'AmazonSQS.CreateQueue',
      JSON.stringify({ QueueName: '../../escaped' }),
    );

    expect(response.errorType).toBe('com.amazonaws.sqs#InvalidParameterValue');
  });

  it('concurrent receivers never share a message', async () => {
    for (let n = 0; n < 20; n += 1) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `message ${n}` }));
    }
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        ),
      ),
    );
    const ids = responses.flatMap((response) =>
      (response.Messages ?? []).map((message) => message.MessageId),
    );

    expect(new Set(ids).size).toBe(ids.length);
  });

  it('closing during a long poll ends the poll', async () => {
    const client = new SQSClient({
      endpoint: server.endpoint,
      region: REGION,
      credentials: { ...CREDENTIALS },
      maxAttempts: 1,
    });
    const poll = client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20 })).then(
      () => 'answered',
      () => 'failed',
    );
    await visibleMessages();
    await server.close();
    server = await startSqsServer({
      port: 0,
      region: REGION,
      accountId: ACCOUNT_ID,
      queues: [{ name: QUEUE }],
    });
    let timer: NodeJS.Timeout | undefined;
    // Below the 20 s wait, so a poll that outlived the server would still be running here.
    const guard = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('still waiting'), 10_000);
    });
    const outcome = await Promise.race([poll, guard]);
    clearTimeout(timer);
    client.destroy();

    expect(outcome).not.toBe('still waiting');
  }, 30_000);

  it('half-written queue file stops the start with the file named', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'kept' }));
    await server.close();
    const file = path.join(workDir, 'sqs', `${QUEUE}.json`);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, Math.floor(text.length / 2)));
    server = await startSqsServer({
      port: 0,
      region: REGION,
      accountId: ACCOUNT_ID,
      directory: path.join(workDir, 'sqs'),
      queues: [],
    });

    expect(() => server.createQueue(QUEUE)).toThrow(
      `queue file ${file} is not valid JSON: repair or delete it`,
    );
  });

  it('internal send rejects a record that SQS would reject', () => {
    expect(() => server.sendMessage(QUEUE, 'x'.repeat(SQS_MAX_MESSAGE_BYTES + 1))).toThrow(
      /shorter than 1048576 bytes/,
    );
  });
});

describe('local Lambda Invoke endpoint under attack', () => {
  const FUNCTION_NAME = 'image-pipeline-local-createThumbnail';
  const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${FUNCTION_NAME}`;
  // Invoke API reference: "For asynchronous invocations, the maximum payload size is 1 MB."
  const ASYNC_PAYLOAD_LIMIT_BYTES = 1_048_576;
  let server: LocalInvokeServer;
  let lambda: LambdaClient;
  let accepted: unknown[];

  const invokeEvent = (functionName: string, payload: string | Buffer) =>
    lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(payload),
      }),
    );

  beforeEach(async () => {
    accepted = [];
    server = await startInvokeServer({
      port: 0,
      functions: [{ name: FUNCTION_NAME, arn: FUNCTION_ARN }],
      invokeAsync: (_name, event) => {
        accepted.push(event);
        return 'request-id';
      },
    });
    lambda = new LambdaClient({ endpoint: server.endpoint, region: REGION, credentials: { ...CREDENTIALS } });
  });

  afterEach(async () => {
    lambda.destroy();
    await server.close();
  });

  it('payload over the asynchronous limit is rejected as too large', async () => {
    const payload = JSON.stringify({ padding: 'x'.repeat(ASYNC_PAYLOAD_LIMIT_BYTES) });

    await expect(invokeEvent(FUNCTION_NAME, payload)).rejects.toMatchObject({
      name: 'RequestTooLargeException',
    });
  });

  it('payload over the asynchronous limit queues no event', async () => {
    const payload = JSON.stringify({ padding: 'x'.repeat(ASYNC_PAYLOAD_LIMIT_BYTES) });
    await invokeEvent(FUNCTION_NAME, payload).catch(() => undefined);

    expect(accepted).toHaveLength(0);
  });

  it('payload just under the asynchronous limit is accepted', async () => {
    const payload = JSON.stringify({ padding: 'x'.repeat(ASYNC_PAYLOAD_LIMIT_BYTES - 20) });
    const response = await invokeEvent(FUNCTION_NAME, payload);

    expect(response.StatusCode).toBe(202);
  });

  it('RequestResponse invocation is refused with its type named', async () => {
    await expect(
      lambda.send(new InvokeCommand({ FunctionName: FUNCTION_NAME, Payload: Buffer.from('{}') })),
    ).rejects.toThrow(/RequestResponse/);
  });

  it('payload that is not UTF-8 is rejected as invalid content', async () => {
    const payload = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}')]);

    await expect(invokeEvent(FUNCTION_NAME, payload)).rejects.toMatchObject({
      name: 'InvalidRequestContentException',
    });
  });

  it('payload that is not JSON is rejected as invalid content', async () => {
    await expect(invokeEvent(FUNCTION_NAME, '{"Records":')).rejects.toMatchObject({
      name: 'InvalidRequestContentException',
    });
  });

  it('unknown function is not found', async () => {
    await expect(invokeEvent('image-pipeline-local-missing', '{}')).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('published version qualifier is not found', async () => {
    await expect(
      lambda.send(
        new InvokeCommand({
          FunctionName: FUNCTION_NAME,
          InvocationType: 'Event',
          Qualifier: '1',
          Payload: Buffer.from('{}'),
        }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('function of another account is not found', async () => {
    await expect(
      invokeEvent(`arn:aws:lambda:${REGION}:111111111111:function:${FUNCTION_NAME}`, '{}'),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  // Invoke API reference, name formats: "Partial ARN – 123456789012:function:my-function".
  it('partial ARN names the function', async () => {
    const response = await invokeEvent(`${ACCOUNT_ID}:function:${FUNCTION_NAME}`, '{}');

    expect(response.StatusCode).toBe(202);
  });

  it('malformed percent-encoding in the name is a client error', async () => {
    const response = await fetch(`${server.endpoint}/2015-03-31/functions/fn%E0%A4%A/invocations`, {
      method: 'POST',
      headers: { 'X-Amz-Invocation-Type': 'Event' },
      body: '{}',
    });

    expect(response.status).toBe(400);
  });

  it('encoded path separators in the name find no function', async () => {
    await expect(invokeEvent(`../../${FUNCTION_NAME}`, '{}')).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});

describe('asynchronous invocation failures', () => {
  const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:svc-test-fake`;
  const DESTINATION = `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:failed-invocations`;
  let workDir: string;
  let recordFile: string;
  let failureDirectory: string;
  let pool: FunctionPool;
  let sent: InvocationRecord[];

  function createInvoker(retryDelaysMs: number[]): AsyncInvoker {
    return new AsyncInvoker({
      failureDirectory,
      retryDelaysMs,
      sendToDestination: async (_arn, record) => {
        sent.push(record);
      },
    });
  }

  function storedRecords(): InvocationRecord[] {
    const directory = path.join(failureDirectory, 'fake');
    let names: string[];
    try {
      names = readdirSync(directory);
    } catch {
      return [];
    }
    return names.map(
      (name) => JSON.parse(readFileSync(path.join(directory, name), 'utf8')) as InvocationRecord,
    );
  }

  beforeEach(() => {
    workDir = mkdtempSync(path.join(tmpdir(), 'async-attack-'));
    recordFile = path.join(workDir, 'invocations.jsonl');
    failureDirectory = path.join(workDir, 'failed');
    sent = [];
    pool = new FunctionPool(
      {
        name: 'svc-test-fake',
        key: 'fake',
        arn: FUNCTION_ARN,
        codeDirectory: fakeCodeDirectory(),
        handler: fakeHandler('fail'),
        runtime: 'nodejs22.x',
        memorySize: 256,
        timeoutSeconds: 5,
        environment: { RECORD_FILE: recordFile, AWS_REGION: REGION },
      },
      () => {},
      { maxConcurrency: 1 },
    );
  });

  afterEach(async () => {
    await pool.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  async function failedRecord(): Promise<InvocationRecord> {
    const invoker = createInvoker([5, 5]);
    invoker.invokeAsync(
      pool,
      { id: 7 },
      { maximumRetryAttempts: 2, onFailureDestination: DESTINATION },
      () => {},
    );
    await invoker.whenIdle();
    return sent[0] as InvocationRecord;
  }

  // "Lambda function errors in Node.js": the error document has errorType, errorMessage and trace.
  it('record carries the Node.js error document fields', async () => {
    const record = await failedRecord();

    expect(Object.keys(record.responsePayload).sort()).toEqual(['errorMessage', 'errorType', 'trace']);
  });

  it('record trace starts with the error line', async () => {
    const record = await failedRecord();

    // The fake handler throws new TypeError('fake failure'); V8's stack starts with "TypeError: fake failure".
    expect(record.responsePayload.trace?.[0]).toBe('TypeError: fake failure');
  });

  it('record trace indents its stack frames', async () => {
    const record = await failedRecord();

    // As error.stack does: "    at exports.fail (...)".
    expect(record.responsePayload.trace?.[1]).toMatch(/^ {4}at /);
  });

  it('record keeps the documented top-level fields', async () => {
    const record = await failedRecord();

    expect(Object.keys(record).sort()).toEqual([
      'requestContext',
      'requestPayload',
      'responseContext',
      'responsePayload',
      'timestamp',
      'version',
    ]);
  });

  it('event older than its maximum age is not retried', async () => {
    const invoker = createInvoker([60_000]);
    invoker.invokeAsync(
      pool,
      { id: 8 },
      { maximumRetryAttempts: 2, maximumEventAgeSeconds: 1, onFailureDestination: DESTINATION },
      () => {},
    );
    await invoker.whenIdle();

    expect(sent.map((record) => record.requestContext.condition)).toEqual(['EventAgeExceeded']);
  });

  async function stopDuringRetryWait(): Promise<void> {
    const invoker = createInvoker([600_000]);
    invoker.invokeAsync(
      pool,
      { id: 9 },
      { maximumRetryAttempts: 2, onFailureDestination: DESTINATION },
      () => {},
    );
    // The first attempt has run once the fake handler recorded it; the event then waits for its retry.
    while (readInvocations(recordFile).length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await invoker.close();
  }

  it('stopping during a retry wait sends the event to the destination', async () => {
    await stopDuringRetryWait();

    expect(sent.map((record) => record.requestPayload)).toEqual([{ id: 9 }]);
  });

  it('stopping during a retry wait keeps the event in the failure folder', async () => {
    await stopDuringRetryWait();

    expect(storedRecords().map((record) => record.requestPayload)).toEqual([{ id: 9 }]);
  });

  it('event accepted after stopping is recorded', async () => {
    const invoker = createInvoker([5, 5]);
    await invoker.close();
    invoker.invokeAsync(
      pool,
      { id: 10 },
      { maximumRetryAttempts: 2, onFailureDestination: DESTINATION },
      () => {},
    );
    await invoker.whenIdle();

    expect(sent.map((record) => record.requestPayload)).toEqual([{ id: 10 }]);
  });
});

/** A fake stage: API routes and the raw bucket's S3 DELETE on one loopback server, with a configurable fault. */
interface FakeStage {
  target: SmokeTarget;
  requests: string[];
  close(): Promise<void>;
}

type FakeRoute = (request: IncomingMessage, response: ServerResponse) => boolean;

async function startFakeStage(faultyRoute: FakeRoute): Promise<FakeStage> {
  const requests: string[] = [];
  const open = new Set<ServerResponse>();
  const server: Server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    request.resume();
    request.on('end', () => {
      if (faultyRoute(request, response)) {
        open.add(response);
        return;
      }
      const url = request.url ?? '';
      if (request.method === 'PUT' && url.startsWith('/images/')) {
        response.writeHead(201, { 'Content-Type': 'application/json' }).end('{}');
      } else if (request.method === 'GET' && url.startsWith('/images/')) {
        response
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end('{"status":"done","labels":[{"name":"Dog","confidence":90}]}');
      } else if (request.method === 'DELETE' && url.startsWith('/raw-bucket/')) {
        response.writeHead(204).end();
      } else {
        response.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"not found"}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const s3 = new S3Client({
    endpoint: url,
    region: REGION,
    forcePathStyle: true,
    credentials: { ...CREDENTIALS },
  });
  return {
    target: { name: 'fake stage', apiUrl: url, apiKey: 'key', rawBucket: 'raw-bucket', s3 },
    requests,
    close: async () => {
      s3.destroy();
      for (const response of open) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('smoke test against a failing stage', () => {
  const SAMPLE = path.resolve(__dirname, '..', '..', 'samples', 'dog_bicycle_truck.jpg');
  const KEY = 'smoke/attack.jpg';
  // Far longer than the 1.5 s wait the runs below allow, so only a run that hangs reaches it.
  const HANG_GUARD_MS = 30_000;
  let stage: FakeStage | undefined;

  const options = (): SmokeOptions => ({
    sample: { body: readFileSync(SAMPLE), contentType: 'image/jpeg', name: 'attack.jpg' },
    thumbnailBox: { maxWidth: 256, maxHeight: 256 },
    waitTimeoutMs: 1500,
    pollIntervalMs: 100,
    key: KEY,
  });

  /** Runs the smoke steps, or returns 'still running' when they have not finished within the guard. */
  async function runGuarded(target: SmokeTarget): Promise<SmokeReport | 'still running'> {
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<'still running'>((resolve) => {
      timer = setTimeout(() => resolve('still running'), HANG_GUARD_MS);
    });
    const result = await Promise.race([runSmoke(target, options()), guard]);
    clearTimeout(timer);
    return result;
  }

  afterEach(async () => {
    await stage?.close();
    stage = undefined;
  });

  it('thumbnail that never appears fails the thumbnail step', async () => {
    stage = await startFakeStage(() => false);
    const report = await runGuarded(stage.target);

    expect(report === 'still running' ? report : report.failedStep).toBe('thumbnail');
  }, 60_000);

  it('thumbnail that never appears is reported as timed out', async () => {
    stage = await startFakeStage(() => false);
    const report = await runGuarded(stage.target);
    const thumbnail =
      report === 'still running' ? undefined : report.steps.find((step) => step.step === 'thumbnail');

    expect(thumbnail?.detail).toMatch(/^timed out after 1\.5 s: GET \/thumbnails\/\{key\} returned HTTP 404/);
  }, 60_000);

  it('thumbnail that never appears still deletes the upload', async () => {
    stage = await startFakeStage(() => false);
    await runGuarded(stage.target);

    expect(stage.requests.filter((line) => line.startsWith(`DELETE /raw-bucket/${KEY}?`))).toHaveLength(1);
  }, 60_000);

  const hangRecordRequests: FakeRoute = (request) =>
    request.method === 'GET' && (request.url ?? '').startsWith('/images/');

  it('record request that never answers fails the labels step', async () => {
    stage = await startFakeStage(hangRecordRequests);
    const report = await runGuarded(stage.target);

    expect(report === 'still running' ? report : report.failedStep).toBe('labels');
  }, 60_000);

  it('record request that never answers still deletes the upload', async () => {
    stage = await startFakeStage(hangRecordRequests);
    await runGuarded(stage.target);

    expect(stage.requests.filter((line) => line.startsWith(`DELETE /raw-bucket/${KEY}?`))).toHaveLength(1);
  }, 60_000);

  it('API that refuses connections names the refusal', async () => {
    stage = await startFakeStage(() => false);
    const target = stage.target;
    await stage.close();
    stage = undefined;
    const report = await runGuarded(target);
    const upload = report === 'still running' ? undefined : report.steps[0];

    expect(upload?.detail).toContain('ECONNREFUSED');
  }, 60_000);
});
