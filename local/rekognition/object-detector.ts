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

function wasmBinaryDir(): string {
  const backendEntry = localRequire.resolve('@tensorflow/tfjs-backend-wasm');
  // The entry is dist/index.js (or a file beside it); the .wasm binaries sit in the same dist folder.
  return `${path.dirname(backendEntry)}${path.sep}`;
}

let detectorPromise: Promise<Human> | undefined;
// The model keeps per-call state (the last result, frame-skip counters), so calls run one after another.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Loads the CenterNet COCO model shipped in @vladmandic/human with the TensorFlow.js WASM backend, once per
 * process. Nothing is downloaded: the model and the WASM binaries are read from node_modules.
 */
export function loadObjectDetector(): Promise<Human> {
  detectorPromise ??= createDetector().catch((error: unknown) => {
    detectorPromise = undefined;
    throw error;
  });
  return detectorPromise;
}

async function createDetector(): Promise<Human> {
  const packageDir = humanPackageDir();
  const modelsDir = path.join(packageDir, 'models');
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
  await withoutAddedProcessHandlers(() => withFileUrlFetch(modelsDir, () => human.load()));
  if (!human.models.loaded().includes('centernet')) {
    throw new Error(
      `The CenterNet object detector did not load from ${modelsDir}; reinstall @vladmandic/human.`,
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
 */
async function withFileUrlFetch<T>(allowedDir: string, action: () => Promise<T>): Promise<T> {
  const originalFetch = globalThis.fetch;
  const fileFetch: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith('file:')) return originalFetch(input, init);

    const filePath = fileURLToPath(url);
    if (!filePath.startsWith(`${allowedDir}${path.sep}`)) {
      return new Response(`Not a model file: ${url}`, { status: 404 });
    }
    const body = await readFile(filePath);
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

/** Detects COCO objects in an upright RGB image. Calls are queued because the model is not re-entrant. */
export function detectObjects(image: RgbImage): Promise<DetectedObject[]> {
  const run = queue.then(() => runDetector(image));
  queue = run.catch(() => undefined);
  return run;
}

async function runDetector(image: RgbImage): Promise<DetectedObject[]> {
  const human = await loadObjectDetector();
  const pixels = new Int32Array(image.data);
  const tensor = human.tf.tensor4d(pixels, [1, image.height, image.width, 3], 'int32');
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
