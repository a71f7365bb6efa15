import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { ensurePackaged } from '../../../local/packaging';
import {
  type Delivery,
  type LocalStack,
  type LocalStackOptions,
  startLocalStack,
} from '../../../local/stack';

/** Project root: the packaged template and zips are read from its `.serverless` folder. */
export const PROJECT_DIR = path.resolve(__dirname, '..', '..', '..');

/** The whole local pipeline on free loopback ports in a temporary folder, with clients pointed at it. */
export interface PipelineHarness {
  stack: LocalStack;
  workDir: string;
  dataDir: string;
  s3: S3Client;
  rawBucket: string;
  thumbnailBucket: string;
  /** Every event handed to a function, so a test can deliver one again. */
  deliveries: Delivery[];
  upload(key: string, body: Buffer, contentType?: string): Promise<void>;
  remove(key: string): Promise<void>;
  getItem(key: string): Promise<Record<string, unknown> | undefined>;
  readRaw(key: string): Promise<Buffer>;
  readThumbnail(key: string): Promise<Buffer>;
  /** Resolves with the error name of HeadObject on the thumbnail key, or 'found'. */
  thumbnailPresence(key: string): Promise<string>;
  close(): Promise<void>;
}

/** Packages when needed (as the e2e test does) and starts the stack with short retry delays. */
export async function startPipeline(
  prefix: string,
  overrides: Partial<LocalStackOptions> = {},
): Promise<PipelineHarness> {
  const workDir = mkdtempSync(path.join(tmpdir(), prefix));
  const dataDir = path.join(workDir, 'data');
  await ensurePackaged(PROJECT_DIR, 'local', () => {});
  const stack = await startLocalStack({
    projectDir: PROJECT_DIR,
    dataDir,
    ports: { s3: 0, dynamodb: 0, rekognition: 0, api: 0 },
    retryDelaysMs: [50, 50],
    log: () => {},
    ...overrides,
  });
  const deliveries: Delivery[] = [];
  stack.events.on('delivery', (delivery) => deliveries.push(delivery));

  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const s3 = new S3Client({
    endpoint: stack.description.endpoints.s3,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
  });
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.description.endpoints.dynamodb,
      region: 'us-east-1',
      credentials: { ...credentials },
    }),
  );
  const rawBucket = stack.description.rawBucket;
  const thumbnailBucket = stack.description.thumbnailBucket ?? '';

  const bytesOf = async (bucket: string, key: string) => {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from((await response.Body?.transformToByteArray()) ?? []);
  };

  return {
    stack,
    workDir,
    dataDir,
    s3,
    rawBucket,
    thumbnailBucket,
    deliveries,
    upload: async (key, body, contentType = 'image/jpeg') => {
      await s3.send(
        new PutObjectCommand({ Bucket: rawBucket, Key: key, Body: body, ContentType: contentType }),
      );
    },
    remove: async (key) => {
      await s3.send(new DeleteObjectCommand({ Bucket: rawBucket, Key: key }));
    },
    getItem: async (key) => {
      const response = await documents.send(
        new GetCommand({ TableName: stack.description.tableName, Key: { Id: key }, ConsistentRead: true }),
      );
      return response.Item;
    },
    readRaw: (key) => bytesOf(rawBucket, key),
    readThumbnail: (key) => bytesOf(thumbnailBucket, key),
    thumbnailPresence: (key) =>
      s3.send(new HeadObjectCommand({ Bucket: thumbnailBucket, Key: key })).then(
        () => 'found',
        (error: unknown) => (error as Error).name,
      ),
    close: async () => {
      s3.destroy();
      documents.destroy();
      await stack.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** Decoded keys of the S3 records inside a delivered SNS event. */
export function keysOfDelivery(delivery: Delivery): string[] {
  const records = (delivery.event as { Records?: { Sns?: { Message?: string } }[] }).Records ?? [];
  return records.flatMap((record) => {
    const body = JSON.parse(record.Sns?.Message ?? '{}') as {
      Records?: { s3?: { object?: { key?: string } } }[];
    };
    return (body.Records ?? []).map((s3Record) =>
      decodeURIComponent((s3Record.s3?.object?.key ?? '').replace(/\+/g, ' ')),
    );
  });
}

/** S3 event name of the first record of a delivered SNS event, such as `ObjectCreated:Put`. */
export function eventNameOfDelivery(delivery: Delivery): string {
  const record = (delivery.event as { Records?: { Sns?: { Message?: string } }[] }).Records?.[0];
  const body = JSON.parse(record?.Sns?.Message ?? '{}') as { Records?: { eventName?: string }[] };
  return body.Records?.[0]?.eventName ?? '';
}
