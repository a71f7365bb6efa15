import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { fixture } from '../support/shared-images';
import { type PipelineHarness, PROJECT_DIR, startPipeline } from './support/pipeline-stack';

/**
 * Hostile and unusual file contents: each upload must end as done with an upright 8-bit sRGB thumbnail inside
 * 256x256, or as failed with a message and no thumbnail. Nothing may stay pending or kill a function process.
 */

interface Case {
  key: string;
  contentType: string;
  body: () => Promise<Buffer>;
}

const PHOTO = path.join(PROJECT_DIR, 'samples', 'dog_bicycle_truck.jpg');
const read = (relative: string) => async () => readFileSync(fixture(relative));
// 6000x4000 = 24 MP from a real photo, so the thumbnail step decodes it with shrink-on-load.
const photo24mp = () => sharp(PHOTO).resize(6000, 4000, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();

const GOOD: Case[] = [
  {
    key: 'good/jpeg-named.png',
    contentType: 'image/png',
    body: () => sharp(PHOTO).resize(400).jpeg().toBuffer(),
  },
  { key: 'good/photo-24mp.jpg', contentType: 'image/jpeg', body: photo24mp },
  {
    key: 'good/half-transparent.png',
    contentType: 'image/png',
    body: () =>
      sharp({
        create: { width: 300, height: 200, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0.5 } },
      })
        .png()
        .toBuffer(),
  },
  {
    key: 'good/sixteen-bit.png',
    contentType: 'image/png',
    body: () => sharp(PHOTO).resize(300).toColourspace('rgb16').png().toBuffer(),
  },
  {
    key: 'good/sixteen-bit-rgba.png',
    contentType: 'image/png',
    body: read('formats/png16_rgba_pngsuite.png'),
  },
  { key: 'good/cmyk.jpg', contentType: 'image/jpeg', body: read('formats/cmyk_icc_swop.jpg') },
  { key: 'good/animated.gif', contentType: 'image/gif', body: read('formats/animated_rotating_squares.gif') },
  { key: 'good/rotated-90.jpg', contentType: 'image/jpeg', body: read('orientation/Landscape_6.jpg') },
];

const BAD: Case[] = [
  { key: 'bad/empty.jpg', contentType: 'image/jpeg', body: read('broken/empty.jpg') },
  { key: 'bad/text.jpg', contentType: 'image/jpeg', body: async () => Buffer.from('not an image at all\n') },
  { key: 'bad/bomb.png', contentType: 'image/png', body: read('broken/png_bomb_65536x65536.png') },
  { key: 'bad/truncated.jpg', contentType: 'image/jpeg', body: read('broken/truncated.jpg') },
  { key: 'bad/truncated.png', contentType: 'image/png', body: read('broken/truncated.png') },
  {
    key: 'bad/truncated-24mp.jpg',
    contentType: 'image/jpeg',
    body: async () => {
      const whole = await photo24mp();
      return whole.subarray(0, Math.floor(whole.length / 2));
    },
  },
  { key: 'bad/corrupt-header.jpg', contentType: 'image/jpeg', body: read('broken/corrupt_header.jpg') },
];

let pipeline: PipelineHarness;
const bodies = new Map<string, Buffer>();

/** Width and height as a viewer shows the image, after its EXIF orientation (read by sharp). */
async function displaySize(body: Buffer): Promise<{ width: number; height: number }> {
  const { width = 0, height = 0, pageHeight, orientation = 1 } = await sharp(body).metadata();
  const frameHeight = pageHeight ?? height;
  return orientation >= 5 ? { width: frameHeight, height: width } : { width, height: frameHeight };
}

function functionLogText(): string {
  const logDir = path.join(pipeline.dataDir, 'logs');
  return readdirSync(logDir)
    .map((name) => readFileSync(path.join(logDir, name), 'utf8'))
    .join('\n');
}

beforeAll(async () => {
  pipeline = await startPipeline('adversarial-content-');
  for (const entry of [...GOOD, ...BAD]) {
    const body = await entry.body();
    bodies.set(entry.key, body);
    await pipeline.upload(entry.key, body, entry.contentType);
  }
  await pipeline.stack.whenIdle();
}, 120_000);

afterAll(async () => {
  await pipeline?.close();
});

const goodKeys = GOOD.map((entry) => entry.key);
const badKeys = BAD.map((entry) => entry.key);

describe('images that must succeed', () => {
  it.each(goodKeys)('records the thumbnail of %s as done', async (key) => {
    expect((await pipeline.getItem(key))?.ThumbnailStatus).toBe('done');
  });

  it.each(goodKeys)('records the labels of %s as done', async (key) => {
    expect((await pipeline.getItem(key))?.LabelsStatus).toBe('done');
  });

  it.each(goodKeys)('fits the thumbnail of %s inside 256x256 without enlarging it', async (key) => {
    const source = await displaySize(bodies.get(key) ?? Buffer.alloc(0));
    const { width = 0, height = 0 } = await sharp(await pipeline.readThumbnail(key)).metadata();
    expect(Math.max(width, height)).toBe(Math.min(256, Math.max(source.width, source.height)));
  });

  it.each(goodKeys)('keeps the upright aspect ratio of %s', async (key) => {
    const expected = await displaySize(bodies.get(key) ?? Buffer.alloc(0));
    const { width = 0, height = 0 } = await sharp(await pipeline.readThumbnail(key)).metadata();
    expect(Math.abs(width / height - expected.width / expected.height)).toBeLessThan(0.02);
  });

  it.each(goodKeys)('writes the thumbnail of %s with 8-bit samples', async (key) => {
    const { depth } = await sharp(await pipeline.readThumbnail(key)).metadata();
    expect(depth).toBe('uchar');
  });

  it.each(goodKeys)('writes the thumbnail of %s in sRGB', async (key) => {
    const { space } = await sharp(await pipeline.readThumbnail(key)).metadata();
    expect(space).toBe('srgb');
  });

  it('keeps the transparency of a half-transparent PNG', async () => {
    const { hasAlpha } = await sharp(await pipeline.readThumbnail('good/half-transparent.png')).metadata();
    expect(hasAlpha).toBe(true);
  });

  it('writes a still thumbnail of an animated GIF', async () => {
    const { pages = 1 } = await sharp(await pipeline.readThumbnail('good/animated.gif')).metadata();
    expect(pages).toBe(1);
  });
});

describe('files that must fail', () => {
  it.each(badKeys)('records the thumbnail of %s as failed', async (key) => {
    expect((await pipeline.getItem(key))?.ThumbnailStatus).toBe('failed');
  });

  it.each(badKeys)('gives a thumbnail error for %s that names the key', async (key) => {
    expect(String((await pipeline.getItem(key))?.ThumbnailError ?? '')).toContain(key);
  });

  it.each(badKeys)('records the labels of %s as failed', async (key) => {
    expect((await pipeline.getItem(key))?.LabelsStatus).toBe('failed');
  });

  it.each(badKeys)('gives a label error for %s that names the key', async (key) => {
    expect(String((await pipeline.getItem(key))?.LabelsError ?? '')).toContain(key);
  });

  it.each(badKeys)('leaves no thumbnail for %s', async (key) => {
    expect(await pipeline.thumbnailPresence(key)).toBe('NotFound');
  });

  it('names the declared pixel count of the decompression bomb', async () => {
    expect(String((await pipeline.getItem('bad/bomb.png'))?.ThumbnailError)).toContain('4294967296');
  });
});

describe('function processes', () => {
  it('ends no execution environment by a crash or a timeout', () => {
    expect(functionLogText()).not.toMatch(/Runtime\.ExitError|Sandbox\.Timedout|Runtime\.UncaughtException/);
  });

  it('sends no event to the failure store', () => {
    const failed = path.join(pipeline.dataDir, 'failed');
    const stored = existsSync(failed)
      ? readdirSync(failed).flatMap((fn) => readdirSync(path.join(failed, fn)).map((file) => `${fn}/${file}`))
      : [];
    expect(stored).toEqual([]);
  });
});
