import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { type ApiResponse, type ApiStack, deliveriesOf, startApiStack } from '../support/api-stack';

/**
 * API Gateway limits a REST request body to 10 MB, a quota that cannot be raised, and rejects a larger body with 413
 * (docs/api.md, Limits). Such an upload must leave no object, no item and no notification behind.
 */
const LIMIT_BYTES = 10 * 1024 * 1024;

let harness: ApiStack;
let photo: Buffer;
const responses = new Map<string, ApiResponse>();

/** Encodes random pixels as a JPEG. Noise does not compress, so at quality 100 a large one stays above the limit. */
function noiseJpeg(width: number, height: number): Promise<Buffer> {
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 100 })
    .toBuffer();
}

/** Wraps bytes in a stream, which fetch sends with chunked transfer encoding and no Content-Length. */
function chunkedBody(bytes: Buffer): ReadableStream<Uint8Array> {
  const chunkSize = 1024 * 1024;
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.subarray(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

const CASES = [
  ['PUT with Content-Length', 'size/put-too-large.jpg'],
  ['POST with Content-Length', 'size/post-too-large.jpg'],
  ['PUT with chunked encoding', 'size/chunked-too-large.jpg'],
] as const;
const CONTROL_KEY = 'size/under-limit.jpg';

beforeAll(async () => {
  harness = await startApiStack('size-limit-');
  photo = await noiseJpeg(3200, 2600);
  const route = (key: string) => `/images/${encodeURIComponent(key)}`;
  const headers = { 'Content-Type': 'image/jpeg' };

  responses.set(
    CASES[0][1],
    await harness.request(route(CASES[0][1]), { method: 'PUT', headers, body: photo }),
  );
  responses.set(
    CASES[1][1],
    await harness.request(route(CASES[1][1]), { method: 'POST', headers, body: photo }),
  );
  responses.set(
    CASES[2][1],
    await harness.request(route(CASES[2][1]), {
      method: 'PUT',
      headers,
      body: chunkedBody(photo),
      duplex: 'half',
    } as RequestInit),
  );
  // A control under the limit, so the checks below are seen to find what the API does store.
  responses.set(
    CONTROL_KEY,
    await harness.request(route(CONTROL_KEY), { method: 'PUT', headers, body: await noiseJpeg(640, 480) }),
  );
  await harness.stack.whenIdle();
}, 300_000);

afterAll(async () => {
  await harness?.close();
});

describe('upload under 10 MB', () => {
  it('answers 201', () => {
    expect(responses.get(CONTROL_KEY)?.status).toBe(201);
  });

  it('stores the original', async () => {
    expect(await harness.listKeys(harness.rawBucket)).toContain(CONTROL_KEY);
  });

  it('records the item', async () => {
    expect((await harness.getItem(CONTROL_KEY))?.Id).toBe(CONTROL_KEY);
  });

  it('notifies the functions', () => {
    expect(deliveriesOf(harness.deliveries, CONTROL_KEY, 'ObjectCreated')).toHaveLength(
      harness.stack.functions.length,
    );
  });
});

describe('upload over 10 MB', () => {
  it('uses a JPEG above the limit', () => {
    expect(photo.length).toBeGreaterThan(LIMIT_BYTES);
  });

  it.each(CASES)('answers 413 to a %s', (_name, key) => {
    expect(responses.get(key)?.status).toBe(413);
  });

  it.each(CASES)('answers a %s with JSON', (_name, key) => {
    expect(responses.get(key)?.contentType).toMatch(/^application\/json/);
  });

  it.each(CASES)('names the limit in the message of a %s', (_name, key) => {
    expect((responses.get(key)?.json as { message?: unknown } | undefined)?.message).toMatch(/10 MB/);
  });

  it.each(CASES)('stores no original for a %s', async (_name, key) => {
    expect(await harness.listKeys(harness.rawBucket)).not.toContain(key);
  });

  it.each(CASES)('records no item for a %s', async (_name, key) => {
    expect(await harness.getItem(key)).toBeUndefined();
  });

  it.each(CASES)('answers 404 for the image of a %s', async (_name, key) => {
    expect((await harness.getImage(key)).status).toBe(404);
  });

  it.each(CASES)('sends no notification for a %s', (_name, key) => {
    expect(deliveriesOf(harness.deliveries, key, '')).toEqual([]);
  });
});
