import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Config, Human } from '@vladmandic/human';

/** One object found by the COCO detector; the box is in ratios (0 to 1) of the upright image. */
export interface DetectedObject {
  /** COCO class name as the model reports it, such as "person" or "cell phone". */
  className: string;
  /** 0 to 1. */
  score: number;
  box: { left: number; top: number; width: number; height: number };
}

/** Decoded upright RGB pixels, 3 bytes per pixel, row by row. */
export interface RgbImage {
  data: Buffer;
  width: number;
  height: number;
}

/** The same pixels widened to one int32 per channel value, the dtype of the model's input tensor. */
export interface DetectorInput {
  pixels: Int32Array<ArrayBuffer>;
  width: number;
  height: number;
}

// The detector drops objects scoring under 5%, so a request with a lower MinConfidence gets no extra labels.
const DETECTOR_MIN_SCORE = 0.05;
const DETECTOR_MAX_OBJECTS = 50;

const localRequire = createRequire(__filename);

/**
 * Directory of the installed @vladmandic/human package. Its `exports` map has neither `./package.json` nor the
 * models, so the path is derived from the main entry (dist/human.node.js).
 */
function humanPackageDir(): string {
  return path.resolve(path.dirname(localRequire.resolve('@vladmandic/human')), '..');
}

/** Returns the models folder of the installed @vladmandic/human package, with centernet.json and its weights. */
export function defaultModelsDir(): string {
  return path.join(humanPackageDir(), 'models');
}

function wasmBinaryDir(): string {
  const backendEntry = localRequire.resolve('@tensorflow/tfjs-backend-wasm');
  // The entry is dist/index.js (or a file beside it); the .wasm binaries sit in the same dist folder.
  return `${path.dirname(backendEntry)}${path.sep}`;
}

let detectorPromise: Promise<Human> | undefined;
// The model keeps per-call state (the last result, frame-skip counters), so calls run one after another.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Loads the CenterNet COCO model with the TensorFlow.js WASM backend, once per thread (each worker thread has its
 * own copy). Nothing is downloaded: the model is read from `modelsDir`, by default the one shipped in
 * @vladmandic/human, and the WASM binaries from node_modules. The first successful call's `modelsDir` is the one
 * used for the rest of the thread's life.
 *
 * @throws Error naming the model file when the model cannot be read or parsed.
 */
export function loadObjectDetector(modelsDir: string = defaultModelsDir()): Promise<Human> {
  detectorPromise ??= createDetector(modelsDir).catch((error: unknown) => {
    detectorPromise = undefined;
    throw error;
  });
  return detectorPromise;
}

async function createDetector(modelsDir: string): Promise<Human> {
  const packageDir = humanPackageDir();
  // The package's exports map lacks a "./" prefix for this build, so it is loaded by absolute path.
  const { Human: HumanClass } = localRequire(path.join(packageDir, 'dist', 'human.node-wasm.js')) as {
    Human: new (config: Partial<Config>) => Human;
  };

  const config: Partial<Config> = {
    backend: 'wasm',
    wasmPath: wasmBinaryDir(),
    modelBasePath: pathToFileURL(`${modelsDir}${path.sep}`).href,
    // Human skips frames that look like the previous one; every request here is a new image.
    cacheSensitivity: 0,
    skipAllowed: false,
    cacheModels: false,
    warmup: 'none',
    debug: false,
    filter: { enabled: false },
    face: { enabled: false },
    body: { enabled: false },
    hand: { enabled: false },
    gesture: { enabled: false },
    segmentation: { enabled: false },
    object: {
      enabled: true,
      modelPath: 'centernet.json',
      minConfidence: DETECTOR_MIN_SCORE,
      maxDetected: DETECTOR_MAX_OBJECTS,
    },
  };
  const human = new HumanClass(config);
  const readFailures: string[] = [];
  await withoutAddedProcessHandlers(() => withFileUrlFetch(modelsDir, readFailures, () => human.load()));
  // Human logs a model that failed to load and carries on, and models.loaded() still lists it, so the per-model
  // statistics are the only place that records the failure.
  const stats = human.models.stats().modelStats.find((model) => model.name === 'centernet');
  if (stats?.loaded !== true) {
    const reason = readFailures.length > 0 ? readFailures.join('; ') : 'the model files could not be parsed';
    throw new Error(
      `The CenterNet object detector did not load from ${path.join(modelsDir, 'centernet.json')}: ${reason}. ` +
        'Reinstall @vladmandic/human (npm ci) to restore the model files.',
    );
  }
  return human;
}

const PROCESS_ERROR_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * Runs `action` and then removes the process error handlers it added. tfjs-backend-wasm's Emscripten module installs
 * handlers that rethrow every uncaught exception and unhandled rejection, which turned a harmless rejection during the
 * stack's shutdown into a crash that skipped the clean-up.
 */
async function withoutAddedProcessHandlers<T>(action: () => Promise<T>): Promise<T> {
  type Listener = (...args: unknown[]) => void;
  const listenersOf = (event: string) => process.listeners(event as 'uncaughtException') as Listener[];
  const before = new Map(PROCESS_ERROR_EVENTS.map((event) => [event, new Set(listenersOf(event))]));
  try {
    return await action();
  } finally {
    for (const event of PROCESS_ERROR_EVENTS) {
      for (const listener of listenersOf(event)) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
      }
    }
  }
}

/**
 * Runs `action` with `fetch` able to read file:// URLs inside `allowedDir`, because Human loads models with fetch
 * and Node's fetch has no file scheme. Every other URL goes to the original fetch, which is restored afterwards.
 * Files that cannot be read are added to `readFailures`, because Human only logs them.
 */
async function withFileUrlFetch<T>(
  allowedDir: string,
  readFailures: string[],
  action: () => Promise<T>,
): Promise<T> {
  const originalFetch = globalThis.fetch;
  const fileFetch: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith('file:')) return originalFetch(input, init);

    const filePath = fileURLToPath(url);
    if (!filePath.startsWith(`${allowedDir}${path.sep}`)) {
      readFailures.push(`${filePath} is outside ${allowedDir}`);
      return new Response(`Not a model file: ${url}`, { status: 404 });
    }
    let body: Buffer;
    try {
      body = await readFile(filePath);
    } catch (error) {
      readFailures.push(error instanceof Error ? error.message : String(error));
      throw error;
    }
    const contentType = filePath.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    return new Response(body, { status: 200, headers: { 'content-type': contentType } });
  };

  globalThis.fetch = fileFetch;
  try {
    return await action();
  } finally {
    globalThis.fetch = originalFetch;
  }
}

/** Widens decoded RGB bytes to the int32 values the model's input tensor takes (a new, transferable buffer). */
export function toDetectorInput(image: RgbImage): DetectorInput {
  return { pixels: new Int32Array(image.data), width: image.width, height: image.height };
}

/** Detects COCO objects in an upright RGB image, on the calling thread. */
export function detectObjects(image: RgbImage): Promise<DetectedObject[]> {
  return detectObjectsInPixels(toDetectorInput(image));
}

/** Detects COCO objects in widened pixels. Calls are queued because the model is not re-entrant. */
export function detectObjectsInPixels(input: DetectorInput): Promise<DetectedObject[]> {
  const run = queue.then(() => runDetector(input));
  queue = run.catch(() => undefined);
  return run;
}

async function runDetector({ pixels, width, height }: DetectorInput): Promise<DetectedObject[]> {
  const human = await loadObjectDetector();
  const tensor = human.tf.tensor4d(pixels, [1, height, width, 3], 'int32');
  try {
    const result = await withoutAddedProcessHandlers(() => human.detect(tensor));
    return result.object.map((object) => ({
      className: object.label,
      score: object.score,
      box: clampBox(object.boxRaw),
    }));
  } finally {
    human.tf.dispose(tensor);
  }
}

/** Turns the model's [x, y, width, height] ratios into a box inside the image; the model can reach past edges. */
function clampBox([x, y, width, height]: [number, number, number, number]): DetectedObject['box'] {
  const clamp = (value: number) => Math.min(1, Math.max(0, value));
  const left = clamp(x);
  const top = clamp(y);
  return { left, top, width: clamp(x + width) - left, height: clamp(y + height) - top };
}
