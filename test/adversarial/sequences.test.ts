import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import type { RekognitionStarter } from '../../local/stack';
import {
  eventNameOfDelivery,
  keysOfDelivery,
  type PipelineHarness,
  startPipeline,
} from './support/pipeline-stack';

/**
 * Orders of uploads, overwrites, deletes and redeliveries on the same key. The final item and thumbnail must always
 * describe the object that is in the raw bucket at the end, or be absent when there is none.
 */

// The label request of this key is held by the Rekognition stand-in until the test releases it.
const HELD_KEY = 'seq/deleted-while-labelled.jpg';

/** A DetectLabels endpoint that returns one fixed label and delays requests for HELD_KEY until released. */
function holdingRekognition(): { starter: RekognitionStarter; held: Promise<void>; release: () => void } {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let markHeld: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    markHeld = resolve;
  });
  const answer = (response: ServerResponse) => {
    response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
    response.end(
      JSON.stringify({
        Labels: [{ Name: 'Thing', Confidence: 99, Instances: [], Parents: [], Categories: [] }],
        LabelModelVersion: '3.0',
      }),
    );
  };
  const starter: RekognitionStarter = async () => {
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          Image?: { S3Object?: { Name?: string } };
        };
        if (body.Image?.S3Object?.Name !== HELD_KEY) return answer(response);
        markHeld();
        void released.then(() => answer(response));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  };
  return { starter, held, release };
}

function jpeg(width: number, height: number, colour: string): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .jpeg()
    .toBuffer();
}

/** Polls the stack's state until the condition holds; false when it never does. */
async function eventually(condition: () => Promise<boolean>, attempts = 200): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

const CONCURRENT = 30;
const WIDE = { width: 400, height: 200 };
const TALL = { width: 200, height: 400 };
let pipeline: PipelineHarness;
const rekognition = holdingRekognition();
let thumbnailDoneWhileHeld = false;
let itemGoneWhileHeld = false;

async function thumbnailWidth(key: string): Promise<number> {
  const { width = 0 } = await sharp(await pipeline.readThumbnail(key)).metadata();
  return width;
}

function redeliver(key: string, eventPrefix: string): number {
  const matching = pipeline.deliveries.filter(
    (delivery) =>
      keysOfDelivery(delivery).includes(key) && eventNameOfDelivery(delivery).startsWith(eventPrefix),
  );
  for (const delivery of matching) pipeline.stack.deliver(delivery.functionName, delivery.event);
  return matching.length;
}

beforeAll(async () => {
  pipeline = await startPipeline('adversarial-sequences-', { rekognition: rekognition.starter });
  const wide = await jpeg(WIDE.width, WIDE.height, '#c03030');
  const tall = await jpeg(TALL.width, TALL.height, '#30c030');

  // Back-to-back requests, no waiting in between.
  await pipeline.upload('seq/overwritten.jpg', wide);
  await pipeline.upload('seq/overwritten.jpg', tall);
  await pipeline.upload('seq/deleted-at-once.jpg', wide);
  await pipeline.remove('seq/deleted-at-once.jpg');
  await pipeline.upload('seq/corrupt-then-good.jpg', Buffer.from('garbage'));
  await pipeline.upload('seq/corrupt-then-good.jpg', wide);
  await pipeline.upload('seq/good-then-corrupt.jpg', wide);
  await pipeline.upload('seq/reuploaded.jpg', wide);
  await Promise.all(
    Array.from({ length: CONCURRENT }, async (_, index) =>
      pipeline.upload(`seq/many/${index}.jpg`, await jpeg(100 + index * 10, 100, '#3030c0')),
    ),
  );
  await pipeline.stack.whenIdle();

  await pipeline.upload('seq/good-then-corrupt.jpg', Buffer.from('garbage'));
  await pipeline.remove('seq/reuploaded.jpg');
  await pipeline.stack.whenIdle();
  await pipeline.upload('seq/reuploaded.jpg', tall);
  await pipeline.stack.whenIdle();

  // Older events delivered again after newer ones.
  redeliver('seq/overwritten.jpg', 'ObjectCreated');
  redeliver('seq/deleted-at-once.jpg', 'ObjectCreated');
  redeliver('seq/reuploaded.jpg', 'ObjectRemoved');
  await pipeline.stack.whenIdle();

  // The original is deleted while its labels are being detected: the removal is processed in full first.
  await pipeline.upload(HELD_KEY, wide);
  await rekognition.held;
  thumbnailDoneWhileHeld = await eventually(
    async () => (await pipeline.getItem(HELD_KEY))?.ThumbnailStatus === 'done',
  );
  await pipeline.remove(HELD_KEY);
  itemGoneWhileHeld = await eventually(async () => (await pipeline.getItem(HELD_KEY)) === undefined);
  rekognition.release();
  await pipeline.stack.whenIdle();
}, 120_000);

afterAll(async () => {
  rekognition.release();
  await pipeline?.close();
});

describe('overwrite', () => {
  it('keeps the thumbnail of the second of two quick uploads', async () => {
    expect(await thumbnailWidth('seq/overwritten.jpg')).toBe(Math.round((256 * TALL.width) / TALL.height));
  });

  it('records the thumbnail size of the second of two quick uploads', async () => {
    expect((await pipeline.getItem('seq/overwritten.jpg'))?.Thumbnail).toMatchObject({
      Width: 128,
      Height: 256,
    });
  });

  it('finishes a corrupt upload replaced by a good one as done', async () => {
    expect((await pipeline.getItem('seq/corrupt-then-good.jpg'))?.ThumbnailStatus).toBe('done');
  });

  it('records a good upload replaced by a corrupt one as failed', async () => {
    expect((await pipeline.getItem('seq/good-then-corrupt.jpg'))?.ThumbnailStatus).toBe('failed');
  });

  it('removes the thumbnail of a good upload replaced by a corrupt one', async () => {
    expect(await pipeline.thumbnailPresence('seq/good-then-corrupt.jpg')).toBe('NotFound');
  });
});

describe('delete', () => {
  it('leaves no item for an upload deleted at once', async () => {
    expect(await pipeline.getItem('seq/deleted-at-once.jpg')).toBeUndefined();
  });

  it('leaves no thumbnail for an upload deleted at once', async () => {
    expect(await pipeline.thumbnailPresence('seq/deleted-at-once.jpg')).toBe('NotFound');
  });

  it('processes a key uploaded again after its delete', async () => {
    expect(await thumbnailWidth('seq/reuploaded.jpg')).toBe(128);
  });

  it('records the thumbnail of the held upload before its delete', () => {
    expect(thumbnailDoneWhileHeld).toBe(true);
  });

  it('removes the item of an original deleted while its labels were detected', () => {
    expect(itemGoneWhileHeld).toBe(true);
  });

  it('leaves no item for an original deleted while its labels were detected', async () => {
    expect(await pipeline.getItem(HELD_KEY)).toBeUndefined();
  });

  it('leaves no thumbnail for an original deleted while its labels were detected', async () => {
    expect(await pipeline.thumbnailPresence(HELD_KEY)).toBe('NotFound');
  });
});

describe('redelivery of older events', () => {
  it('keeps the thumbnail of the newer upload when the older creation comes again', async () => {
    expect(await thumbnailWidth('seq/overwritten.jpg')).toBe(128);
  });

  it('creates no item when the creation of a deleted upload comes again', async () => {
    expect(await pipeline.getItem('seq/deleted-at-once.jpg')).toBeUndefined();
  });

  it('keeps the item of a re-upload when the older removal comes again', async () => {
    expect((await pipeline.getItem('seq/reuploaded.jpg'))?.ThumbnailStatus).toBe('done');
  });

  it('keeps the thumbnail of a re-upload when the older removal comes again', async () => {
    expect(await pipeline.thumbnailPresence('seq/reuploaded.jpg')).toBe('found');
  });
});

describe(`${CONCURRENT} concurrent uploads`, () => {
  const indexes = Array.from({ length: CONCURRENT }, (_, index) => index);

  it.each(indexes)('finishes upload %i with both stages done', async (index) => {
    const item = await pipeline.getItem(`seq/many/${index}.jpg`);
    expect([item?.ThumbnailStatus, item?.LabelsStatus]).toEqual(['done', 'done']);
  });

  it.each(indexes)('writes the thumbnail of upload %i from its own original', async (index) => {
    expect(await thumbnailWidth(`seq/many/${index}.jpg`)).toBe(Math.min(256, 100 + index * 10));
  });
});
