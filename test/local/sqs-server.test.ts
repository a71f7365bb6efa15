import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  PurgeQueueCommand,
  type QueueAttributeName,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { md5OfMessageAttributes } from '../../local/sqs/message-digest';
import { type LocalSqsServer, startSqsServer } from '../../local/sqs/sqs-server';

const ACCOUNT_ID = '000000000000';
const REGION = 'eu-west-1';
const QUEUE = 'test-failed-invocations';

let workDir: string;
let server: LocalSqsServer;
let sqs: SQSClient;
let queueUrl: string;

function client(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

async function start(directory = path.join(workDir, 'sqs')): Promise<LocalSqsServer> {
  return startSqsServer({
    port: 0,
    region: REGION,
    accountId: ACCOUNT_ID,
    directory,
    queues: [{ name: QUEUE }],
  });
}

async function attribute(name: QueueAttributeName): Promise<string | undefined> {
  const response = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [name] }),
  );
  return response.Attributes?.[name];
}

beforeEach(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'sqs-server-'));
  server = await start();
  sqs = client(server.endpoint);
  queueUrl = server.queueUrl(QUEUE);
});

afterEach(async () => {
  sqs.destroy();
  await server.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('local SQS endpoint', () => {
  it('GetQueueUrl returns the URL of a queue created at start', async () => {
    const response = await sqs.send(new GetQueueUrlCommand({ QueueName: QUEUE }));

    expect(response.QueueUrl).toBe(`${server.endpoint}/${ACCOUNT_ID}/${QUEUE}`);
  });

  it('GetQueueUrl rejects an unknown queue as QueueDoesNotExist', async () => {
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'missing' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
  });

  it('SendMessage returns the MD5 of the body', async () => {
    const body = '{"hello":"world"}';
    const response = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));

    expect(response.MD5OfMessageBody).toBe(createHash('md5').update(body).digest('hex'));
  });

  it('ReceiveMessage returns the body that was sent', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'first message' }));
    const response = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));

    expect(response.Messages?.map((message) => message.Body)).toEqual(['first message']);
  });

  it('ReceiveMessage returns at most MaxNumberOfMessages', async () => {
    for (const body of ['a', 'b', 'c']) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    }
    const response = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 2 }),
    );

    expect(response.Messages).toHaveLength(2);
  });

  it('received message stays hidden during its visibility timeout', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'hidden' }));
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 30 }));
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));

    expect(again.Messages ?? []).toEqual([]);
  });

  it('message with visibility timeout 0 is received again with a higher receive count', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'again' }));
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0 }));
    const again = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        VisibilityTimeout: 0,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );

    expect(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('DeleteMessage removes the message for good', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'delete me' }));
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0 }));
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: received.Messages?.[0]?.ReceiptHandle }),
    );

    expect(await attribute('ApproximateNumberOfMessages')).toBe('0');
  });

  it('DeleteMessage rejects a malformed receipt handle', async () => {
    await expect(
      sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: 'not-a-handle' })),
    ).rejects.toMatchObject({ name: 'ReceiptHandleIsInvalid' });
  });

  it('GetQueueAttributes counts visible and in-flight messages', async () => {
    for (const body of ['a', 'b', 'c']) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    }
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 30 }));

    expect([
      await attribute('ApproximateNumberOfMessages'),
      await attribute('ApproximateNumberOfMessagesNotVisible'),
    ]).toEqual(['2', '1']);
  });

  it('GetQueueAttributes returns the queue ARN', async () => {
    expect(await attribute('QueueArn')).toBe(`arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${QUEUE}`);
  });

  it('PurgeQueue removes every message', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'a' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'b' }));
    await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));

    expect(await attribute('ApproximateNumberOfMessages')).toBe('0');
  });

  it('long poll returns a message sent while it waits', async () => {
    const polling = sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 5 }));
    server.sendMessage(QUEUE, 'late message');

    expect((await polling).Messages?.map((message) => message.Body)).toEqual(['late message']);
  });

  it('message attributes arrive as they were sent', async () => {
    const attributes = {
      ErrorCode: { DataType: 'Number', StringValue: '500' },
      RequestID: { DataType: 'String', StringValue: 'abc' },
    };
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x', MessageAttributes: attributes }),
    );
    const response = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageAttributeNames: ['All'] }),
    );

    expect(response.Messages?.[0]?.MessageAttributes).toEqual(attributes);
  });

  it('CreateQueue makes a queue that GetQueueUrl finds', async () => {
    await sqs.send(new CreateQueueCommand({ QueueName: 'created-later' }));
    const response = await sqs.send(new GetQueueUrlCommand({ QueueName: 'created-later' }));

    expect(response.QueueUrl).toBe(server.queueUrl('created-later'));
  });

  it('messages survive a restart with the same folder', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'kept' }));
    await server.close();
    server = await start();
    sqs.destroy();
    sqs = client(server.endpoint);
    const response = await sqs.send(new ReceiveMessageCommand({ QueueUrl: server.queueUrl(QUEUE) }));

    expect(response.Messages?.map((message) => message.Body)).toEqual(['kept']);
  });

  it('unsupported action is rejected with its name', async () => {
    const response = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'X-Amz-Target': 'AmazonSQS.TagQueue', 'Content-Type': 'application/x-amz-json-1.0' },
      body: '{}',
    });

    expect(((await response.json()) as { message: string }).message).toContain('AmazonSQS.TagQueue');
  });
});

describe('md5OfMessageAttributes', () => {
  it('encodes a string attribute as the SQS guide describes', () => {
    // Computed by hand from the documented encoding: name, type, transport byte 1, value, each length-prefixed.
    const encoded = Buffer.concat([
      Buffer.from([0, 0, 0, 4]),
      Buffer.from('Name'),
      Buffer.from([0, 0, 0, 6]),
      Buffer.from('String'),
      Buffer.from([1]),
      Buffer.from([0, 0, 0, 3]),
      Buffer.from('Bob'),
    ]);

    expect(md5OfMessageAttributes({ Name: { DataType: 'String', StringValue: 'Bob' } })).toBe(
      createHash('md5').update(encoded).digest('hex'),
    );
  });
});
