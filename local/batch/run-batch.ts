import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { runWithConcurrency } from '../concurrency';
import type { StackDescription } from '../stack-file';
import {
  type ImageProgress,
  isFinished,
  readImageProgress,
  type ThumbnailInfo,
  type UploadedImage,
} from './image-results';
import type { InputFile } from './input-files';
import type { ProgressDisplay } from './progress-display';
import { type ImageReport, toImageReport } from './report';
import { uploadImage } from './upload';

export interface BatchOptions {
  stack: StackDescription;
  inputs: InputFile[];
  /** Folder the thumbnails are downloaded into, keeping each key's folders. */
  outDir: string;
  /** Give up on an image after this long without any image of the run finishing. */
  timeoutMs: number;
  display?: ProgressDisplay;
  pollIntervalMs?: number;
  uploadConcurrency?: number;
}

const EXTENSION_OF_FORMAT: Record<string, string> = {
  jpeg: '.jpg',
  png: '.png',
  webp: '.webp',
  avif: '.avif',
};

/**
 * Local file for a thumbnail: the object key under `outDir`, plus the format's extension when the key's extension
 * does not match it (a HEIC original gets a JPEG thumbnail), so the file opens in an image viewer.
 */
export function thumbnailFilePath(outDir: string, key: string, format: string): string {
  const extension = EXTENSION_OF_FORMAT[format.toLowerCase()];
  const current = path.extname(key).toLowerCase();
  const matches =
    extension === undefined || current === extension || (extension === '.jpg' && current === '.jpeg');
  const target = path.resolve(outDir, matches ? key : `${key}${extension}`);
  const root = path.resolve(outDir);
  if (target !== root && !target.startsWith(`${root}${path.sep}`)) {
    throw new Error(`thumbnail key "${key}" would be written outside ${root}`);
  }
  return target;
}

async function downloadThumbnail(s3: S3Client, info: ThumbnailInfo, file: string): Promise<void> {
  const response = await s3.send(new GetObjectCommand({ Bucket: info.bucket, Key: info.key }));
  if (response.Body === undefined) throw new Error(`thumbnail s3://${info.bucket}/${info.key} has no body`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, await response.Body.transformToByteArray());
}

function describeStages(progress: ImageProgress): string {
  return `thumbnail ${progress.thumbnail.state}, labels ${progress.labels.state}`;
}

/**
 * Uploads the inputs into the raw bucket, waits until both functions have recorded a result for each (or its
 * event reached the failure store), downloads the thumbnails and returns one report per input, in input order.
 */
export async function runBatch(options: BatchOptions): Promise<ImageReport[]> {
  const { stack, display } = options;
  const credentials = { ...stack.credentials };
  const s3 = new S3Client({
    endpoint: stack.endpoints.s3,
    region: stack.region,
    credentials,
    forcePathStyle: true,
  });
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.endpoints.dynamodb,
      region: stack.region,
      credentials: { ...credentials },
    }),
  );

  try {
    const uploads: UploadedImage[] = [];
    await runWithConcurrency(options.inputs, options.uploadConcurrency ?? 4, async (input) => {
      const body = await readFile(input.path);
      const upload = { key: input.key, uploadStartedAt: Date.now() };
      const route = await uploadImage({ stack, s3 }, input.key, body, input.contentType);
      if (route === 's3' && stack.api !== null && stack.api !== undefined) {
        display?.message(
          `${input.key}: larger than API Gateway's 10 MB limit, uploaded straight to the raw bucket`,
        );
      }
      uploads.push(upload);
      display?.uploading(uploads.length, options.inputs.length);
    });

    const latest = new Map<string, ImageProgress>();
    const timedOut = new Map<string, string>();
    let lastProgressAt = Date.now();
    let finishedCount = 0;
    for (;;) {
      const waiting = uploads.filter((upload) => {
        const progress = latest.get(upload.key);
        return !timedOut.has(upload.key) && (progress === undefined || !isFinished(progress));
      });
      if (waiting.length === 0) break;
      for (const progress of await readImageProgress(
        documents,
        stack.tableName,
        stack.failureDirectory,
        waiting,
      )) {
        latest.set(progress.key, progress);
      }
      const finishedNow = uploads.filter((upload) => {
        const progress = latest.get(upload.key);
        return progress !== undefined && isFinished(progress);
      }).length;
      if (finishedNow > finishedCount) {
        finishedCount = finishedNow;
        lastProgressAt = Date.now();
      }
      display?.update(
        uploads
          .map((upload) => latest.get(upload.key))
          .filter((item): item is ImageProgress => item !== undefined),
        isFinished,
        'processed',
      );
      if (Date.now() - lastProgressAt > options.timeoutMs) {
        for (const upload of waiting) {
          const progress = latest.get(upload.key);
          if (progress !== undefined && isFinished(progress)) continue;
          const stages = progress ? ` (${describeStages(progress)})` : '';
          timedOut.set(
            upload.key,
            `timed out: no result within ${options.timeoutMs / 1000} s${stages}; see the function logs in ${stack.logDirectory}`,
          );
        }
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs ?? 250));
    }
    display?.finish();

    const reports: ImageReport[] = [];
    for (const input of options.inputs) {
      const progress = latest.get(input.key) ?? {
        key: input.key,
        thumbnail: { state: 'pending' as const },
        labels: { state: 'pending' as const },
        labelList: [],
      };
      let thumbnailPath: string | null = null;
      if (progress.thumbnailInfo !== undefined) {
        const file = thumbnailFilePath(options.outDir, input.key, progress.thumbnailInfo.format);
        await downloadThumbnail(s3, progress.thumbnailInfo, file);
        thumbnailPath = path.relative(process.cwd(), file);
      }
      reports.push(toImageReport(progress, thumbnailPath, timedOut.get(input.key)));
    }
    return reports;
  } finally {
    s3.destroy();
    documents.destroy();
  }
}
