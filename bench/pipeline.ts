import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { contentTypeFor, type InputFile } from '../local/batch/input-files';
import type { ImageReport } from '../local/batch/report';
import { runBatch } from '../local/batch/run-batch';
import { detectObjects, loadObjectDetector } from '../local/rekognition/object-detector';
import { loadRequestImage } from '../local/rekognition/request-image';
import { startLocalStack } from '../local/stack';
import { REKOGNITION_IMAGE_LIMITS } from '../src/images/rekognition-input';
import { sharp } from '../src/images/sharp-setup';
import { type Summary, summarize } from './stats';

const PROJECT_DIR = path.resolve(__dirname, '..');

/** One batch of N photos through the local stack. */
export interface PipelineRun {
  count: number;
  seconds: number;
  imagesPerSecond: number;
  /** Time the label model alone needs for the same photos: decoding for the detector plus inference. */
  modelSeconds: number;
  /** Inference alone, without the detector's decoding. */
  inferenceSeconds: number;
  /** modelSeconds / seconds: the pipeline's throughput as a share of the model's. */
  modelShare: number;
  /**
   * Share of the run during which this process's main JavaScript thread was busy. It runs the local S3, DynamoDB
   * and API Gateway servers and decodes images for the label model, whose inference runs in a worker thread.
   */
  mainThreadBusy: number;
}

/** The label model alone on one photo. */
export interface ModelTiming {
  file: string;
  decodeMs: Summary;
  inferenceMs: Summary;
}

export interface PipelineSection {
  photoCount: number;
  photoBytes: number;
  runs: PipelineRun[];
  models: ModelTiming[];
  maxConcurrency: number;
}

/**
 * Lists the JPEG and PNG photos of `folders` that Rekognition accepts (80 pixels or more per side), so that every
 * upload ends with both a thumbnail and labels.
 */
export async function listPhotos(folders: readonly string[]): Promise<string[]> {
  const photos: string[] = [];
  for (const folder of folders) {
    for (const name of (await readdir(folder)).sort()) {
      if (!/\.(jpe?g|png)$/i.test(name)) continue;
      const file = path.join(folder, name);
      const { width, height } = await sharp(file).metadata();
      if (Math.min(width, height) >= REKOGNITION_IMAGE_LIMITS.minDimension) photos.push(file);
    }
  }
  return photos;
}

/** N upload inputs that cycle through the photos, each under its own key. */
function batchInputs(photos: readonly string[], count: number, prefix: string): InputFile[] {
  return Array.from({ length: count }, (_unused, index) => {
    const file = photos[index % photos.length] as string;
    const name = path.basename(file);
    return {
      path: file,
      key: `${prefix}/${String(index).padStart(4, '0')}-${name}`,
      contentType: contentTypeFor(name),
    };
  });
}

function checkReports(reports: readonly ImageReport[], count: number): void {
  const failed = reports.filter((report) => report.status !== 'done');
  if (reports.length !== count || failed.length > 0) {
    const first = failed[0];
    throw new Error(
      `The local pipeline finished ${reports.length - failed.length} of ${count} photos` +
        (first === undefined ? '' : `; first failure: ${first.key}: ${first.error ?? 'no error text'}`),
    );
  }
}

async function timeModel(photo: string, rounds: number, s3: S3Client): Promise<ModelTiming> {
  const bytes = (await readFile(photo)).toString('base64');
  const decode: number[] = [];
  const inference: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const decodeStarted = performance.now();
    const image = await loadRequestImage({ Bytes: bytes }, s3);
    const inferenceStarted = performance.now();
    await detectObjects(image);
    decode.push(inferenceStarted - decodeStarted);
    inference.push(performance.now() - inferenceStarted);
  }
  return { file: photo, decodeMs: summarize(decode), inferenceMs: summarize(inference) };
}

/**
 * Uploads `counts` photos through the local stack's API, one batch per count, and waits until both functions have
 * recorded every photo. Afterwards it times the label model alone on each distinct photo, in the same process and
 * with the same loaded model.
 */
export async function benchPipeline(
  photos: readonly string[],
  counts: readonly number[],
  workDir: string,
  templatePath: string,
  modelRounds: number,
  log: (line: string) => void,
): Promise<PipelineSection> {
  const maxConcurrency = 2;
  const stack = await startLocalStack({
    projectDir: PROJECT_DIR,
    templatePath,
    dataDir: path.join(workDir, 'pipeline-data'),
    ports: { s3: 0, dynamodb: 0, rekognition: 0, api: 0 },
    writeStackFile: false,
    testEvents: 'never',
    maxConcurrency,
    log: () => {},
  });
  const runs: PipelineRun[] = [];
  const models: ModelTiming[] = [];
  try {
    const outDir = path.join(workDir, 'pipeline-thumbnails');
    // Starts the execution environments and runs the model's first, slower inference outside the timed batches.
    const warmup = batchInputs(photos, 2, 'warmup');
    checkReports(await runBatch({ stack: stack.description, inputs: warmup, outDir, timeoutMs: 120_000 }), 2);

    const measured: { count: number; seconds: number; inputs: InputFile[]; mainThreadBusy: number }[] = [];
    for (const count of counts) {
      const inputs = batchInputs(photos, count, `n${count}`);
      const utilizationBefore = performance.eventLoopUtilization();
      const started = performance.now();
      const reports = await runBatch({ stack: stack.description, inputs, outDir, timeoutMs: 120_000 });
      const seconds = (performance.now() - started) / 1000;
      const mainThreadBusy = performance.eventLoopUtilization(utilizationBefore).utilization;
      checkReports(reports, count);
      log(`  ${count} photos: ${seconds.toFixed(1)} s, ${(count / seconds).toFixed(2)} images/s`);
      measured.push({ count, seconds, inputs, mainThreadBusy });
    }
    await stack.whenIdle();

    await loadObjectDetector();
    const s3 = undefined as unknown as S3Client; // Bytes requests never read from S3.
    const distinct = [...new Set(measured.flatMap((run) => run.inputs.map((input) => input.path)))];
    for (const photo of distinct) models.push(await timeModel(photo, modelRounds, s3));
    const modelOf = new Map(models.map((model) => [model.file, model]));

    for (const { count, seconds, inputs, mainThreadBusy } of measured) {
      let modelMs = 0;
      let inferenceMs = 0;
      for (const input of inputs) {
        const timing = modelOf.get(input.path) as ModelTiming;
        modelMs += timing.decodeMs.median + timing.inferenceMs.median;
        inferenceMs += timing.inferenceMs.median;
      }
      runs.push({
        count,
        seconds,
        imagesPerSecond: count / seconds,
        modelSeconds: modelMs / 1000,
        inferenceSeconds: inferenceMs / 1000,
        modelShare: modelMs / 1000 / seconds,
        mainThreadBusy,
      });
    }
  } finally {
    await stack.close();
  }
  const photoBytes = (await Promise.all(photos.map(async (photo) => (await readFile(photo)).length))).reduce(
    (sum, bytes) => sum + bytes,
    0,
  );
  return { photoCount: photos.length, photoBytes, runs, models, maxConcurrency };
}
