import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { S3EventRecord, SNSEvent } from 'aws-lambda';
import sharp from 'sharp';
import { keysOfStoredEvent } from '../../local/batch/image-results';
import { collectInputFiles } from '../../local/batch/input-files';
import type { ImageReport } from '../../local/batch/report';
import { runBatch } from '../../local/batch/run-batch';
import { ensurePackaged } from '../../local/packaging';
import { type Delivery, type LocalStack, startLocalStack } from '../../local/stack';
import { fixture } from '../support/shared-images';

const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const TSX_CLI = path.join(PROJECT_DIR, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const execFileAsync = promisify(execFile);
const SAMPLES = ['dog_bicycle_truck.jpg', 'person_dog_horse.jpg', 'coffee_cup.png', 'astronaut_portrait.png'];
// EXIF orientations 1 (as stored), 6 (rotate 90° clockwise) and 8 (rotate 270°) of the same landscape photo.
const ORIENTED = ['Landscape_1.jpg', 'Landscape_6.jpg', 'Landscape_8.jpg'];

let workDir: string;
let stack: LocalStack;
let s3: S3Client;
let documents: DynamoDBDocumentClient;
let reports: ImageReport[];
const deliveries: Delivery[] = [];

function report(key: string): ImageReport | undefined {
  return reports.find((entry) => entry.key === key);
}

async function getItem(key: string): Promise<Record<string, unknown> | undefined> {
  const response = await documents.send(
    new GetCommand({ TableName: stack.description.tableName, Key: { Id: key }, ConsistentRead: true }),
  );
  return response.Item;
}

async function thumbnailBytes(key: string): Promise<Buffer> {
  const response = await s3.send(
    new GetObjectCommand({ Bucket: stack.description.thumbnailBucket ?? '', Key: key }),
  );
  return Buffer.from((await response.Body?.transformToByteArray()) ?? []);
}

/** Width and height of an image as a viewer shows it, after applying its EXIF orientation (read by sharp). */
async function uprightSize(file: string): Promise<{ width: number; height: number }> {
  const { width = 0, height = 0, orientation = 1 } = await sharp(file).metadata();
  return orientation >= 5 ? { width: height, height: width } : { width, height };
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'pipeline-e2e-'));
  const inputDir = path.join(workDir, 'input');
  mkdirSync(path.join(inputDir, 'orientation'), { recursive: true });
  mkdirSync(path.join(inputDir, 'broken'), { recursive: true });
  for (const name of SAMPLES)
    copyFileSync(path.join(PROJECT_DIR, 'samples', name), path.join(inputDir, name));
  for (const name of ORIENTED) {
    copyFileSync(fixture(`orientation/${name}`), path.join(inputDir, 'orientation', name));
  }
  copyFileSync(fixture('broken/empty.jpg'), path.join(inputDir, 'broken', 'empty.jpg'));
  writeFileSync(path.join(inputDir, 'notes.txt'), 'not an image\n');

  await ensurePackaged(PROJECT_DIR, 'local', () => {});
  stack = await startLocalStack({
    projectDir: PROJECT_DIR,
    dataDir: path.join(workDir, 'data'),
    ports: { s3: 0, dynamodb: 0, rekognition: 0, api: 0 },
    retryDelaysMs: [50, 50],
    log: () => {},
  });
  stack.events.on('delivery', (delivery) => deliveries.push(delivery));

  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  s3 = new S3Client({
    endpoint: stack.description.endpoints.s3,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
  });
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.description.endpoints.dynamodb,
      region: 'us-east-1',
      credentials: { ...credentials },
    }),
  );

  reports = await runBatch({
    stack: stack.description,
    inputs: await collectInputFiles([inputDir], false),
    outDir: path.join(workDir, 'thumbnails'),
    timeoutMs: 90_000,
  });
  await stack.whenIdle();
}, 300_000);

afterAll(async () => {
  s3?.destroy();
  documents?.destroy();
  await stack?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('local pipeline', () => {
  describe('sample photos', () => {
    it.each(SAMPLES)('finishes %s as done', (key) => {
      expect(report(key)?.status).toBe('done');
    });

    it.each(SAMPLES)('records labels for %s', async (key) => {
      const item = await getItem(key);
      expect((item?.Labels as unknown[] | undefined)?.length ?? 0).toBeGreaterThan(0);
    });

    it.each(SAMPLES)('records the thumbnail attributes of %s', async (key) => {
      const item = await getItem(key);
      expect(item?.Thumbnail).toMatchObject({ Bucket: stack.description.thumbnailBucket, Key: key });
    });

    it.each(SAMPLES)('stores a thumbnail of %s within 256 px', async (key) => {
      const { width = 0, height = 0 } = await sharp(await thumbnailBytes(key)).metadata();
      expect(Math.max(width, height)).toBe(256);
    });

    it('finds a dog in dog_bicycle_truck.jpg', () => {
      expect(report('dog_bicycle_truck.jpg')?.labels.map((label) => label.name)).toContain('Dog');
    });

    it('finds a person in person_dog_horse.jpg', () => {
      expect(report('person_dog_horse.jpg')?.labels.map((label) => label.name)).toContain('Person');
    });
  });

  describe('orientation', () => {
    it.each(ORIENTED)('writes an upright thumbnail of %s', async (name) => {
      const expected = await uprightSize(fixture(`orientation/${name}`));
      const { width = 0, height = 0 } = await sharp(await thumbnailBytes(`orientation/${name}`)).metadata();
      expect(width > height).toBe(expected.width > expected.height);
    });

    it.each(ORIENTED)('keeps the aspect ratio of %s', async (name) => {
      const expected = await uprightSize(fixture(`orientation/${name}`));
      const { width = 0, height = 0 } = await sharp(await thumbnailBytes(`orientation/${name}`)).metadata();
      expect(Math.abs(width / height - expected.width / expected.height)).toBeLessThan(0.02);
    });
  });

  describe('bad input', () => {
    it.each(['broken/empty.jpg', 'notes.txt'])('records %s as failed', (key) => {
      expect(report(key)?.status).toBe('failed');
    });

    it.each(['broken/empty.jpg', 'notes.txt'])('gives a reason for %s', (key) => {
      expect(report(key)?.error ?? '').not.toBe('');
    });

    // Both functions must record their own failure, so neither ends in Lambda's retries and failure store.
    it.each(['broken/empty.jpg', 'notes.txt'])('records both stages of %s as failed', async (key) => {
      const item = await getItem(key);

      expect(item?.ThumbnailStatus).toBe('failed');
      expect(item?.LabelsStatus).toBe('failed');
    });

    it('names the empty file in the label failure', async () => {
      expect((await getItem('broken/empty.jpg'))?.LabelsError).toMatch(/"broken\/empty.jpg".*empty/);
    });

    it('writes no thumbnail for a text file', async () => {
      await expect(
        s3.send(new HeadObjectCommand({ Bucket: stack.description.thumbnailBucket ?? '', Key: 'notes.txt' })),
      ).rejects.toMatchObject({ name: 'NotFound' });
    });

    it('times out no image', () => {
      expect(reports.filter((entry) => entry.timedOut).map((entry) => entry.key)).toEqual([]);
    });
  });

  describe('duplicate delivery', () => {
    const key = 'coffee_cup.png';
    const stable = (item: Record<string, unknown> | undefined) => {
      const { UpdatedAt: _u, ThumbnailUpdatedAt: _t, LabelsUpdatedAt: _l, ...rest } = item ?? {};
      return rest;
    };
    const headThumbnail = () =>
      s3.send(new HeadObjectCommand({ Bucket: stack.description.thumbnailBucket ?? '', Key: key }));
    let originals: Delivery[];
    let itemBefore: Record<string, unknown>;
    let eTagBefore: string | undefined;

    beforeAll(async () => {
      itemBefore = stable(await getItem(key));
      eTagBefore = (await headThumbnail()).ETag;
      originals = deliveries.filter((delivery) => keysOfStoredEvent(delivery.event).includes(key));
      for (const delivery of originals) stack.deliver(delivery.functionName, delivery.event);
      await stack.whenIdle();
    });

    it('delivers the notification to both functions again', () => {
      expect(originals.map((delivery) => delivery.functionName).sort()).toEqual(
        stack.functions.map((fn) => fn.model.name).sort(),
      );
    });

    it('leaves the item as it was', async () => {
      expect(stable(await getItem(key))).toEqual(itemBefore);
    });

    it('leaves the thumbnail as it was', async () => {
      expect((await headThumbnail()).ETag).toBe(eTagBefore);
    });
  });

  describe('generated event for sls invoke local', () => {
    const key = 'person_dog_horse.jpg';
    let event: SNSEvent;
    let sequencerBefore: unknown;

    beforeAll(async () => {
      sequencerBefore = (await getItem(key))?.ThumbnailSequencer;
      const { stdout } = await execFileAsync(
        process.execPath,
        [
          TSX_CLI,
          path.join(PROJECT_DIR, 'local', 'make-event.ts'),
          key,
          '--data-dir',
          stack.description.dataDir,
        ],
        { cwd: PROJECT_DIR },
      );
      event = JSON.parse(stdout) as SNSEvent;
      const createThumbnail = stack.functions.find((fn) => fn.model.key === 'createThumbnail');
      stack.deliver(createThumbnail?.model.name ?? '', event);
      await stack.whenIdle();
    }, 60_000);

    it('names the key as S3 encodes it', () => {
      const message = JSON.parse(event.Records[0]?.Sns.Message ?? '{}') as { Records: S3EventRecord[] };

      expect(message.Records[0]?.s3.object.key).toBe('person_dog_horse.jpg');
    });

    it('is processed as a newer event than the upload', async () => {
      const sequencerAfter = (await getItem(key))?.ThumbnailSequencer;

      expect(typeof sequencerAfter).toBe('string');
      expect(String(sequencerAfter) > String(sequencerBefore)).toBe(true);
    });
  });

  describe('compiled template', () => {
    it('subscribes both functions to the raw bucket notifications', () => {
      const raw = stack.model.buckets.find((bucket) => bucket.name === stack.description.rawBucket);
      const topicArns = new Set(
        raw?.notifications.map((notification) =>
          notification.destination.kind === 'topic' ? notification.destination.topicArn : '',
        ),
      );
      const subscribed = stack.model.topics
        .filter((topic) => topicArns.has(topic.arn))
        .flatMap((topic) => topic.subscriptions.map((subscription) => subscription.functionName));
      expect(subscribed.sort()).toEqual(stack.functions.map((fn) => fn.model.name).sort());
    });

    it('notifies on creation and removal', () => {
      const raw = stack.model.buckets.find((bucket) => bucket.name === stack.description.rawBucket);
      expect(raw?.notifications.flatMap((notification) => notification.events).sort()).toEqual([
        's3:ObjectCreated:*',
        's3:ObjectRemoved:*',
      ]);
    });

    it('keys the table by Id', () => {
      expect(stack.model.tables[0]?.definition.KeySchema).toEqual([{ AttributeName: 'Id', KeyType: 'HASH' }]);
    });

    it("gives the functions the raw bucket's name", () => {
      expect(stack.functions.map((fn) => fn.model.environment.RAW_BUCKET_NAME)).toEqual(
        stack.functions.map(() => stack.description.rawBucket),
      );
    });
  });

  describe('delete', () => {
    const key = 'person_dog_horse.jpg';

    beforeAll(async () => {
      await s3.send(new DeleteObjectCommand({ Bucket: stack.description.rawBucket, Key: key }));
      await stack.whenIdle();
    });

    it('removes the item', async () => {
      expect(await getItem(key)).toBeUndefined();
    });

    it('removes the thumbnail', async () => {
      await expect(
        s3.send(new HeadObjectCommand({ Bucket: stack.description.thumbnailBucket ?? '', Key: key })),
      ).rejects.toMatchObject({ name: 'NotFound' });
    });
  });

  describe('re-upload', () => {
    it('processes a key again after it was deleted', async () => {
      const key = 'astronaut_portrait.png';
      await s3.send(new DeleteObjectCommand({ Bucket: stack.description.rawBucket, Key: key }));
      await stack.whenIdle();
      await s3.send(
        new PutObjectCommand({
          Bucket: stack.description.rawBucket,
          Key: key,
          Body: await sharp(path.join(PROJECT_DIR, 'samples', key)).toBuffer(),
          ContentType: 'image/png',
        }),
      );
      await stack.whenIdle();
      const item = await getItem(key);
      expect([item?.ThumbnailStatus, item?.LabelsStatus]).toEqual(['done', 'done']);
    });
  });
});
