import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startLocalStack } from '../local/stack';
import { type Summary, summarize } from './stats';

const PROJECT_DIR = path.resolve(__dirname, '..');
// The list route clamps `limit` to 1..100 (resources/api.yml), so 100 is the fewest requests per item.
const PAGE_LIMIT = 100;
const BATCH_WRITE_MAX_ITEMS = 25;

export interface ListRun {
  items: number;
  pages: number;
  /** Time to read every page, one request after another. */
  seconds: Summary;
  /** Time to write the items added for this size with BatchWriteItem. */
  seedSeconds: number;
}

export interface ListSection {
  pageLimit: number;
  itemBytes: number;
  runs: ListRun[];
}

/** Builds an item as both functions leave it after a photo: source, thumbnail and three labels. */
function sampleItem(index: number): Record<string, unknown> {
  const id = `list-bench/${String(index).padStart(6, '0')}-photo.jpg`;
  const label = (name: string, confidence: number, parents: string[]) => ({
    Name: name,
    Confidence: confidence,
    Parents: parents.map((parent) => ({ Name: parent })),
    Categories: [{ Name: 'Animals and Pets' }],
    Instances: [{ Confidence: confidence, BoundingBox: { Width: 0.41, Height: 0.52, Left: 0.12, Top: 0.3 } }],
  });
  return {
    Id: id,
    Source: {
      Bucket: 'raw',
      Key: id,
      Size: 2_913_134,
      ETag: '"0f343b0931126a20f133d67c2b018a3b"',
      Format: 'jpeg',
      Width: 4032,
      Height: 3024,
    },
    Thumbnail: {
      Bucket: 'thumbnails',
      Key: id,
      Width: 256,
      Height: 192,
      Format: 'jpeg',
      ContentType: 'image/jpeg',
      Size: 14966,
    },
    ThumbnailStatus: 'done',
    ThumbnailSequencer: '0000000000000000000000000000000000000000000000000000000000000000A',
    ThumbnailUpdatedAt: '2026-12-04T22:00:00.000Z',
    Labels: [
      label('Dog', 91.5, ['Animal', 'Mammal', 'Pet']),
      label('Bicycle', 88.1, ['Vehicle']),
      label('Truck', 79.9, ['Vehicle']),
    ],
    LabelsStatus: 'done',
    LabelsSequencer: '0000000000000000000000000000000000000000000000000000000000000000A',
    LabelsUpdatedAt: '2026-12-04T22:00:01.000Z',
    UpdatedAt: '2026-12-04T22:00:01.000Z',
  };
}

async function seedItems(
  documents: DynamoDBDocumentClient,
  tableName: string,
  from: number,
  to: number,
): Promise<void> {
  const starts: number[] = [];
  for (let start = from; start < to; start += BATCH_WRITE_MAX_ITEMS) starts.push(start);
  const writeBatch = async (start: number) => {
    let requests = Array.from({ length: Math.min(BATCH_WRITE_MAX_ITEMS, to - start) }, (_unused, offset) => ({
      PutRequest: { Item: sampleItem(start + offset) },
    }));
    while (requests.length > 0) {
      const response = await documents.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
      );
      requests = (response.UnprocessedItems?.[tableName] ?? []) as typeof requests;
    }
  };
  // Four requests in flight, as a loader would use; dynalite serialises writes anyway.
  for (let index = 0; index < starts.length; index += 4) {
    await Promise.all(starts.slice(index, index + 4).map(writeBatch));
  }
}

async function pageThrough(api: { url: string; apiKey: string }): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let next: string | undefined;
  let pages = 0;
  do {
    const query = `?limit=${PAGE_LIMIT}${next === undefined ? '' : `&next=${encodeURIComponent(next)}`}`;
    const response = await fetch(`${api.url}/images${query}`, { headers: { 'x-api-key': api.apiKey } });
    if (response.status !== 200) {
      throw new Error(`GET /images${query} returned ${response.status}: ${await response.text()}`);
    }
    const body = (await response.json()) as { items: { id?: string; Id?: string }[]; next?: string };
    for (const item of body.items) ids.push(String(item.id ?? item.Id));
    next = body.next;
    pages += 1;
  } while (next !== undefined);
  return { ids, pages };
}

/**
 * Seeds the local stack's table with BatchWriteItem, straight into dynalite, then reads every page of
 * `GET /images` through the local API with the API key, `rounds` times per size.
 */
export async function benchListRoute(
  sizes: readonly number[],
  rounds: number,
  workDir: string,
  templatePath: string,
  log: (line: string) => void,
): Promise<ListSection> {
  const stack = await startLocalStack({
    projectDir: PROJECT_DIR,
    templatePath,
    dataDir: path.join(workDir, 'list-data'),
    ports: { s3: 0, dynamodb: 0, rekognition: 0, api: 0 },
    rekognition: false,
    writeStackFile: false,
    testEvents: 'never',
    log: () => {},
  });
  const { description } = stack;
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: description.endpoints.dynamodb,
      region: description.region,
      credentials: { ...description.credentials },
    }),
  );
  const runs: ListRun[] = [];
  try {
    const api = description.api;
    if (api === null)
      throw new Error('The compiled template has no RestApi, so there is no list route to time');
    // The first request compiles the route's mapping templates; it is not part of any timed pass.
    await fetch(`${api.url}/images?limit=1`, { headers: { 'x-api-key': api.apiKey } });
    let seeded = 0;
    for (const size of [...sizes].sort((a, b) => a - b)) {
      const seedStarted = performance.now();
      await seedItems(documents, description.tableName, seeded, size);
      const seedSeconds = (performance.now() - seedStarted) / 1000;
      seeded = size;

      const times: number[] = [];
      let pages = 0;
      for (let round = 0; round < rounds; round++) {
        const started = performance.now();
        const result = await pageThrough(api);
        times.push((performance.now() - started) / 1000);
        pages = result.pages;
        if (result.ids.length !== size || new Set(result.ids).size !== size) {
          throw new Error(
            `Paging through ${size} items returned ${result.ids.length} ids, ${new Set(result.ids).size} distinct`,
          );
        }
      }
      const seconds = summarize(times);
      log(`  ${size} items: ${pages} pages in ${seconds.median.toFixed(2)} s`);
      runs.push({ items: size, pages, seconds, seedSeconds });
    }
  } finally {
    documents.destroy();
    await stack.close();
  }
  return { pageLimit: PAGE_LIMIT, itemBytes: Buffer.byteLength(JSON.stringify(sampleItem(0))), runs };
}
