import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { collectInputFiles, type InputFile } from '../../local/batch/input-files';
import { API_PAYLOAD_LIMIT_BYTES, uploadImage } from '../../local/batch/upload';
import { runWithConcurrency } from '../../local/concurrency';
import { type ApiStack, startApiStack } from '../support/api-stack';
import { describeWithSharedImages, hasSharedImages, SHARED_IMAGES_DIR } from '../support/shared-images';

/**
 * Every file of the extended corpus, uploaded as a client would: through the API with the Content-Type of its
 * extension, or straight to the raw bucket above API Gateway's 10 MB limit (local/batch/upload.ts). Each must end
 * `done` or `failed`, never pending, and a failure must record the reason and leave no thumbnail.
 */

// The corpus's SOURCES.md describes each of these files: damaged or empty bytes, a PNG that declares
// 65536x65536 pixels, an iPhone HEIC (HEVC, which sharp's prebuilt libvips does not decode) and an SVG (rejected by
// design). Its own text is not an image at all. Every other file is an image the pipeline must finish.
const EXPECTED_FAILURES: Readonly<Record<string, RegExp>> = {
  'broken/corrupt_header.jpg': /corrupt or truncated/,
  'broken/empty.jpg': /empty \(0 bytes\)/,
  'broken/png_bad_idat_crc_pngsuite.png': /corrupt or truncated/,
  'broken/png_bomb_65536x65536.png': /65536x65536 = 4294967296 pixels/,
  'broken/truncated.jpg': /corrupt or truncated/,
  'broken/truncated.png': /corrupt or truncated/,
  'camera/iphone11_gps.heic': /Unsupported image format: HEIC/,
  'formats/svg_check.svg': /Unsupported image format: SVG/,
  'SOURCES.md': /Unsupported image format/,
};

const UPLOAD_CONCURRENCY = 3;

interface ImageRecord {
  id: string;
  status: string;
  thumbnail: unknown;
  errors: { thumbnail: string | null; labels: string | null };
}

/** Corpus files relative to its root, read synchronously so that `it.each` has rows; a placeholder when absent. */
function listCorpus(): string[] {
  if (!hasSharedImages) return ['(corpus absent)'];
  const walk = (folder: string): string[] =>
    readdirSync(path.join(SHARED_IMAGES_DIR, folder), { withFileTypes: true }).flatMap((entry) => {
      const relative = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (entry.name.startsWith('.')) return [];
      return entry.isDirectory() ? walk(relative) : [relative];
    });
  return walk('').sort();
}

const corpus = listCorpus();
const failing = corpus.filter((file) => file in EXPECTED_FAILURES);
const finishing = corpus.filter((file) => !(file in EXPECTED_FAILURES));

let harness: ApiStack;
let inputs: InputFile[];
const uploadRoutes = new Map<string, string>();
const records = new Map<string, ImageRecord>();

describeWithSharedImages('whole corpus through the API', () => {
  beforeAll(async () => {
    harness = await startApiStack('corpus-');
    inputs = await collectInputFiles([SHARED_IMAGES_DIR], false);
    await runWithConcurrency(inputs, UPLOAD_CONCURRENCY, async (input) => {
      const route = await uploadImage(
        { stack: harness.stack.description, s3: harness.s3 },
        input.key,
        await readFile(input.path),
        input.contentType,
      );
      uploadRoutes.set(input.key, route);
    });
    await harness.stack.whenIdle();
    for (const input of inputs) {
      records.set(input.key, (await harness.getImage(input.key)).json as ImageRecord);
    }
  }, 600_000);

  afterAll(async () => {
    await harness?.close();
  });

  it('uploads every file of the corpus', () => {
    expect(inputs.map((input) => input.key).sort()).toEqual(corpus);
  });

  it('routes each upload by its size', () => {
    const misrouted = inputs.filter((input) => {
      const expected = statSync(input.path).size <= API_PAYLOAD_LIMIT_BYTES ? 'api' : 's3';
      return uploadRoutes.get(input.key) !== expected;
    });

    expect(misrouted.map((input) => input.key)).toEqual([]);
  });

  it.each(corpus)('ends %s as done or failed', (key) => {
    expect(['done', 'failed']).toContain(records.get(key)?.status);
  });

  it.each(finishing)('finishes %s as done', (key) => {
    expect(records.get(key)?.status).toBe('done');
  });

  it.each(finishing)('serves a thumbnail of %s', async (key) => {
    const response = await harness.request(`/thumbnails/${encodeURIComponent(key)}`, {
      headers: { Accept: 'image/*' },
    });

    expect(response.status).toBe(200);
  });

  it.each(failing)('records %s as failed', (key) => {
    expect(records.get(key)?.status).toBe('failed');
  });

  it.each(failing)('names %s in the thumbnail error', (key) => {
    expect(records.get(key)?.errors.thumbnail).toContain(`"${key}"`);
  });

  it.each(failing)('gives the reason %s failed in the thumbnail error', (key) => {
    expect(records.get(key)?.errors.thumbnail).toMatch(EXPECTED_FAILURES[key] as RegExp);
  });

  it.each(failing)('names %s in the label error', (key) => {
    expect(records.get(key)?.errors.labels).toContain(`"${key}"`);
  });

  it.each(failing)('gives the reason %s failed in the label error', (key) => {
    expect(records.get(key)?.errors.labels).toMatch(EXPECTED_FAILURES[key] as RegExp);
  });

  it.each(failing)('lists no thumbnail for %s', (key) => {
    expect(records.get(key)?.thumbnail).toBeNull();
  });

  it.each(failing)('stores no thumbnail object for %s', async (key) => {
    expect(await harness.thumbnailPresence(key)).toBe('NotFound');
  });

  it('leaves no event in the failure store', () => {
    const directory = harness.stack.description.failureDirectory;
    const stored = existsSync(directory) ? readdirSync(directory) : [];

    expect(stored).toEqual([]);
  });
});
