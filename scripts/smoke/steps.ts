import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import type { SmokeTarget } from './target';
import { expectedThumbnailSize, type ThumbnailBox } from './thumbnail-box';

/** Names of the smoke steps, in the order they run. */
export const SMOKE_STEPS = ['upload', 'labels', 'thumbnail', 'delete', 'cleanup'] as const;
export type SmokeStepName = (typeof SMOKE_STEPS)[number];

export interface StepResult {
  step: SmokeStepName;
  ok: boolean;
  durationMs: number;
  /** Outcome of the step: what it saw, or why it failed. */
  detail: string;
}

export interface SmokeReport {
  key: string;
  steps: StepResult[];
  /** The first step that failed; undefined when all passed. */
  failedStep: SmokeStepName | undefined;
}

export interface SmokeOptions {
  sample: { body: Buffer; contentType: string; name: string };
  thumbnailBox: ThumbnailBox;
  /** How long each waiting step polls before it fails, in ms. */
  waitTimeoutMs: number;
  pollIntervalMs?: number;
  /** Object key of the upload; default `smoke/<time>-<uuid>-<sample name>`, so runs never collide. */
  key?: string;
  /** Called after each step, so a caller can print progress as it happens. */
  onStep?: (result: StepResult) => void;
}

/** A step's failure; its message is the step's detail line. */
class StepFailure extends Error {
  override name = 'StepFailure';
}

interface ImageRecord {
  status?: string;
  labels?: { name: string; confidence: number }[];
  errors?: Record<string, string | null>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function imageUrl(target: SmokeTarget, route: 'images' | 'thumbnails', key: string): string {
  // `/` inside a key is sent as %2F, so the whole key stays one path parameter (docs/api.md).
  return `${target.apiUrl}/${route}/${encodeURIComponent(key)}`;
}

/** A finished API response with its whole body. */
interface ApiResponse {
  status: number;
  contentType: string | null;
  body: Buffer;
}

/** Says why a fetch failed, with the cause that Node's "fetch failed" hides (such as ECONNREFUSED). */
function describeFetchError(error: unknown, timeoutMs: number): string {
  const { name, message, cause } = error as Error & { cause?: { code?: string; message?: string } };
  if (name === 'TimeoutError') return `returned no complete response within ${timeoutMs / 1000} s`;
  return `failed: ${cause?.message ?? cause?.code ?? message}`;
}

/**
 * Sends one API request with the API key and reads the whole response. A request that cannot connect, or that
 * does not finish within `timeoutMs`, fails the step with the route and the reason, so no step can hang.
 */
async function apiRequest(
  target: SmokeTarget,
  url: string,
  timeoutMs: number,
  init: RequestInit = {},
): Promise<ApiResponse> {
  const headers = new Headers(init.headers);
  headers.set('x-api-key', target.apiKey);
  const route = `${init.method ?? 'GET'} ${url.slice(target.apiUrl.length).replace(/\/[^/]+$/, '/{key}')}`;
  try {
    const response = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(timeoutMs) });
    const body = Buffer.from(await response.arrayBuffer());
    return { status: response.status, contentType: response.headers.get('content-type'), body };
  } catch (error) {
    throw new StepFailure(
      `${route} ${describeFetchError(error, timeoutMs)}. Check that the API at ${target.apiUrl} is running`,
    );
  }
}

// A request made while a step waits gets at least this long, even when the step's deadline is nearer.
const MIN_REQUEST_TIMEOUT_MS = 1000;

/**
 * Polls `attempt` until it returns a value or the wait times out, then throws what `describeLast` returns.
 * `attempt` receives how long its requests may take: the time left until the deadline.
 */
async function pollUntil<T>(
  options: SmokeOptions,
  attempt: (timeoutMs: number) => Promise<T | undefined>,
  describeLast: () => string,
): Promise<T> {
  const deadline = Date.now() + options.waitTimeoutMs;
  for (;;) {
    const value = await attempt(Math.max(MIN_REQUEST_TIMEOUT_MS, deadline - Date.now()));
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      throw new StepFailure(`timed out after ${options.waitTimeoutMs / 1000} s: ${describeLast()}`);
    }
    await sleep(options.pollIntervalMs ?? 1000);
  }
}

async function upload(target: SmokeTarget, key: string, options: SmokeOptions): Promise<string> {
  const response = await apiRequest(target, imageUrl(target, 'images', key), options.waitTimeoutMs, {
    method: 'PUT',
    headers: { 'Content-Type': options.sample.contentType },
    body: options.sample.body,
  });
  const text = response.body.toString('utf8');
  if (response.status !== 201) {
    throw new StepFailure(
      `PUT /images/{key} returned HTTP ${response.status}, expected 201: ${text.slice(0, 300)}`,
    );
  }
  return `PUT /images/${encodeURIComponent(key)} returned 201 (${options.sample.body.length} bytes)`;
}

async function waitForLabels(target: SmokeTarget, key: string, options: SmokeOptions): Promise<string> {
  let last = 'no response yet';
  const record = await pollUntil(
    options,
    async (timeoutMs) => {
      const response = await apiRequest(target, imageUrl(target, 'images', key), timeoutMs);
      const text = response.body.toString('utf8');
      last = `GET /images/{key} returned HTTP ${response.status}: ${text.slice(0, 300)}`;
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw new StepFailure(last);
      const body = JSON.parse(text) as ImageRecord;
      return body.status === 'pending' ? undefined : body;
    },
    () => last,
  );
  if (record.status !== 'done') {
    throw new StepFailure(
      `image status is "${record.status}", expected "done"; errors: ${JSON.stringify(record.errors)}`,
    );
  }
  const labels = record.labels ?? [];
  if (labels.length === 0) throw new StepFailure('image is done but has no labels');
  return `done with ${labels.length} labels: ${labels.map((label) => `${label.name} ${label.confidence.toFixed(0)}%`).join(', ')}`;
}

async function checkThumbnail(target: SmokeTarget, key: string, options: SmokeOptions): Promise<string> {
  const expected = await expectedThumbnailSize(options.sample.body, options.thumbnailBox);
  let last = 'no response yet';
  const bytes = await pollUntil(
    options,
    async (timeoutMs) => {
      const response = await apiRequest(target, imageUrl(target, 'thumbnails', key), timeoutMs, {
        headers: { Accept: 'image/*' },
      });
      last = `GET /thumbnails/{key} returned HTTP ${response.status} (${response.contentType})`;
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw new StepFailure(last);
      return response.body;
    },
    () => last,
  );
  const metadata = await sharp(bytes).metadata();
  const seen = `${metadata.width}x${metadata.height} ${metadata.format}`;
  if (metadata.width !== expected.width || metadata.height !== expected.height) {
    throw new StepFailure(`thumbnail is ${seen}, expected ${expected.width}x${expected.height}`);
  }
  return `thumbnail ${seen}, ${bytes.length} bytes`;
}

async function deleteOriginal(target: SmokeTarget, key: string, options: SmokeOptions): Promise<string> {
  await target.s3.send(new DeleteObjectCommand({ Bucket: target.rawBucket, Key: key }), {
    abortSignal: AbortSignal.timeout(options.waitTimeoutMs),
  });
  return `deleted s3://${target.rawBucket}/${key}`;
}

/** Waits until the ObjectRemoved event has removed the record and the thumbnail. */
async function waitForCleanup(target: SmokeTarget, key: string, options: SmokeOptions): Promise<string> {
  let last = 'no response yet';
  await pollUntil(
    options,
    async (timeoutMs) => {
      const record = await apiRequest(target, imageUrl(target, 'images', key), timeoutMs);
      const thumbnail = await apiRequest(target, imageUrl(target, 'thumbnails', key), timeoutMs);
      last = `GET /images/{key} returned HTTP ${record.status}, GET /thumbnails/{key} HTTP ${thumbnail.status}`;
      return record.status === 404 && thumbnail.status === 404 ? true : undefined;
    },
    () => `${last}; expected 404 for both`,
  );
  return 'record and thumbnail are gone (404)';
}

/**
 * Runs the smoke steps against a target: uploads a sample through the API, waits for its labels and its thumbnail,
 * deletes the original from the raw bucket and waits until the record and thumbnail are gone. Steps stop at the
 * first failure, but an uploaded original is always deleted, so a failed run leaves nothing behind that the
 * pipeline's own cleanup would not remove.
 */
export async function runSmoke(target: SmokeTarget, options: SmokeOptions): Promise<SmokeReport> {
  const key =
    options.key ??
    `smoke/${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}-${options.sample.name}`;
  const steps: StepResult[] = [];
  const actions: Record<SmokeStepName, () => Promise<string>> = {
    upload: () => upload(target, key, options),
    labels: () => waitForLabels(target, key, options),
    thumbnail: () => checkThumbnail(target, key, options),
    delete: () => deleteOriginal(target, key, options),
    cleanup: () => waitForCleanup(target, key, options),
  };

  const run = async (step: SmokeStepName): Promise<boolean> => {
    const startedAt = Date.now();
    let result: StepResult;
    try {
      result = { step, ok: true, durationMs: 0, detail: await actions[step]() };
    } catch (error) {
      result = { step, ok: false, durationMs: 0, detail: (error as Error).message };
    }
    result.durationMs = Date.now() - startedAt;
    steps.push(result);
    options.onStep?.(result);
    return result.ok;
  };

  let failedStep: SmokeStepName | undefined;
  for (const step of SMOKE_STEPS) {
    if (!(await run(step))) {
      failedStep = step;
      break;
    }
  }
  const uploaded = steps.some((result) => result.step === 'upload' && result.ok);
  const deleted = steps.some((result) => result.step === 'delete');
  if (failedStep !== undefined && uploaded && !deleted) await run('delete');
  return { key, steps, failedStep };
}
