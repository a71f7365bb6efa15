/**
 * Load benchmark of the whole local pipeline: N real photos uploaded at once through the codeless API, then counted
 * in the thumbnail bucket and the table. It fails (exit code 1) when any image is lost or duplicated, so CI can run
 * the quick form as a check.
 *
 * Usage: node --import tsx bench/load.ts [--count 300] [--quick] [--upload-concurrency N] [--concurrency N]
 *        [--timeout SECONDS] [--out FILE]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { contentTypeFor } from '../local/batch/input-files';
import { runWithConcurrency } from '../local/concurrency';
import { ensurePackaged } from '../local/packaging';
import { type LocalStack, startLocalStack } from '../local/stack';

const PROJECT_DIR = path.resolve(__dirname, '..');
const DEFAULT_COUNT = 300;
const QUICK_COUNT = 20;
const DEFAULT_OUT = path.join(PROJECT_DIR, 'bench', 'results', 'load.md');

/** Photos the pipeline finishes as `done`: the samples and the permissively licensed fixtures (see their SOURCES.md). */
const SOURCE_PHOTOS = [
  'samples/astronaut_portrait.png',
  'samples/coffee_cup.png',
  'samples/dog_bicycle_truck.jpg',
  'samples/person_dog_horse.jpg',
  ...Array.from({ length: 9 }, (_, orientation) => `test/fixtures/orientation/Landscape_${orientation}.jpg`),
  'test/fixtures/formats/cmyk_icc_swop.jpg',
  'test/fixtures/formats/grayscale_concert.jpg',
  'test/fixtures/formats/webp_lossy_photo.webp',
];

const USAGE = `Usage: node --import tsx bench/load.ts [options]
  --count N                 images to upload (default ${DEFAULT_COUNT})
  --quick                   ${QUICK_COUNT} images, and no results file unless --out is given (what CI runs)
  --upload-concurrency N    uploads in flight at once (default: all of them)
  --concurrency N           execution environments per function in the local stack (default 2)
  --timeout SECONDS         give up when no image finished for this long (default 180)
  --out FILE                markdown results file (default bench/results/load.md for a full run)`;

interface Options {
  count: number;
  quick: boolean;
  uploadConcurrency: number;
  functionConcurrency: number;
  timeoutMs: number;
  out: string | undefined;
}

function positiveInteger(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new Error(`--${option} must be a whole number of at least 1, got "${value}"\n${USAGE}`);
  }
  return number;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      count: { type: 'string' },
      quick: { type: 'boolean' },
      'upload-concurrency': { type: 'string' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const count = positiveInteger(values.count, 'count', quick ? QUICK_COUNT : DEFAULT_COUNT);
  // A quick run is a check, so it leaves the recorded figures of the full run alone unless --out is given.
  let out: string | undefined = quick ? undefined : DEFAULT_OUT;
  if (values.out !== undefined) out = path.resolve(values.out);
  return {
    count,
    quick,
    uploadConcurrency: positiveInteger(values['upload-concurrency'], 'upload-concurrency', count),
    functionConcurrency: positiveInteger(values.concurrency, 'concurrency', 2),
    timeoutMs: positiveInteger(values.timeout, 'timeout', 180) * 1000,
    out,
  };
}

interface Upload {
  key: string;
  source: string;
  startedAt: number;
  status?: number;
  error?: string;
}

/** Plans one key per image, `load/NNN-NAME`, cycling through the source photos. */
function planUploads(count: number): Upload[] {
  const width = String(count - 1).length;
  return Array.from({ length: count }, (_, index) => {
    const source = SOURCE_PHOTOS[index % SOURCE_PHOTOS.length] as string;
    return {
      key: `load/${String(index).padStart(width, '0')}-${path.basename(source)}`,
      source,
      startedAt: 0,
    };
  });
}

async function uploadAll(
  api: { url: string; apiKey: string },
  uploads: Upload[],
  concurrency: number,
): Promise<void> {
  const bodies = new Map<string, Buffer>();
  for (const source of SOURCE_PHOTOS) bodies.set(source, await readFile(path.join(PROJECT_DIR, source)));
  await runWithConcurrency(uploads, concurrency, async (upload) => {
    upload.startedAt = Date.now();
    try {
      const response = await fetch(`${api.url}/images/${encodeURIComponent(upload.key)}`, {
        method: 'PUT',
        headers: { 'Content-Type': contentTypeFor(upload.source), 'x-api-key': api.apiKey },
        body: bodies.get(upload.source),
      });
      upload.status = response.status;
      if (response.status !== 201) upload.error = (await response.text()).slice(0, 200);
      else await response.arrayBuffer();
    } catch (error) {
      upload.error = (error as Error).message;
    }
  });
}

type Item = Record<string, unknown>;

async function scanItems(documents: DynamoDBDocumentClient, tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

function isFinished(item: Item): boolean {
  const finished = (status: unknown) => status === 'done' || status === 'failed';
  return finished(item.ThumbnailStatus) && finished(item.LabelsStatus);
}

/** Polls the table until every uploaded key is finished, or until no key finished for `timeoutMs`. */
async function waitForItems(
  documents: DynamoDBDocumentClient,
  tableName: string,
  keys: ReadonlySet<string>,
  timeoutMs: number,
): Promise<void> {
  let finishedBefore = -1;
  let progressAt = Date.now();
  for (;;) {
    const items = await scanItems(documents, tableName);
    const finished = items.filter((item) => keys.has(String(item.Id)) && isFinished(item)).length;
    if (finished >= keys.size) return;
    if (finished > finishedBefore) {
      finishedBefore = finished;
      progressAt = Date.now();
      // A terminal shows one updating line; a log file gets one line per change.
      process.stderr.write(
        `${process.stderr.isTTY ? '\r' : ''}${finished}/${keys.size} finished${process.stderr.isTTY ? '' : '\n'}`,
      );
    }
    if (Date.now() - progressAt > timeoutMs) {
      process.stderr.write(`\nno image finished for ${timeoutMs / 1000} s; counting what is there\n`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Nearest-rank percentile of an ascending list. */
function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[rank - 1] as number;
}

function countOccurrences(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

interface LoadResult {
  uploaded: number;
  rejectedUploads: Upload[];
  thumbnails: number;
  finishedDone: number;
  finishedFailed: number;
  lost: string[];
  duplicated: string[];
  unexpected: string[];
  wallSeconds: number;
  uploadSeconds: number;
  latencySeconds: number[];
}

/** Counts the outcome of every upload: one item done and one thumbnail per key, nothing else. */
function countOutcome(uploads: Upload[], items: Item[], thumbnailKeys: string[]): LoadResult {
  const expected = new Set(uploads.map((upload) => upload.key));
  const itemCounts = countOccurrences(items.map((item) => String(item.Id)));
  const thumbnailCounts = countOccurrences(thumbnailKeys);
  const itemById = new Map(items.map((item) => [String(item.Id), item]));

  const lost = uploads
    .filter((upload) => {
      const item = itemById.get(upload.key);
      return (
        item?.ThumbnailStatus !== 'done' || item.LabelsStatus !== 'done' || !thumbnailCounts.has(upload.key)
      );
    })
    .map((upload) => upload.key);
  const duplicated = [...expected].filter(
    (key) => (itemCounts.get(key) ?? 0) > 1 || (thumbnailCounts.get(key) ?? 0) > 1,
  );
  const unexpected = [...new Set([...itemCounts.keys(), ...thumbnailCounts.keys()])].filter(
    (key) => !expected.has(key),
  );

  const firstStart = Math.min(...uploads.map((upload) => upload.startedAt));
  const finishTimes: number[] = [];
  const latencies: number[] = [];
  for (const upload of uploads) {
    const item = itemById.get(upload.key);
    if (item === undefined || !isFinished(item)) continue;
    const finishedAt = Math.max(
      Date.parse(String(item.ThumbnailUpdatedAt)),
      Date.parse(String(item.LabelsUpdatedAt)),
    );
    finishTimes.push(finishedAt);
    latencies.push((finishedAt - upload.startedAt) / 1000);
  }
  return {
    uploaded: uploads.filter((upload) => upload.status === 201).length,
    rejectedUploads: uploads.filter((upload) => upload.status !== 201),
    thumbnails: [...thumbnailCounts.keys()].filter((key) => expected.has(key)).length,
    finishedDone: uploads.filter((upload) => {
      const item = itemById.get(upload.key);
      return item?.ThumbnailStatus === 'done' && item.LabelsStatus === 'done';
    }).length,
    finishedFailed: uploads.filter((upload) => {
      const item = itemById.get(upload.key);
      return (
        item !== undefined &&
        isFinished(item) &&
        (item.ThumbnailStatus === 'failed' || item.LabelsStatus === 'failed')
      );
    }).length,
    lost,
    duplicated,
    unexpected,
    wallSeconds: finishTimes.length === 0 ? Number.NaN : (Math.max(...finishTimes) - firstStart) / 1000,
    uploadSeconds: 0,
    latencySeconds: latencies.sort((a, b) => a - b),
  };
}

function machineLine(loadAverage: number[]): string {
  const cpus = os.cpus();
  const memoryGiB = (os.totalmem() / 1024 ** 3).toFixed(1);
  const load = loadAverage.map((value) => value.toFixed(2)).join(', ');
  return (
    `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${memoryGiB} GiB memory, ` +
    `Node.js ${process.version}, ${os.platform()} ${os.release()}; load average at start ${load} (1, 5, 15 min)`
  );
}

function formatSeconds(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(1)} s` : 'n/a';
}

function renderMarkdown(options: Options, result: LoadResult, command: string, machine: string): string {
  const throughput = result.finishedDone / result.wallSeconds;
  const rows: [string, string][] = [
    ['images uploaded through the API (201)', `${result.uploaded} of ${options.count}`],
    ['thumbnails in the thumbnail bucket', String(result.thumbnails)],
    ['items finished with both stages done', String(result.finishedDone)],
    ['items finished as failed', String(result.finishedFailed)],
    ['lost (no done item or no thumbnail)', String(result.lost.length)],
    ['duplicated (a key listed twice)', String(result.duplicated.length)],
    ['objects or items under keys never uploaded', String(result.unexpected.length)],
    ['upload phase (all PUT requests answered)', formatSeconds(result.uploadSeconds)],
    ['wall time, first upload to last item done', formatSeconds(result.wallSeconds)],
    ['throughput', Number.isFinite(throughput) ? `${throughput.toFixed(2)} images/s` : 'n/a'],
    ['upload to done, p50', formatSeconds(percentile(result.latencySeconds, 0.5))],
    ['upload to done, p95', formatSeconds(percentile(result.latencySeconds, 0.95))],
    ['upload to done, max', formatSeconds(result.latencySeconds.at(-1) ?? Number.NaN)],
  ];
  return [
    `## Load: ${options.count} images through the local API`,
    '',
    `Command: \`${command}\``,
    '',
    `Machine: ${machine}. Measured ${new Date().toISOString()}.`,
    '',
    `Inputs: ${SOURCE_PHOTOS.length} photos (${SOURCE_PHOTOS.join(', ')}), uploaded in turn under ${options.count} ` +
      `distinct keys \`load/NNN-NAME\`, ${options.uploadConcurrency} requests in flight at once. The local stack runs ` +
      `${options.functionConcurrency} execution environments per function; analyzeImage calls the local Rekognition ` +
      'endpoint (a COCO object detector on TensorFlow.js WebAssembly), so these figures describe this machine, not AWS.',
    '',
    "Done time is the later of the two stages' update timestamps in the item; upload time is taken just before " +
      'the PUT request. Both come from the same clock.',
    '',
    '| figure | value |',
    '|---|---|',
    ...rows.map(([name, value]) => `| ${name} | ${value} |`),
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const options = readOptions();
  const loadAverage = os.loadavg();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'load-bench-'));
  let stack: LocalStack | undefined;
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  try {
    await ensurePackaged(PROJECT_DIR, 'local', (line) => process.stderr.write(`${line}\n`));
    stack = await startLocalStack({
      projectDir: PROJECT_DIR,
      dataDir: path.join(workDir, 'data'),
      ports: { s3: 0, dynamodb: 0, rekognition: 0, api: 0 },
      maxConcurrency: options.functionConcurrency,
      writeStackFile: false,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const { api } = stack.description;
    if (api === null)
      throw new Error('the compiled template has no RestApi, so nothing can be uploaded through it');
    const s3 = new S3Client({
      endpoint: stack.description.endpoints.s3,
      region: stack.description.region,
      forcePathStyle: true,
      credentials: { ...credentials },
    });
    const documents = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.description.endpoints.dynamodb,
        region: stack.description.region,
        credentials: { ...credentials },
      }),
    );

    const uploads = planUploads(options.count);
    process.stderr.write(`uploading ${uploads.length} images through ${api.url}\n`);
    const uploadStart = Date.now();
    await uploadAll(api, uploads, options.uploadConcurrency);
    const uploadSeconds = (Date.now() - uploadStart) / 1000;
    const keys = new Set(uploads.filter((upload) => upload.status === 201).map((upload) => upload.key));
    await waitForItems(documents, stack.description.tableName, keys, options.timeoutMs);
    process.stderr.write('\n');
    await stack.whenIdle();

    const items = await scanItems(documents, stack.description.tableName);
    const thumbnailKeys = await listKeys(s3, stack.description.thumbnailBucket ?? '');
    const result = { ...countOutcome(uploads, items, thumbnailKeys), uploadSeconds };
    s3.destroy();
    documents.destroy();

    const command = ['node --import tsx bench/load.ts', ...process.argv.slice(2)].join(' ');
    const markdown = renderMarkdown(options, result, command, machineLine(loadAverage));
    console.log(markdown);
    for (const upload of result.rejectedUploads) {
      console.error(`upload of ${upload.key} failed: HTTP ${upload.status ?? 'none'} ${upload.error ?? ''}`);
    }
    for (const key of result.lost) console.error(`lost: ${key}`);
    for (const key of result.duplicated) console.error(`duplicated: ${key}`);
    for (const key of result.unexpected) console.error(`unexpected key: ${key}`);
    if (options.out !== undefined) {
      await mkdir(path.dirname(options.out), { recursive: true });
      await writeFile(options.out, markdown);
      console.error(`wrote ${path.relative(process.cwd(), options.out)}`);
    }

    const complete =
      result.uploaded === options.count &&
      result.thumbnails === options.count &&
      result.finishedDone === options.count &&
      result.lost.length === 0 &&
      result.duplicated.length === 0 &&
      result.unexpected.length === 0;
    if (!complete) console.error('FAILED: images were lost, duplicated or left unfinished (see above)');
    return complete ? 0 : 1;
  } finally {
    await stack?.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
