import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import sharp from 'sharp';
import { keysOfStoredEvent } from '../../local/batch/image-results';
import { ensurePackaged } from '../../local/packaging';
import { type Delivery, type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack';

/** Project root: the packaged template and zips are read from its `.serverless` folder. */
export const PROJECT_DIR = path.resolve(__dirname, '..', '..');

/** An API response with its body read once: parsed JSON when it is JSON, else undefined. */
export interface ApiResponse {
  status: number;
  contentType: string | null;
  json: unknown;
  text: string;
}

/**
 * The local stack on free loopback ports in a temporary folder, driven through its codeless API as a client would,
 * with S3 and DynamoDB clients for reading back what the API and the functions stored.
 */
export interface ApiStack {
  stack: LocalStack;
  workDir: string;
  api: { url: string; apiKey: string };
  s3: S3Client;
  documents: DynamoDBDocumentClient;
  rawBucket: string;
  thumbnailBucket: string;
  /** Every event handed to a function since the start, so a test can deliver one again. */
  deliveries: Delivery[];
  /** Sends a request to the API with the API key; `route` starts with `/`, below the stage. */
  request(route: string, init?: RequestInit): Promise<ApiResponse>;
  /** `PUT /images/{key}` with the key percent-encoded as one path segment (`/` as %2F), as docs/api.md specifies. */
  putImage(key: string, body: Buffer, contentType?: string): Promise<ApiResponse>;
  /** `GET /images/{key}`: the image's record as the API lists it. */
  getImage(key: string): Promise<ApiResponse>;
  /** The table item by `Id`, read with DynamoDB GetItem (strongly consistent). */
  getItem(key: string): Promise<Record<string, unknown> | undefined>;
  /** Every key in a bucket, through as many ListObjectsV2 pages as it takes. */
  listKeys(bucket: string): Promise<string[]>;
  /** The thumbnail object's bytes and ETag, or undefined when there is none. */
  readThumbnail(key: string): Promise<{ bytes: Buffer; eTag: string | undefined } | undefined>;
  /** Resolves with `found`, or the error name of HeadObject on the thumbnail key (`NotFound`). */
  thumbnailPresence(key: string): Promise<string>;
  /** Deletes an original straight from the raw bucket: the API has no delete route. */
  deleteOriginal(key: string): Promise<void>;
  close(): Promise<void>;
}

async function readResponse(response: Response): Promise<ApiResponse> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, contentType: response.headers.get('content-type'), json, text };
}

/** Packages the service when its sources changed (as the other end-to-end tests do) and starts the stack. */
export async function startApiStack(
  prefix: string,
  overrides: Partial<LocalStackOptions> = {},
): Promise<ApiStack> {
  const workDir = mkdtempSync(path.join(tmpdir(), prefix));
  let stack: LocalStack;
  try {
    await ensurePackaged(PROJECT_DIR, 'local', () => {});
    stack = await startLocalStack({
      projectDir: PROJECT_DIR,
      dataDir: path.join(workDir, 'data'),
      ports: { s3: 0, dynamodb: 0, rekognition: 0, api: 0 },
      retryDelaysMs: [50, 50],
      writeStackFile: false,
      log: () => {},
      ...overrides,
    });
  } catch (error) {
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
  const api = stack.description.api;
  if (api === null) {
    await stack.close();
    rmSync(workDir, { recursive: true, force: true });
    throw new Error(
      'the compiled template has no RestApi: run "npm run package:local" and check resources/api.yml',
    );
  }
  const deliveries: Delivery[] = [];
  stack.events.on('delivery', (delivery) => deliveries.push(delivery));

  const s3 = new S3Client({
    endpoint: stack.description.endpoints.s3,
    region: stack.description.region,
    forcePathStyle: true,
    credentials: { ...stack.description.credentials },
  });
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.description.endpoints.dynamodb,
      region: stack.description.region,
      credentials: { ...stack.description.credentials },
    }),
  );
  const rawBucket = stack.description.rawBucket;
  const thumbnailBucket = stack.description.thumbnailBucket ?? '';

  const request = async (route: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('x-api-key', api.apiKey);
    return readResponse(await fetch(`${api.url}${route}`, { ...init, headers }));
  };

  return {
    stack,
    workDir,
    api,
    s3,
    documents,
    rawBucket,
    thumbnailBucket,
    deliveries,
    request,
    putImage: (key, body, contentType = 'image/jpeg') =>
      request(`/images/${encodeURIComponent(key)}`, {
        method: 'PUT',
        headers: { 'Content-Type': contentType },
        body,
      }),
    getImage: (key) => request(`/images/${encodeURIComponent(key)}`),
    getItem: async (key) => {
      const response = await documents.send(
        new GetCommand({ TableName: stack.description.tableName, Key: { Id: key }, ConsistentRead: true }),
      );
      return response.Item;
    },
    listKeys: async (bucket) => {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys;
    },
    readThumbnail: async (key) => {
      try {
        const response = await s3.send(new GetObjectCommand({ Bucket: thumbnailBucket, Key: key }));
        const bytes = Buffer.from((await response.Body?.transformToByteArray()) ?? []);
        return { bytes, eTag: response.ETag };
      } catch (error) {
        if ((error as Error).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    thumbnailPresence: (key) =>
      s3.send(new HeadObjectCommand({ Bucket: thumbnailBucket, Key: key })).then(
        () => 'found',
        (error: unknown) => (error as Error).name,
      ),
    deleteOriginal: async (key) => {
      await s3.send(new DeleteObjectCommand({ Bucket: rawBucket, Key: key }));
    },
    close: async () => {
      s3.destroy();
      documents.destroy();
      await stack.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** S3 event name of the first record of a delivered SNS event, such as `ObjectCreated:Put`. */
export function eventNameOf(delivery: Delivery): string {
  const record = (delivery.event as { Records?: { Sns?: { Message?: string } }[] }).Records?.[0];
  const body = JSON.parse(record?.Sns?.Message ?? '{}') as { Records?: { eventName?: string }[] };
  return body.Records?.[0]?.eventName ?? '';
}

/** S3 sequencer of the first record of a delivered SNS event. */
export function sequencerOf(delivery: Delivery): string {
  const record = (delivery.event as { Records?: { Sns?: { Message?: string } }[] }).Records?.[0];
  const body = JSON.parse(record?.Sns?.Message ?? '{}') as {
    Records?: { s3?: { object?: { sequencer?: string } } }[];
  };
  return body.Records?.[0]?.s3?.object?.sequencer ?? '';
}

/** Selects the deliveries of one key whose S3 event name starts with `eventPrefix` (`ObjectCreated`, `ObjectRemoved`). */
export function deliveriesOf(deliveries: readonly Delivery[], key: string, eventPrefix: string): Delivery[] {
  return deliveries.filter(
    (delivery) =>
      keysOfStoredEvent(delivery.event).includes(key) && eventNameOf(delivery).startsWith(eventPrefix),
  );
}

/** Computes the ETag S3 gives an object stored by a single PUT: the hexadecimal MD5 of its bytes. */
export function md5Hex(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** Encodes a plain-colour JPEG of the given size with sharp. */
export function solidJpeg(width: number, height: number, colour: string): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .jpeg()
    .toBuffer();
}

/** Width, height and mean red, green and blue (0 to 255) of an image, read with sharp. */
export async function imageFacts(
  bytes: Buffer,
): Promise<{ width: number; height: number; red: number; green: number; blue: number }> {
  const { width = 0, height = 0 } = await sharp(bytes).metadata();
  const { channels } = await sharp(bytes).stats();
  return {
    width,
    height,
    red: channels[0]?.mean ?? 0,
    green: channels[1]?.mean ?? 0,
    blue: channels[2]?.mean ?? 0,
  };
}
