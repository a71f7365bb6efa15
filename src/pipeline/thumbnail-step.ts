import type { S3Client } from '@aws-sdk/client-s3';
import type { CreateThumbnailConfig } from '../config';
import { InvalidImageError } from '../errors';
import type { S3ObjectEvent } from '../events/s3-notification';
import { createThumbnail } from '../images/thumbnail';
import type { ImageRecordStore, SourceAttributes } from '../records/image-records';
import { deleteObject, readObject, readObjectStart, writeObject } from '../storage/s3-objects';
import { oversizeError } from './input-size';

export type ThumbnailOutcome =
  | 'thumbnail-written'
  | 'failure-recorded'
  | 'thumbnail-deleted'
  | 'skipped-newer-event-recorded'
  | 'skipped-object-gone';

export interface ThumbnailStepDependencies {
  s3: S3Client;
  records: ImageRecordStore;
  config: CreateThumbnailConfig;
}

/** Writes the upright thumbnail of a created object, or deletes it after the object was removed. */
export function runThumbnailStep(
  event: S3ObjectEvent,
  deps: ThumbnailStepDependencies,
): Promise<ThumbnailOutcome> {
  return event.kind === 'created' ? createThumbnailFor(event, deps) : removeThumbnailOf(event, deps);
}

function sourceOf(event: S3ObjectEvent): SourceAttributes {
  return { Bucket: event.bucket, Key: event.key, Size: event.size, ETag: event.eTag };
}

function failureMessage(key: string, error: InvalidImageError): string {
  return `Cannot create a thumbnail for "${key}": ${error.message}`;
}

async function recordFailure(
  event: S3ObjectEvent,
  error: InvalidImageError,
  deps: ThumbnailStepDependencies,
): Promise<ThumbnailOutcome> {
  const outcome = await deps.records.recordThumbnailFailure({
    id: event.key,
    sequencer: event.sequencer,
    source: sourceOf(event),
    error: failureMessage(event.key, error),
  });
  if (outcome === 'stale') return 'skipped-newer-event-recorded';
  // An earlier upload of the same key may have left a thumbnail that no longer matches the original.
  await deleteObject(deps.s3, { bucket: deps.config.thumbnailBucket, key: event.key });
  return 'failure-recorded';
}

async function createThumbnailFor(
  event: S3ObjectEvent,
  deps: ThumbnailStepDependencies,
): Promise<ThumbnailOutcome> {
  const { config } = deps;
  const oversize = oversizeError(event, config.maxInputBytes);
  if (oversize !== undefined) return recordFailure(event, oversize, deps);

  const ref = { bucket: event.bucket, key: event.key, eTag: event.eTag };
  const original = await readObject(deps.s3, ref);
  // The upload this event describes is gone; the event for whatever replaced it does the work.
  if (original === 'missing' || original === 'replaced') return 'skipped-object-gone';

  let thumbnail: Awaited<ReturnType<typeof createThumbnail>>;
  try {
    thumbnail = await createThumbnail(original, config.thumbnail);
  } catch (error) {
    if (error instanceof InvalidImageError) return recordFailure(event, error, deps);
    throw error;
  }

  // The original may have been replaced or deleted while the thumbnail was made, and a removal may already have run:
  // writing now would overwrite a newer thumbnail or bring back the item of an image that no longer exists.
  // NOTE: a change that lands between this check and the writes below still slips through.
  const current = await readObjectStart(deps.s3, ref, 1);
  if (current === 'missing' || current === 'replaced') return 'skipped-object-gone';

  await writeObject(deps.s3, {
    bucket: config.thumbnailBucket,
    key: event.key,
    body: thumbnail.data,
    contentType: thumbnail.contentType,
  });
  const outcome = await deps.records.recordThumbnail({
    id: event.key,
    sequencer: event.sequencer,
    source: {
      ...sourceOf(event),
      Size: original.length,
      Format: thumbnail.source.format,
      Width: thumbnail.source.displayWidth,
      Height: thumbnail.source.displayHeight,
    },
    thumbnail: {
      Bucket: config.thumbnailBucket,
      Key: event.key,
      Width: thumbnail.width,
      Height: thumbnail.height,
      Format: thumbnail.format,
      ContentType: thumbnail.contentType,
      Size: thumbnail.data.length,
    },
  });
  return outcome === 'stale' ? 'skipped-newer-event-recorded' : 'thumbnail-written';
}

async function removeThumbnailOf(
  event: S3ObjectEvent,
  deps: ThumbnailStepDependencies,
): Promise<ThumbnailOutcome> {
  const outcome = await deps.records.clearThumbnail({ id: event.key, sequencer: event.sequencer });
  if (outcome === 'stale') return 'skipped-newer-event-recorded';
  await deleteObject(deps.s3, { bucket: deps.config.thumbnailBucket, key: event.key });
  return 'thumbnail-deleted';
}
