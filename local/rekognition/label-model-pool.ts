import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LabelWorkerData, LabelWorkerRequest, LabelWorkerResponse } from './label-worker-protocol';
import { type DetectedObject, defaultModelsDir, type RgbImage, toDetectorInput } from './object-detector';
import { RekognitionServiceError } from './service-error';

/**
 * Worker threads that run the label model by default. tfjs-backend-wasm 4.22 reports no multithread support in
 * Node.js 20, so each worker keeps at most one core busy, and one worker leaves the rest to the stack's thread, the
 * functions' child processes and sharp. On a 2-core AMD EPYC, with bench/pipeline.ts's procedure at N = 300, one
 * worker already matched the model's own throughput (5.09 images/s) and a second added 13% (5.75 images/s) for
 * about 170 MiB more memory. Pass `workers` on machines with cores to spare.
 */
export const DEFAULT_LABEL_WORKERS = 1;

// Two jobs per worker let it start the next inference without waiting for a round trip to this thread. Further
// requests wait here as RGB bytes rather than in the worker as int32 pixels, which take four times the memory.
const MAX_JOBS_PER_WORKER = 2;

// A .cjs entry that compiles the TypeScript worker with tsx, which works whatever loader this thread runs under.
const WORKER_ENTRY = path.join(__dirname, 'label-worker.cjs');

export interface LabelModelPoolOptions {
  /** Worker threads, each with its own copy of the model; defaults to DEFAULT_LABEL_WORKERS. */
  workers?: number;
  /** Folder with centernet.json and its weights; defaults to the one in @vladmandic/human. */
  modelsDir?: string;
  /** Receives a line when a worker stops unexpectedly, restarts or fails to restart. */
  log?: (line: string) => void;
}

interface DetectionJob {
  id: number;
  image: RgbImage;
  resolve(objects: DetectedObject[]): void;
  reject(error: Error): void;
}

interface WorkerSlot {
  /** 1-based, for log lines. */
  number: number;
  worker: Worker;
  state: 'starting' | 'ready' | 'failed';
  /** Jobs posted to the worker that have no response yet, by id. */
  inFlight: Map<number, DetectionJob>;
  /** Set when this pool terminates the worker, so that its exit is not taken for a crash. */
  stopping: boolean;
  lastError: unknown;
  startedAt: number;
  settleStart(error?: Error): void;
}

/**
 * Worker threads that run the COCO label model, so that inference does not block the thread that serves the local
 * S3, DynamoDB and API endpoints. The calling thread decodes each image (sharp works on libuv's thread pool) and
 * transfers the pixels to a worker. A worker that crashes fails the requests it was running with
 * InternalServerError and is restarted; requests still queued here wait for the restarted worker.
 *
 * Decoding stays out of the workers for two reasons. A worker terminated while sharp works in it can crash the
 * whole process (reported on sharp's issue tracker), and this pool terminates workers. And sharp's output buffers
 * live outside V8's heap, so Node.js 20 copies them when they are listed for transfer.
 *
 * NOTE: a worker that hangs without exiting is not detected, so its requests wait until the client gives up.
 */
export class LabelModelPool {
  private readonly slots: WorkerSlot[] = [];
  private readonly queue: DetectionJob[] = [];
  private nextJobId = 1;
  private closed = false;
  private crashOnNextDetection = false;

  private constructor(
    private readonly modelsDir: string,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Starts the workers and resolves once every one has loaded the model.
   *
   * @throws Error with the loader's message (the model file and the reason) when a worker cannot load the model.
   */
  static async start(options: LabelModelPoolOptions = {}): Promise<LabelModelPool> {
    const workers = options.workers ?? DEFAULT_LABEL_WORKERS;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new Error(`The number of label workers must be a positive integer, got ${workers}.`);
    }
    const pool = new LabelModelPool(options.modelsDir ?? defaultModelsDir(), options.log ?? (() => {}));

    const starts = Array.from({ length: workers }, (_unused, index) => pool.startWorker(index));
    const results = await Promise.allSettled(starts);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) {
      await pool.close();
      const reason = failure.reason instanceof Error ? failure.reason.message : String(failure.reason);
      throw new Error(`The local label model failed to start in its worker thread: ${reason}`, {
        cause: failure.reason,
      });
    }
    return pool;
  }

  /**
   * Detects COCO objects in an upright RGB image on the least busy worker. When a worker is free, the pixels are
   * widened into a new buffer that is transferred to it, so `image.data` itself never leaves this thread.
   *
   * @throws RekognitionServiceError InternalServerError when the worker crashes or the pool is closed.
   */
  detect(image: RgbImage): Promise<DetectedObject[]> {
    if (this.closed) return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextJobId++, image, resolve, reject });
      this.restartFailedWorkers();
      this.dispatch();
    });
  }

  /**
   * Test hook: the worker that receives the next detection throws an uncaught exception instead, as a bug in the
   * model code would, so that tests can check how the pool recovers.
   */
  injectCrashOnNextDetection(): void {
    this.crashOnNextDetection = true;
  }

  /** Rejects every pending detection and terminates the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = closedError();
    for (const job of this.queue.splice(0)) job.reject(error);
    await Promise.all(
      this.slots.map((slot) => {
        slot.stopping = true;
        for (const job of slot.inFlight.values()) job.reject(error);
        slot.inFlight.clear();
        return slot.worker.terminate();
      }),
    );
  }

  private startWorker(index: number): Promise<void> {
    const workerData: LabelWorkerData = { modelsDir: this.modelsDir };
    const worker = new Worker(WORKER_ENTRY, { workerData });

    let settleStart: (error?: Error) => void = () => {};
    const started = new Promise<void>((resolve, reject) => {
      settleStart = (error) => {
        settleStart = () => {};
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    const slot: WorkerSlot = {
      number: index + 1,
      worker,
      state: 'starting',
      inFlight: new Map(),
      stopping: false,
      lastError: undefined,
      startedAt: performance.now(),
      settleStart: (error) => settleStart(error),
    };
    this.slots[index] = slot;

    worker.on('message', (message: LabelWorkerResponse) => this.handleMessage(slot, message));
    worker.on('error', (error) => {
      slot.lastError = error;
    });
    worker.on('exit', (code) => this.handleExit(slot, code));
    return started;
  }

  private handleMessage(slot: WorkerSlot, message: LabelWorkerResponse): void {
    switch (message.type) {
      case 'ready':
        slot.state = 'ready';
        slot.settleStart();
        this.dispatch();
        return;
      case 'load-failed':
        slot.state = 'failed';
        slot.stopping = true;
        slot.settleStart(new Error(message.message));
        void slot.worker.terminate();
        this.failQueueWithoutWorkers(message.message);
        return;
      case 'detected':
      case 'detect-failed': {
        const job = slot.inFlight.get(message.id);
        if (job === undefined) return;
        slot.inFlight.delete(message.id);
        if (message.type === 'detected') job.resolve(message.objects);
        else {
          job.reject(
            new RekognitionServiceError(
              'InternalServerError',
              `The local label model failed on this image: ${message.message}`,
            ),
          );
        }
        this.dispatch();
        return;
      }
    }
  }

  private handleExit(slot: WorkerSlot, code: number): void {
    if (this.slots[slot.number - 1] !== slot || slot.stopping) {
      slot.settleStart(new Error(`label worker ${slot.number} was stopped while it loaded the model`));
      return;
    }
    const reason = `exit code ${code}${slot.lastError === undefined ? '' : `, ${String(slot.lastError)}`}`;

    if (slot.state === 'starting') {
      slot.state = 'failed';
      const message = `label worker ${slot.number} stopped while it loaded the model (${reason})`;
      slot.settleStart(new Error(message));
      this.failQueueWithoutWorkers(message);
      return;
    }
    if (slot.state === 'failed') return;

    const failed = [...slot.inFlight.values()];
    slot.inFlight.clear();
    const error = new RekognitionServiceError(
      'InternalServerError',
      `The local label model's worker thread stopped (${reason}) while it detected labels for this request. ` +
        'The endpoint is restarting it: retry the request.',
      { cause: slot.lastError },
    );
    for (const job of failed) job.reject(error);
    this.log(
      `rekognition label worker ${slot.number} stopped (${reason}); ${failed.length} request(s) failed with ` +
        'InternalServerError, restarting it',
    );
    this.restartWorker(slot.number - 1);
  }

  private restartWorker(index: number): void {
    const restarted = this.startWorker(index);
    const slot = this.slots[index] as WorkerSlot;
    restarted.then(
      () => {
        const elapsed = Math.round(performance.now() - slot.startedAt);
        this.log(`rekognition label worker ${slot.number} restarted, model loaded in ${elapsed} ms`);
      },
      (error: unknown) => {
        if (this.closed) return;
        this.log(
          `rekognition label worker ${slot.number} could not restart: ${String(error)}; ` +
            'the next DetectLabels request tries again',
        );
      },
    );
  }

  /**
   * Restarts workers whose model failed to load. Only a new request calls this, so a model that cannot load is not
   * restarted in a loop.
   */
  private restartFailedWorkers(): void {
    for (const slot of this.slots) {
      if (slot.state === 'failed') this.restartWorker(slot.number - 1);
    }
  }

  /** Posts queued jobs to the least busy ready workers, up to MAX_JOBS_PER_WORKER each. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      let target: WorkerSlot | undefined;
      for (const slot of this.slots) {
        if (slot.state !== 'ready' || slot.inFlight.size >= MAX_JOBS_PER_WORKER) continue;
        if (target === undefined || slot.inFlight.size < target.inFlight.size) target = slot;
      }
      if (target === undefined) return;
      this.post(target, this.queue.shift() as DetectionJob);
    }
  }

  private post(slot: WorkerSlot, job: DetectionJob): void {
    const { pixels, width, height } = toDetectorInput(job.image);
    const request: LabelWorkerRequest = { type: 'detect', id: job.id, pixels, width, height };
    if (this.crashOnNextDetection) {
      this.crashOnNextDetection = false;
      request.crash = true;
    }
    slot.inFlight.set(job.id, job);
    try {
      // The int32 copy is made for the model's tensor anyway; transferring its buffer moves it without another copy.
      slot.worker.postMessage(request, [pixels.buffer]);
    } catch (error) {
      slot.inFlight.delete(job.id);
      job.reject(
        new RekognitionServiceError(
          'InternalServerError',
          `Sending the image to label worker ${slot.number} failed: ${String(error)}`,
          { cause: error },
        ),
      );
    }
  }

  /** Rejects the queued jobs when no worker is running or loading, because none would ever take them. */
  private failQueueWithoutWorkers(reason: string): void {
    if (this.slots.some((slot) => slot.state !== 'failed')) return;
    const error = new RekognitionServiceError(
      'InternalServerError',
      `The local label model is not running: ${reason}. The next DetectLabels request restarts it.`,
    );
    for (const job of this.queue.splice(0)) job.reject(error);
  }
}

function closedError(): RekognitionServiceError {
  return new RekognitionServiceError(
    'InternalServerError',
    'The local Rekognition endpoint closed before its label model answered.',
  );
}
