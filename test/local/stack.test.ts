import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { SNSEvent } from 'aws-lambda';
import { PortInUseError } from '../../local/ports';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack';
import { stackFilePath } from '../../local/stack-file';
import { fakeCodeDirectory, readInvocations } from './fake-functions/records';

const TEMPLATE_PATH = path.join(__dirname, 'fixtures', 'small-template.json');
const UPLOADS_BUCKET = 'uploads-000000000000-us-east-1';

let dataDir: string;
let recordFile: string;
let stack: LocalStack | undefined;

function stackOptions(overrides: Partial<LocalStackOptions> = {}): LocalStackOptions {
  return {
    projectDir: path.resolve(__dirname, '..', '..'),
    dataDir,
    templatePath: TEMPLATE_PATH,
    ports: { s3: 0, dynamodb: 0, rekognition: 0, api: 0 },
    rekognition: false,
    codeDirectories: { echo: fakeCodeDirectory(), defaults: fakeCodeDirectory() },
    functionEnvironment: { RECORD_FILE: recordFile },
    retryDelaysMs: [10, 10],
    log: () => {},
    ...overrides,
  };
}

function s3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

interface ReceivedRecord {
  eventName: string;
  s3: { object: { key: string; sequencer: string; size?: number; eTag?: string } };
}

/**
 * Collects the S3 records the functions received, skipping s3:TestEvent messages. Two environments run at once, so
 * the records are sorted by sequencer, which is the order of the changes in S3.
 */
function receivedRecords() {
  const received = readInvocations(recordFile).flatMap((invocation) => {
    const sns = (invocation.event as SNSEvent).Records[0]?.Sns;
    const body = JSON.parse(sns?.Message ?? '{}') as { Records?: ReceivedRecord[] };
    return (body.Records ?? []).map((record) => ({
      functionName: invocation.context.functionName,
      record,
      sns,
    }));
  });
  const sequence = (entry: (typeof received)[number]) => BigInt(`0x${entry.record.s3.object.sequencer}`);
  return received.sort((a, b) => (sequence(a) < sequence(b) ? -1 : sequence(a) > sequence(b) ? 1 : 0));
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'local-stack-'));
  recordFile = path.join(dataDir, 'invocations.jsonl');
});

afterEach(async () => {
  await stack?.close();
  stack = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

describe('startLocalStack', () => {
  describe('notifications', () => {
    let s3: S3Client;

    beforeEach(async () => {
      stack = await startLocalStack(stackOptions());
      s3 = s3Client(stack.description.endpoints.s3);
    });

    afterEach(() => s3.destroy());

    it('delivers an upload to the subscribed function', async () => {
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'a.jpg', Body: 'x' }));
      await stack?.whenIdle();
      expect(receivedRecords().map((entry) => entry.functionName)).toEqual(['svc-test-echo']);
    });

    it('encodes the key as S3 does', async () => {
      await s3.send(
        new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'uploads/VJ9B4951 - Copy (2).jpg', Body: 'x' }),
      );
      await stack?.whenIdle();
      expect(receivedRecords()[0]?.record.s3.object.key).toBe('uploads/VJ9B4951+-+Copy+%282%29.jpg');
    });

    it('names a PutObject ObjectCreated:Put', async () => {
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'a.jpg', Body: 'x' }));
      await stack?.whenIdle();
      expect(receivedRecords()[0]?.record.eventName).toBe('ObjectCreated:Put');
    });

    it('reports the size and MD5 ETag of the stored object', async () => {
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'a.jpg', Body: 'hello' }));
      await stack?.whenIdle();
      // MD5 of "hello", the ETag S3 gives a single-part upload.
      expect(receivedRecords()[0]?.record.s3.object).toMatchObject({
        size: 5,
        eTag: '5d41402abc4b2a76b9719d911017c592',
      });
    });

    it('wraps the record in an SNS notification', async () => {
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'a.jpg', Body: 'x' }));
      await stack?.whenIdle();
      expect(receivedRecords()[0]?.sns).toMatchObject({
        Type: 'Notification',
        TopicArn: 'arn:aws:sns:us-east-1:000000000000:events',
        Subject: 'Amazon S3 Notification',
        MessageAttributes: {},
      });
    });

    it('names a CopyObject ObjectCreated:Copy', async () => {
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'a.jpg', Body: 'x' }));
      await s3.send(
        new CopyObjectCommand({
          Bucket: UPLOADS_BUCKET,
          Key: 'b.jpg',
          CopySource: `${UPLOADS_BUCKET}/a.jpg`,
        }),
      );
      await stack?.whenIdle();
      expect(receivedRecords().map((entry) => entry.record.eventName)).toEqual([
        'ObjectCreated:Put',
        'ObjectCreated:Copy',
      ]);
    });

    it('names a completed multipart upload ObjectCreated:CompleteMultipartUpload', async () => {
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: UPLOADS_BUCKET, Key: 'big.jpg' }),
      );
      const part = await s3.send(
        new UploadPartCommand({
          Bucket: UPLOADS_BUCKET,
          Key: 'big.jpg',
          UploadId,
          PartNumber: 1,
          Body: 'part',
        }),
      );
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: UPLOADS_BUCKET,
          Key: 'big.jpg',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
      await stack?.whenIdle();
      expect(receivedRecords().map((entry) => entry.record.eventName)).toEqual([
        'ObjectCreated:CompleteMultipartUpload',
      ]);
    });

    it('sends ObjectRemoved:Delete for a deleted key under the filter prefix', async () => {
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'photos/a.jpg', Body: 'x' }));
      await s3.send(new DeleteObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'photos/a.jpg' }));
      await stack?.whenIdle();
      expect(receivedRecords()[1]?.record.eventName).toBe('ObjectRemoved:Delete');
    });

    it('leaves size and eTag out of a removal', async () => {
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'photos/a.jpg', Body: 'x' }));
      await s3.send(new DeleteObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'photos/a.jpg' }));
      await stack?.whenIdle();
      expect(Object.keys(receivedRecords()[1]?.record.s3.object ?? {}).sort()).toEqual(['key', 'sequencer']);
    });

    it('skips removals outside the filter prefix', async () => {
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'other/a.jpg', Body: 'x' }));
      await s3.send(new DeleteObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'other/a.jpg' }));
      await stack?.whenIdle();
      expect(receivedRecords().map((entry) => entry.record.eventName)).toEqual(['ObjectCreated:Put']);
    });

    it('sends one removal per existing key of a multi-object delete', async () => {
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'photos/1.jpg', Body: 'x' }));
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'photos/2.jpg', Body: 'x' }));
      await s3.send(
        new DeleteObjectsCommand({
          Bucket: UPLOADS_BUCKET,
          Delete: {
            Objects: [{ Key: 'photos/1.jpg' }, { Key: 'photos/2.jpg' }, { Key: 'photos/absent.jpg' }],
          },
        }),
      );
      await stack?.whenIdle();
      const removed = receivedRecords()
        .filter((entry) => entry.record.eventName === 'ObjectRemoved:Delete')
        .map((entry) => entry.record.s3.object.key)
        .sort();
      expect(removed).toEqual(['photos/1.jpg', 'photos/2.jpg']);
    });

    it('gives later events on a key a greater sequencer', async () => {
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'photos/a.jpg', Body: 'first' }));
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'photos/a.jpg', Body: 'second' }));
      await s3.send(new DeleteObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'photos/a.jpg' }));
      await stack?.whenIdle();
      // Identify each event by its content (the ETag is the MD5 of the body), not by arrival order.
      const records = receivedRecords().map((entry) => entry.record);
      const sequencerOf = (match: (record: ReceivedRecord) => boolean) =>
        BigInt(`0x${records.find(match)?.s3.object.sequencer ?? '0'}`);
      const first = sequencerOf((record) => record.s3.object.eTag === md5('first'));
      const second = sequencerOf((record) => record.s3.object.eTag === md5('second'));
      const removal = sequencerOf((record) => record.eventName === 'ObjectRemoved:Delete');
      expect(first < second).toBe(true);
      expect(second < removal).toBe(true);
    });

    it('sends nothing for uploads to a bucket without notifications', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'svc-test-resultsbucket', Key: 'a.jpg', Body: 'x' }));
      await stack?.whenIdle();
      expect(receivedRecords()).toHaveLength(0);
    });

    it('rejects requests signed with other credentials', async () => {
      const stranger = new S3Client({
        endpoint: stack?.description.endpoints.s3,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'AKIAOTHER', secretAccessKey: 'other' },
      });
      await expect(
        stranger.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'a.jpg', Body: 'x' })),
      ).rejects.toThrow(/InvalidAccessKeyId|does not exist/);
      stranger.destroy();
    });
  });

  describe('function environment', () => {
    it('points the SDK at the local endpoints', async () => {
      stack = await startLocalStack(stackOptions());
      const s3 = s3Client(stack.description.endpoints.s3);
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'a.jpg', Body: 'x' }));
      s3.destroy();
      await stack.whenIdle();
      const env = readInvocations(recordFile)[0]?.env ?? {};
      expect({
        s3: env.AWS_ENDPOINT_URL_S3,
        dynamodb: env.AWS_ENDPOINT_URL_DYNAMODB,
        pathStyle: env.S3_FORCE_PATH_STYLE,
      }).toEqual({
        s3: stack.description.endpoints.s3,
        dynamodb: stack.description.endpoints.dynamodb,
        pathStyle: 'true',
      });
    });

    it('sets the Lambda variables from the template', async () => {
      stack = await startLocalStack(stackOptions());
      const s3 = s3Client(stack.description.endpoints.s3);
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'a.jpg', Body: 'x' }));
      s3.destroy();
      await stack.whenIdle();
      const env = readInvocations(recordFile)[0]?.env ?? {};
      expect([
        env.AWS_REGION,
        env.AWS_LAMBDA_FUNCTION_NAME,
        env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
        env.LITERAL,
      ]).toEqual(['us-east-1', 'svc-test-echo', '256', 'plain']);
    });

    it('uses fake credentials', async () => {
      stack = await startLocalStack(stackOptions());
      const s3 = s3Client(stack.description.endpoints.s3);
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'a.jpg', Body: 'x' }));
      s3.destroy();
      await stack.whenIdle();
      const env = readInvocations(recordFile)[0]?.env ?? {};
      expect([env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_EC2_METADATA_DISABLED]).toEqual([
        'test',
        'test',
        'true',
      ]);
    });
  });

  describe('s3:TestEvent', () => {
    function testEvents() {
      return readInvocations(recordFile).filter((invocation) => {
        const message = (invocation.event as SNSEvent).Records[0]?.Sns.Message ?? '{}';
        return (JSON.parse(message) as { Event?: string }).Event === 's3:TestEvent';
      });
    }

    it('is sent on the first start', async () => {
      stack = await startLocalStack(stackOptions());
      await stack.whenIdle();
      expect(testEvents()).toHaveLength(1);
    });

    it('is not sent again for the same configuration', async () => {
      stack = await startLocalStack(stackOptions());
      await stack.whenIdle();
      await stack.close();
      stack = await startLocalStack(stackOptions());
      await stack.whenIdle();
      expect(testEvents()).toHaveLength(1);
    });
  });

  describe('lifecycle', () => {
    it('writes stack.json while running', async () => {
      stack = await startLocalStack(stackOptions());
      expect(existsSync(stackFilePath(dataDir))).toBe(true);
    });

    it('removes stack.json on close', async () => {
      stack = await startLocalStack(stackOptions());
      await stack.close();
      expect(existsSync(stackFilePath(dataDir))).toBe(false);
    });

    it('keeps objects between runs', async () => {
      stack = await startLocalStack(stackOptions());
      let s3 = s3Client(stack.description.endpoints.s3);
      await s3.send(new PutObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'kept.txt', Body: 'still here' }));
      s3.destroy();
      await stack.whenIdle();
      await stack.close();

      stack = await startLocalStack(stackOptions());
      s3 = s3Client(stack.description.endpoints.s3);
      const object = await s3.send(new GetObjectCommand({ Bucket: UPLOADS_BUCKET, Key: 'kept.txt' }));
      const body = await object.Body?.transformToString();
      s3.destroy();
      expect(body).toBe('still here');
    });

    it('names a port that is taken', async () => {
      const blocker: Server = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const { port } = blocker.address() as AddressInfo;
      try {
        await expect(startLocalStack(stackOptions({ ports: { s3: port, dynamodb: 0 } }))).rejects.toThrow(
          new RegExp(`port ${port} for S3 is already in use`),
        );
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
    });

    it('raises PortInUseError for a taken port', async () => {
      const blocker: Server = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const { port } = blocker.address() as AddressInfo;
      try {
        await expect(
          startLocalStack(stackOptions({ ports: { s3: 0, dynamodb: port } })),
        ).rejects.toBeInstanceOf(PortInUseError);
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
    });
  });
});
