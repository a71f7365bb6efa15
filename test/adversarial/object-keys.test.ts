import { readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { type PipelineHarness, startPipeline } from './support/pipeline-stack';

/**
 * Object keys that S3 accepts as they are (UTF-8, up to 1024 bytes): the item Id and the thumbnail key must be the
 * uploaded key byte for byte.
 */
const LONG_SEGMENT = 'k'.repeat(200);
const LONG_KEY = `${[LONG_SEGMENT, LONG_SEGMENT, LONG_SEGMENT, LONG_SEGMENT, LONG_SEGMENT].join('/')}/${'m'.repeat(14)}.jpg`;
const KEYS: [string, string][] = [
  ['a space', 'keys/with space.jpg'],
  ['a plus sign', 'keys/c++.jpg'],
  ['a percent sign', 'keys/100%.jpg'],
  ['a literal %2B', 'keys/literal%2B.jpg'],
  ['NFC é', 'keys/caf\u00e9.jpg'],
  ['NFD é', 'keys/cafe\u0301.jpg'],
  ['an emoji', 'keys/emoji-\u{1F600}.jpg'],
  ['upper case', 'keys/Case.jpg'],
  ['lower case', 'keys/case.jpg'],
  ['a trailing slash', 'keys/folder/'],
  ['query and fragment characters', 'keys/q?x=1&y#z.jpg'],
  ['a leading space', 'keys/ leading.jpg'],
  ['1019 bytes', LONG_KEY],
];
// Keys S3 stores as written, which a file-backed store could read as paths.
const PARENT_KEY = '../escape.jpg';
const GRANDPARENT_KEY = '../../outside.jpg';
const ALIAS_KEY = 'x/../alias.jpg';
const PLAIN_KEY = 'alias.jpg';
const LEADING_SLASH_KEY = '/leading-slash.jpg';
const DOUBLE_SLASH_KEY = 'double//slash.jpg';

const UPLOADED_WIDTH: Record<string, number> = { [PARENT_KEY]: 400, [PLAIN_KEY]: 300 };

let pipeline: PipelineHarness;
const uploadErrors = new Map<string, string>();

function jpeg(width: number, height: number, colour: string): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .jpeg()
    .toBuffer();
}

async function uploadRecording(key: string, body: Buffer): Promise<void> {
  await pipeline.upload(key, body).catch((error: unknown) => {
    uploadErrors.set(key, `${(error as Error).name}: ${(error as Error).message}`);
  });
}

beforeAll(async () => {
  pipeline = await startPipeline('adversarial-keys-');
  for (const [, key] of KEYS) await uploadRecording(key, await jpeg(320, 240, '#c03030'));
  await uploadRecording(PLAIN_KEY, await jpeg(300, 200, '#30c030'));
  await uploadRecording(ALIAS_KEY, await jpeg(200, 300, '#3030c0'));
  await uploadRecording(PARENT_KEY, await jpeg(400, 300, '#c0c030'));
  await uploadRecording(GRANDPARENT_KEY, await jpeg(400, 300, '#30c0c0'));
  await uploadRecording(LEADING_SLASH_KEY, await jpeg(320, 240, '#c030c0'));
  await uploadRecording(DOUBLE_SLASH_KEY, await jpeg(320, 240, '#808080'));
  await pipeline.stack.whenIdle();
}, 120_000);

afterAll(async () => {
  await pipeline?.close();
});

describe('object keys', () => {
  it.each(KEYS)('accepts the upload of a key with %s', (_name, key) => {
    expect(uploadErrors.get(key)).toBeUndefined();
  });

  it.each(KEYS)('records the item of a key with %s under that exact Id', async (_name, key) => {
    expect((await pipeline.getItem(key))?.ThumbnailStatus).toBe('done');
  });

  it.each(KEYS)('records the thumbnail key of a key with %s as that key', async (_name, key) => {
    expect((await pipeline.getItem(key))?.Thumbnail).toMatchObject({ Key: key });
  });

  it.each(KEYS)('stores the thumbnail of a key with %s under that key', async (_name, key) => {
    const { width = 0 } = await sharp(await pipeline.readThumbnail(key)).metadata();
    expect(width).toBe(256);
  });

  it.each(KEYS)('records labels for a key with %s', async (_name, key) => {
    expect((await pipeline.getItem(key))?.LabelsStatus).toBe('done');
  });

  it('keeps the upper- and lower-case keys as two items', async () => {
    const ids = [await pipeline.getItem('keys/Case.jpg'), await pipeline.getItem('keys/case.jpg')].map(
      (item) => item?.Id,
    );
    expect(ids).toEqual(['keys/Case.jpg', 'keys/case.jpg']);
  });
});

describe('keys with dot segments and extra slashes', () => {
  it('keeps the original of "../escape.jpg" as uploaded after its thumbnail is written', async () => {
    // The upload is 400 px wide; a thumbnail written over it is 256.
    const { width } = await sharp(await pipeline.readRaw(PARENT_KEY)).metadata();
    expect(width).toBe(UPLOADED_WIDTH[PARENT_KEY]);
  });

  it('keeps "x/../alias.jpg" apart from "alias.jpg"', async () => {
    // "alias.jpg" is 300 px wide, "x/../alias.jpg" 200.
    const { width } = await sharp(await pipeline.readRaw(PLAIN_KEY)).metadata();
    expect(width).toBe(UPLOADED_WIDTH[PLAIN_KEY]);
  });

  it('writes nothing for "../../outside.jpg" outside the S3 folder of the data folder', () => {
    const outside = readdirSync(pipeline.dataDir).filter((name) => name.startsWith('outside.jpg'));
    expect(outside).toEqual([]);
  });

  it('keeps only bucket folders in the S3 folder', () => {
    const entries = readdirSync(path.join(pipeline.dataDir, 's3')).sort();
    expect(entries).toEqual([...pipeline.stack.description.buckets].sort());
  });

  it('accepts the upload of a key with a leading slash', () => {
    expect(uploadErrors.get(LEADING_SLASH_KEY)).toBeUndefined();
  });

  it('records the item of a key with a leading slash under that exact Id', async () => {
    expect((await pipeline.getItem(LEADING_SLASH_KEY))?.ThumbnailStatus).toBe('done');
  });

  it('accepts the upload of a key with a double slash', () => {
    expect(uploadErrors.get(DOUBLE_SLASH_KEY)).toBeUndefined();
  });

  it('records the item of a key with a double slash under that exact Id', async () => {
    expect((await pipeline.getItem(DOUBLE_SLASH_KEY))?.ThumbnailStatus).toBe('done');
  });
});
