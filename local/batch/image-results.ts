import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readFailureRecords, type StoredFailure } from '../lambda/async-invoker';
import { sequencerLowerBound } from '../s3/event-records';

/** State of one stage of one image. */
export type StageState = { state: 'pending' } | { state: 'done' } | { state: 'failed'; error: string };

export interface ThumbnailInfo {
  bucket: string;
  key: string;
  width: number;
  height: number;
  format: string;
}

/** Progress of one uploaded image, as the table and the failure store record it. */
export interface ImageProgress {
  key: string;
  thumbnail: StageState;
  labels: StageState;
  thumbnailInfo?: ThumbnailInfo;
  labelList: { name: string; confidence: number }[];
}

/** An image this run uploaded, with the time just before its upload started. */
export interface UploadedImage {
  key: string;
  uploadStartedAt: number;
}

/** The item attribute prefix each function writes, by function key. */
const STAGE_OF_FUNCTION: Record<string, 'thumbnail' | 'labels'> = {
  createThumbnail: 'thumbnail',
  analyzeImage: 'labels',
};

type Item = Record<string, unknown>;

function hexValue(value: unknown): bigint | undefined {
  if (typeof value !== 'string' || !/^[0-9A-Fa-f]+$/.test(value)) return undefined;
  return BigInt(`0x${value}`);
}

/**
 * True when the item's result for a stage comes from this run's upload rather than an earlier one: its sequencer is
 * at least the smallest the local S3 can have issued after the upload started (the clock-based sequencer of
 * local/s3/event-records.ts), or, without a sequencer, its update time is not older than the upload.
 */
function isFromThisUpload(item: Item, prefix: 'Thumbnail' | 'Labels', upload: UploadedImage): boolean {
  const sequencer = hexValue(item[`${prefix}Sequencer`]);
  if (sequencer !== undefined) return sequencer >= sequencerLowerBound(upload.uploadStartedAt);
  const updatedAt = Date.parse(String(item[`${prefix}UpdatedAt`] ?? item.UpdatedAt ?? ''));
  return Number.isFinite(updatedAt) && updatedAt >= upload.uploadStartedAt;
}

function stageFromItem(
  item: Item | undefined,
  prefix: 'Thumbnail' | 'Labels',
  upload: UploadedImage,
): StageState {
  if (item === undefined || !isFromThisUpload(item, prefix, upload)) return { state: 'pending' };
  const status = item[`${prefix}Status`];
  if (status === 'done') return { state: 'done' };
  if (status === 'failed')
    return { state: 'failed', error: String(item[`${prefix}Error`] ?? 'no error recorded') };
  return { state: 'pending' };
}

/** Decoded object keys of the S3 records inside a stored SNS event. */
export function keysOfStoredEvent(event: unknown): string[] {
  const keys: string[] = [];
  const records = (event as { Records?: unknown[] } | undefined)?.Records;
  for (const record of Array.isArray(records) ? records : []) {
    const message = (record as { Sns?: { Message?: unknown } }).Sns?.Message;
    let body: unknown = record;
    if (typeof message === 'string') {
      try {
        body = JSON.parse(message);
      } catch {
        continue;
      }
    }
    const s3Records = (body as { Records?: unknown[] }).Records;
    for (const s3Record of Array.isArray(s3Records) ? s3Records : [body]) {
      const key = (s3Record as { s3?: { object?: { key?: unknown } } }).s3?.object?.key;
      if (typeof key === 'string') {
        try {
          keys.push(decodeURIComponent(key.replace(/\+/g, ' ')));
        } catch {
          keys.push(key);
        }
      }
    }
  }
  return keys;
}

function readThumbnail(item: Item | undefined): ThumbnailInfo | undefined {
  const thumbnail = item?.Thumbnail as Record<string, unknown> | undefined;
  if (thumbnail === undefined || typeof thumbnail.Key !== 'string' || typeof thumbnail.Bucket !== 'string') {
    return undefined;
  }
  return {
    bucket: thumbnail.Bucket,
    key: thumbnail.Key,
    width: Number(thumbnail.Width),
    height: Number(thumbnail.Height),
    format: String(thumbnail.Format ?? ''),
  };
}

function readLabels(item: Item | undefined): { name: string; confidence: number }[] {
  const labels = item?.Labels;
  if (!Array.isArray(labels)) return [];
  return labels
    .map((label: { Name?: unknown; Confidence?: unknown }) => ({
      name: String(label.Name),
      confidence: Number(label.Confidence),
    }))
    .sort((a, b) => b.confidence - a.confidence);
}

/** Reads the current state of each uploaded image from the table and the failure store. */
export async function readImageProgress(
  client: DynamoDBDocumentClient,
  tableName: string,
  failureDirectory: string,
  uploads: UploadedImage[],
): Promise<ImageProgress[]> {
  const items = new Map<string, Item>();
  // BatchGetItem takes at most 100 keys per request.
  for (let start = 0; start < uploads.length; start += 100) {
    const keys = uploads.slice(start, start + 100).map((upload) => ({ Id: upload.key }));
    let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: boolean }> | undefined = {
      [tableName]: { Keys: keys, ConsistentRead: true },
    };
    while (request !== undefined && Object.keys(request).length > 0) {
      const response = await client.send(new BatchGetCommand({ RequestItems: request }));
      for (const item of response.Responses?.[tableName] ?? []) items.set(String(item.Id), item);
      request = response.UnprocessedKeys as typeof request;
    }
  }
  const failures: StoredFailure[] = await readFailureRecords(failureDirectory);

  return uploads.map((upload) => {
    const item = items.get(upload.key);
    const progress: ImageProgress = {
      key: upload.key,
      thumbnail: stageFromItem(item, 'Thumbnail', upload),
      labels: stageFromItem(item, 'Labels', upload),
      labelList: [],
    };
    for (const failure of failures) {
      if (Date.parse(failure.record.timestamp) < upload.uploadStartedAt) continue;
      if (!keysOfStoredEvent(failure.record.requestPayload).includes(upload.key)) continue;
      const stage = STAGE_OF_FUNCTION[failure.functionKey];
      const error = `${failure.functionKey} failed after ${failure.record.requestContext.approximateInvokeCount} attempts: ${failure.record.responsePayload.errorType}: ${failure.record.responsePayload.errorMessage}`;
      for (const name of stage ? [stage] : (['thumbnail', 'labels'] as const)) {
        if (progress[name].state === 'pending') progress[name] = { state: 'failed', error };
      }
    }
    if (progress.thumbnail.state === 'done') {
      const info = readThumbnail(item);
      if (info) progress.thumbnailInfo = info;
    }
    if (progress.labels.state === 'done') progress.labelList = readLabels(item);
    return progress;
  });
}

export function isFinished(progress: ImageProgress): boolean {
  return progress.thumbnail.state !== 'pending' && progress.labels.state !== 'pending';
}
