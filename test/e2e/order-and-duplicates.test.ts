import { createHash } from 'node:crypto';
import {
  type ApiStack,
  deliveriesOf,
  imageFacts,
  md5Hex,
  sequencerOf,
  solidJpeg,
  startApiStack,
} from '../support/api-stack';

/**
 * Duplicate deliveries, older events after newer ones, deletes and re-uploads, and both functions writing the same
 * item at once, end to end: uploads go through the codeless API, and the captured SNS notifications are handed to
 * the functions again. S3 delivers notifications at least once and orders them only by the `sequencer` of a key,
 * so each case must end with the item and thumbnail of the upload that is in the raw bucket, or with neither.
 */

// Two uploads that differ in every fact the checks read: shape, colour and bytes.
const WIDE = { width: 400, height: 200, colour: '#c03030' };
const TALL = { width: 200, height: 400, colour: '#30c030' };
// What a 256x256 box (the default THUMBNAIL_MAX_WIDTH and THUMBNAIL_MAX_HEIGHT) makes of the newer upload.
const TALL_THUMBNAIL = { width: 128, height: 256 };

const ROUNDS = 3;
const KEYS_PER_ROUND = 20;

let harness: ApiStack;
let wide: Buffer;
let tall: Buffer;

/** Drops the attributes that record when the item was written, which a redelivery may change. */
function withoutTimestamps(item: Record<string, unknown> | undefined): Record<string, unknown> {
  const {
    UpdatedAt: _updated,
    ThumbnailUpdatedAt: _thumbnail,
    LabelsUpdatedAt: _labels,
    ...rest
  } = item ?? {};
  return rest;
}

/** S3 sequencers compare as hexadecimal numbers after left-padding to 64 digits (docs/architecture.md). */
function padded(sequencer: string): string {
  return sequencer.toUpperCase().padStart(64, '0');
}

function sha256(bytes: Buffer | undefined): string {
  return createHash('sha256')
    .update(bytes ?? Buffer.alloc(0))
    .digest('hex');
}

/** Hands each delivery to its function again, `times` times at once, and waits until every invocation ended. */
async function redeliver(deliveries: readonly { functionName: string; event: unknown }[], times = 1) {
  for (let copy = 0; copy < times; copy++) {
    for (const delivery of deliveries) harness.stack.deliver(delivery.functionName, delivery.event);
  }
  await harness.stack.whenIdle();
}

async function upload(key: string, body: Buffer): Promise<number> {
  return (await harness.putImage(key, body)).status;
}

/** Ids of every listed image, through all pages of `GET /images`. */
async function listedIds(): Promise<string[]> {
  const ids: string[] = [];
  let next: string | undefined;
  for (let page = 0; page < 100; page++) {
    const query = next === undefined ? '?limit=100' : `?limit=100&next=${encodeURIComponent(next)}`;
    const body = (await harness.request(`/images${query}`)).json as {
      items: { id: string }[];
      next?: string;
    };
    ids.push(...body.items.map((item) => item.id));
    next = body.next;
    if (next === undefined) break;
  }
  return ids;
}

beforeAll(async () => {
  harness = await startApiStack('order-duplicates-');
  wide = await solidJpeg(WIDE.width, WIDE.height, WIDE.colour);
  tall = await solidJpeg(TALL.width, TALL.height, TALL.colour);
}, 300_000);

afterAll(async () => {
  await harness?.close();
});

describe('same notification delivered twice', () => {
  const key = 'order/duplicate.jpg';
  let uploadStatus: number;
  let originals: ReturnType<typeof deliveriesOf>;
  let itemBefore: Record<string, unknown> | undefined;
  let itemAfter: Record<string, unknown> | undefined;
  let thumbnailBefore: Awaited<ReturnType<ApiStack['readThumbnail']>>;
  let thumbnailAfter: Awaited<ReturnType<ApiStack['readThumbnail']>>;

  beforeAll(async () => {
    uploadStatus = await upload(key, wide);
    await harness.stack.whenIdle();
    itemBefore = await harness.getItem(key);
    thumbnailBefore = await harness.readThumbnail(key);
    originals = deliveriesOf(harness.deliveries, key, 'ObjectCreated');

    // Two more copies of each notification, handed over at the same time.
    await redeliver(originals, 2);
    itemAfter = await harness.getItem(key);
    thumbnailAfter = await harness.readThumbnail(key);
  }, 120_000);

  it('accepts the upload with 201', () => {
    expect(uploadStatus).toBe(201);
  });

  it('captures the notification of both functions', () => {
    expect(originals.map((delivery) => delivery.functionName).sort()).toEqual(
      harness.stack.functions.map((fn) => fn.model.name).sort(),
    );
  });

  it('finishes the item before the redelivery', () => {
    expect([itemBefore?.ThumbnailStatus, itemBefore?.LabelsStatus]).toEqual(['done', 'done']);
  });

  it('leaves every attribute but the timestamps as it was', () => {
    expect(withoutTimestamps(itemAfter)).toEqual(withoutTimestamps(itemBefore));
  });

  it('keeps the sequencer of the upload', () => {
    const uploadSequencers = new Set(originals.map((delivery) => padded(sequencerOf(delivery))));

    expect([...uploadSequencers]).toEqual([itemAfter?.ThumbnailSequencer]);
  });

  it('keeps the thumbnail bytes', () => {
    expect(sha256(thumbnailAfter?.bytes)).toBe(sha256(thumbnailBefore?.bytes));
  });

  it('keeps the thumbnail ETag', () => {
    expect(thumbnailAfter?.eTag).toBe(thumbnailBefore?.eTag);
  });

  it('stores one thumbnail object for the key', async () => {
    const keys = await harness.listKeys(harness.thumbnailBucket);

    expect(keys.filter((candidate) => candidate === key)).toHaveLength(1);
  });

  it('lists the image once', async () => {
    expect((await listedIds()).filter((id) => id === key)).toHaveLength(1);
  });
});

describe('older event delivered after a newer one', () => {
  // A then B on the same key; A's notification comes again after B's was processed. `waited` lets A finish first,
  // `back to back` sends B before A's notification is handled.
  const cases = [
    ['waited', 'order/older-after-newer.jpg'],
    ['back to back', 'order/back-to-back.jpg'],
  ] as const;
  const olderEvents = new Map<string, number>();

  beforeAll(async () => {
    for (const [mode, key] of cases) {
      await upload(key, wide);
      if (mode === 'waited') await harness.stack.whenIdle();
      await upload(key, tall);
      await harness.stack.whenIdle();
    }
    for (const [, key] of cases) {
      const created = deliveriesOf(harness.deliveries, key, 'ObjectCreated');
      const oldest = created.map(sequencerOf).sort((a, b) => padded(a).localeCompare(padded(b)))[0];
      const older = created.filter((delivery) => sequencerOf(delivery) === oldest);
      olderEvents.set(key, older.length);
      await redeliver(older);
    }
  }, 120_000);

  it.each(cases)('redelivers the older notification to both functions (%s)', (_mode, key) => {
    expect(olderEvents.get(key)).toBe(harness.stack.functions.length);
  });

  it.each(cases)('keeps the thumbnail size of the newer upload (%s)', async (_mode, key) => {
    const facts = await imageFacts((await harness.readThumbnail(key))?.bytes ?? Buffer.alloc(0));

    expect({ width: facts.width, height: facts.height }).toEqual(TALL_THUMBNAIL);
  });

  it.each(cases)('keeps the thumbnail colour of the newer upload (%s)', async (_mode, key) => {
    const facts = await imageFacts((await harness.readThumbnail(key))?.bytes ?? Buffer.alloc(0));

    expect(facts.green - facts.red).toBeGreaterThan(100);
  });

  it.each(cases)('records the ETag of the newer upload (%s)', async (_mode, key) => {
    expect((await harness.getItem(key))?.Source).toMatchObject({ ETag: md5Hex(tall) });
  });

  it.each(cases)('records the source size of the newer upload (%s)', async (_mode, key) => {
    expect((await harness.getItem(key))?.Source).toMatchObject({ Width: TALL.width, Height: TALL.height });
  });

  it.each(cases)('records the thumbnail size of the newer upload (%s)', async (_mode, key) => {
    expect((await harness.getItem(key))?.Thumbnail).toMatchObject({
      Width: TALL_THUMBNAIL.width,
      Height: TALL_THUMBNAIL.height,
    });
  });

  it.each(cases)('records the newer sequencer for the thumbnail (%s)', async (_mode, key) => {
    const newest = deliveriesOf(harness.deliveries, key, 'ObjectCreated')
      .map((delivery) => padded(sequencerOf(delivery)))
      .sort()
      .at(-1);

    expect((await harness.getItem(key))?.ThumbnailSequencer).toBe(newest);
  });

  it.each(cases)('records the newer sequencer for the labels (%s)', async (_mode, key) => {
    const newest = deliveriesOf(harness.deliveries, key, 'ObjectCreated')
      .map((delivery) => padded(sequencerOf(delivery)))
      .sort()
      .at(-1);

    expect((await harness.getItem(key))?.LabelsSequencer).toBe(newest);
  });

  it.each(cases)('serves the image as done (%s)', async (_mode, key) => {
    expect(((await harness.getImage(key)).json as { status?: string }).status).toBe('done');
  });
});

describe('delete', () => {
  const key = 'order/deleted.jpg';

  beforeAll(async () => {
    await upload(key, wide);
    await harness.stack.whenIdle();
    await harness.deleteOriginal(key);
    await harness.stack.whenIdle();
  }, 120_000);

  // docs/architecture.md: the removal clears createThumbnail's attributes and deletes the thumbnail, and
  // analyzeImage deletes the item, so nothing of a deleted original stays.
  it('answers 404 for the image', async () => {
    expect((await harness.getImage(key)).status).toBe(404);
  });

  it('leaves no item', async () => {
    expect(await harness.getItem(key)).toBeUndefined();
  });

  it('leaves no thumbnail object', async () => {
    expect(await harness.thumbnailPresence(key)).toBe('NotFound');
  });

  it('answers 404 for the thumbnail', async () => {
    const response = await harness.request(`/thumbnails/${encodeURIComponent(key)}`, {
      headers: { Accept: 'image/jpeg' },
    });

    expect(response.status).toBe(404);
  });
});

describe('delete, then upload the same key again', () => {
  // `waited` lets each step finish; `at once` sends upload, delete and upload with no wait in between, and the
  // removal's notification comes again at the end.
  const cases = [
    ['waited', 'order/deleted-then-uploaded.jpg'],
    ['at once', 'order/deleted-and-uploaded-at-once.jpg'],
  ] as const;

  beforeAll(async () => {
    for (const [mode, key] of cases) {
      await upload(key, wide);
      if (mode === 'waited') await harness.stack.whenIdle();
      await harness.deleteOriginal(key);
      if (mode === 'waited') await harness.stack.whenIdle();
      await upload(key, tall);
      await harness.stack.whenIdle();
      await redeliver(deliveriesOf(harness.deliveries, key, 'ObjectRemoved'));
    }
  }, 120_000);

  it.each(cases)('serves the image as done (%s)', async (_mode, key) => {
    expect(((await harness.getImage(key)).json as { status?: string }).status).toBe('done');
  });

  it.each(cases)('records the ETag of the new upload (%s)', async (_mode, key) => {
    expect((await harness.getItem(key))?.Source).toMatchObject({ ETag: md5Hex(tall) });
  });

  it.each(cases)('records the thumbnail size of the new upload (%s)', async (_mode, key) => {
    expect((await harness.getItem(key))?.Thumbnail).toMatchObject({
      Width: TALL_THUMBNAIL.width,
      Height: TALL_THUMBNAIL.height,
    });
  });

  it.each(cases)('stores the thumbnail of the new upload (%s)', async (_mode, key) => {
    const facts = await imageFacts((await harness.readThumbnail(key))?.bytes ?? Buffer.alloc(0));

    expect({ width: facts.width, height: facts.height }).toEqual(TALL_THUMBNAIL);
  });

  it.each(cases)('stores a thumbnail in the colour of the new upload (%s)', async (_mode, key) => {
    const facts = await imageFacts((await harness.readThumbnail(key))?.bytes ?? Buffer.alloc(0));

    expect(facts.green - facts.red).toBeGreaterThan(100);
  });
});

describe(`both functions writing one item, ${ROUNDS} rounds of ${KEYS_PER_ROUND} uploads at once`, () => {
  // Each key gets its own width, so a thumbnail written from another key's original would show.
  const uploads = Array.from({ length: ROUNDS * KEYS_PER_ROUND }, (_, index) => ({
    key: `race/${Math.floor(index / KEYS_PER_ROUND)}/${index % KEYS_PER_ROUND}.jpg`,
    width: 100 + index * 3,
  }));
  const rows = uploads.map((entry) => [entry.key, entry.width] as const);
  const statuses = new Map<string, number>();

  beforeAll(async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const batch = uploads.slice(round * KEYS_PER_ROUND, (round + 1) * KEYS_PER_ROUND);
      await Promise.all(
        batch.map(async (entry) => {
          const body = await solidJpeg(entry.width, 100, '#3050c0');
          statuses.set(entry.key, await upload(entry.key, body));
        }),
      );
      await harness.stack.whenIdle();
    }
  }, 300_000);

  it.each(rows)('accepts the upload of %s', (key) => {
    expect(statuses.get(key)).toBe(201);
  });

  it.each(rows)('keeps the thumbnail status of %s', async (key) => {
    expect((await harness.getItem(key))?.ThumbnailStatus).toBe('done');
  });

  it.each(rows)('keeps the label status of %s', async (key) => {
    expect((await harness.getItem(key))?.LabelsStatus).toBe('done');
  });

  it.each(rows)('keeps the label list of %s', async (key) => {
    expect(Array.isArray((await harness.getItem(key))?.Labels)).toBe(true);
  });

  it.each(rows)('keeps the source attributes of %s, %i px wide', async (key, width) => {
    expect((await harness.getItem(key))?.Source).toMatchObject({ Width: width, Height: 100 });
  });

  it.each(rows)('keeps the thumbnail attributes of %s, %i px wide', async (key, width) => {
    const expected = Math.min(256, width);

    expect((await harness.getItem(key))?.Thumbnail).toMatchObject({ Key: key, Width: expected });
  });
});
