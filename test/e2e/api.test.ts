import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import sharp from 'sharp';
import { collectInputFiles } from '../../local/batch/input-files';
import type { ImageReport } from '../../local/batch/report';
import { runBatch } from '../../local/batch/run-batch';
import { ensurePackaged } from '../../local/packaging';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { fixture } from '../support/shared-images';

const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const PHOTO = fixture('orientation/Landscape_6.jpg');
// The client sends `/` inside a key as %2F, so the key stays one path parameter (docs/api.md).
const NESTED_KEY = 'trips/2026 café/landscape.jpg';
const SEEDED_ITEMS = 2000;

let workDir: string;
let stack: LocalStack;
let s3: S3Client;
let api: { url: string; apiKey: string };

function request(route: string, init: RequestInit = {}, withKey = true): Promise<Response> {
  const headers = new Headers(init.headers);
  if (withKey) headers.set('x-api-key', api.apiKey);
  return fetch(`${api.url}${route}`, { ...init, headers });
}

async function waitForStatus(key: string, limitMs = 60_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const response = await request(`/images/${encodeURIComponent(key)}`);
    const body = (await response.json()) as Record<string, unknown>;
    if (response.status === 200 && body.status !== 'pending') return body;
    if (Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'api-e2e-'));
  await ensurePackaged(PROJECT_DIR, 'local', () => {});
  stack = await startLocalStack({
    projectDir: PROJECT_DIR,
    dataDir: path.join(workDir, 'data'),
    ports: { s3: 0, dynamodb: 0, rekognition: 0, api: 0 },
    retryDelaysMs: [50, 50],
    log: () => {},
  });
  if (stack.description.api === null) throw new Error('the compiled template has no RestApi');
  api = stack.description.api;
  s3 = new S3Client({
    endpoint: stack.description.endpoints.s3,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: stack.description.credentials,
  });
}, 300_000);

afterAll(async () => {
  s3?.destroy();
  await stack?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('codeless API upload', () => {
  const photo = readFileSync(PHOTO);
  let uploadStatus: number;
  let uploadBody: unknown;

  beforeAll(async () => {
    const response = await request(`/images/${encodeURIComponent(NESTED_KEY)}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'image/jpeg' },
      body: photo,
    });
    uploadStatus = response.status;
    uploadBody = await response.json();
  });

  it('answers 201 with the key', () => {
    expect(uploadStatus).toBe(201);
    expect(uploadBody).toEqual({ key: NESTED_KEY });
  });

  it('stores the exact bytes under the intended key', async () => {
    const stored = await s3.send(
      new GetObjectCommand({ Bucket: stack.description.rawBucket, Key: NESTED_KEY }),
    );
    const bytes = Buffer.from((await stored.Body?.transformToByteArray()) ?? []);

    expect(bytes.length).toBe(photo.length);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(
      createHash('sha256').update(photo).digest('hex'),
    );
    expect(stored.ContentType).toBe('image/jpeg');
  });

  it('lists the processed image as done', async () => {
    const item = await waitForStatus(NESTED_KEY);

    expect(item.id).toBe(NESTED_KEY);
    expect(item.status).toBe('done');
  });

  it('serves the upright thumbnail as a JPEG', async () => {
    await waitForStatus(NESTED_KEY);
    const response = await request(`/thumbnails/${encodeURIComponent(NESTED_KEY)}`, {
      headers: { Accept: 'image/jpeg' },
    });
    const metadata = await sharp(Buffer.from(await response.arrayBuffer())).metadata();

    expect(response.headers.get('content-type')).toBe('image/jpeg');
    // Landscape_6.jpg is stored 1200x1800 with EXIF orientation 6, so it displays 1800x1200 (corpus SOURCES.md).
    expect([metadata.width, metadata.height]).toEqual([256, 171]);
  });
});

describe('npm run process through the API', () => {
  const requests: string[] = [];
  let reports: ImageReport[];

  beforeAll(async () => {
    const inputDir = path.join(workDir, 'batch');
    mkdirSync(inputDir, { recursive: true });
    copyFileSync(fixture('orientation/Landscape_1.jpg'), path.join(inputDir, 'small.jpg'));
    // Above API Gateway's 10 MB payload limit: random bytes do not compress, so the JPEG stays large.
    const noise = randomBytes(3200 * 2600 * 3);
    await sharp(noise, { raw: { width: 3200, height: 2600, channels: 3 } })
      .jpeg({ quality: 100 })
      .toFile(path.join(inputDir, 'large.jpg'));
    const originalFetch = globalThis.fetch;
    const spy = jest.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
      requests.push(`${init?.method ?? 'GET'} ${String(input)}`);
      return originalFetch(input, init);
    });
    try {
      reports = await runBatch({
        stack: stack.description,
        inputs: await collectInputFiles([inputDir], false),
        outDir: path.join(workDir, 'batch-thumbnails'),
        timeoutMs: 60_000,
      });
    } finally {
      spy.mockRestore();
    }
  }, 120_000);

  it('uploads a file under 10 MB through the API', () => {
    expect(requests).toContain(`PUT ${api.url}/images/small.jpg`);
  });

  it('sends a file over 10 MB straight to the bucket', () => {
    expect(statSync(path.join(workDir, 'batch', 'large.jpg')).size).toBeGreaterThan(10 * 1024 * 1024);
    expect(requests.some((line) => line.includes('/images/large.jpg'))).toBe(false);
  });

  it.each(['small.jpg', 'large.jpg'])('processes %s to the end', (key) => {
    expect(reports.find((report) => report.key === key)?.status).toBe('done');
  });
});

describe('codeless API errors', () => {
  it('answers 403 without an API key', async () => {
    const response = await request('/images', {}, false);

    expect(response.status).toBe(403);
  });

  it('answers 404 with JSON for a missing image', async () => {
    const response = await request('/images/never-uploaded.jpg');

    expect(response.status).toBe(404);
    expect(typeof ((await response.json()) as { message?: unknown }).message).toBe('string');
  });

  it('answers 404 for a missing thumbnail', async () => {
    const response = await request('/thumbnails/never-uploaded.jpg', { headers: { Accept: 'image/jpeg' } });

    expect(response.status).toBe(404);
  });

  it('names the missing Content-Type with 400', async () => {
    const response = await request('/images/no-type.jpg', { method: 'PUT', body: Buffer.from([0xff, 0xd8]) });
    const body = (await response.json()) as { message?: string; missing?: string };

    expect(response.status).toBe(400);
    expect(body.missing).toBe('Missing required request parameters: [Content-Type]');
  });

  it('answers 413 above the 10 MB payload limit', async () => {
    const response = await request('/images/too-big.jpg', {
      method: 'PUT',
      headers: { 'Content-Type': 'image/jpeg' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1),
    });

    expect(response.status).toBe(413);
  });
});

describe('codeless API pagination', () => {
  let ids: string[];
  let pages: number;

  beforeAll(async () => {
    const documents = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.description.endpoints.dynamodb,
        region: 'us-east-1',
        credentials: stack.description.credentials,
      }),
    );
    for (let start = 0; start < SEEDED_ITEMS; start += 25) {
      const batch = Array.from({ length: 25 }, (_, offset) => ({
        PutRequest: { Item: { Id: `seeded/${String(start + offset).padStart(4, '0')} "quoted" \\ é.jpg` } },
      }));
      await documents.send(new BatchWriteCommand({ RequestItems: { [stack.description.tableName]: batch } }));
    }
    documents.destroy();

    ids = [];
    pages = 0;
    let next: string | undefined;
    do {
      const query = next === undefined ? '?limit=100' : `?limit=100&next=${encodeURIComponent(next)}`;
      const body = (await (await request(`/images${query}`)).json()) as {
        items: { id: string }[];
        next?: string;
      };
      ids.push(...body.items.map((item) => item.id));
      next = body.next;
      pages += 1;
    } while (next !== undefined && pages < 100);
  }, 120_000);

  it('lists every seeded item exactly once', () => {
    const seeded = ids.filter((id) => id.startsWith('seeded/'));

    expect(seeded).toHaveLength(SEEDED_ITEMS);
    expect(new Set(seeded).size).toBe(SEEDED_ITEMS);
  });

  it('pages at most 100 items at a time', () => {
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(SEEDED_ITEMS / 100));
  });
});
