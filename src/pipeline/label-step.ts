import type { RekognitionClient } from '@aws-sdk/client-rekognition';
import type { S3Client } from '@aws-sdk/client-s3';
import type { AnalyzeImageConfig } from '../config';
import { InvalidImageError } from '../errors';
import type { S3ObjectEvent } from '../events/s3-notification';
import { detectImageLabels, type ImageLabel } from '../labels/detect-labels';
import type { ImageRecordStore, LabelAttributes } from '../records/image-records';
import { type ObjectRef, readObject, readObjectStart } from '../storage/s3-objects';
import { oversizeError } from './input-size';

export type LabelOutcome =
  | 'labels-recorded'
  | 'failure-recorded'
  | 'record-deleted'
  | 'skipped-newer-event-recorded'
  | 'skipped-object-gone';

export interface LabelStepDependencies {
  s3: S3Client;
  rekognitionFor: (region: string) => RekognitionClient;
  records: ImageRecordStore;
  config: AnalyzeImageConfig;
}

// Enough for the signature of every format the pipeline reads.
const SNIFF_BYTES = 64;

/** Records the labels of a created object, or deletes the image's item after the object was removed. */
export function runLabelStep(event: S3ObjectEvent, deps: LabelStepDependencies): Promise<LabelOutcome> {
  return event.kind === 'created' ? labelImage(event, deps) : deleteRecord(event, deps);
}

function toLabelAttributes(label: ImageLabel): LabelAttributes {
  return {
    Name: label.name,
    Confidence: label.confidence,
    Parents: label.parents,
    Categories: label.categories,
    Instances: label.instances.map((instance) => ({
      Confidence: instance.confidence,
      BoundingBox: {
        Width: instance.boundingBox.width,
        Height: instance.boundingBox.height,
        Left: instance.boundingBox.left,
        Top: instance.boundingBox.top,
      },
    })),
  };
}

/** Thrown inside label detection when the object vanished mid-way; caught below and reported as an outcome. */
class ObjectGoneError extends Error {
  override name = 'ObjectGoneError';
}

async function isGone(s3: S3Client, ref: ObjectRef): Promise<boolean> {
  const start = await readObjectStart(s3, ref, 1);
  return start === 'missing' || start === 'replaced';
}

async function recordFailure(
  event: S3ObjectEvent,
  error: InvalidImageError,
  deps: LabelStepDependencies,
): Promise<LabelOutcome> {
  const outcome = await deps.records.recordLabelsFailure({
    id: event.key,
    sequencer: event.sequencer,
    error: `Cannot detect labels in "${event.key}": ${error.message}`,
  });
  return outcome === 'stale' ? 'skipped-newer-event-recorded' : 'failure-recorded';
}

async function labelImage(event: S3ObjectEvent, deps: LabelStepDependencies): Promise<LabelOutcome> {
  const { config } = deps;
  const oversize = oversizeError(event, config.maxInputBytes);
  if (oversize !== undefined) return recordFailure(event, oversize, deps);

  const ref = { bucket: event.bucket, key: event.key, eTag: event.eTag };
  // Reading the first bytes checks that the upload this event describes still exists before Rekognition is paid for.
  const start = await readObjectStart(deps.s3, ref, SNIFF_BYTES);
  if (start === 'missing' || start === 'replaced') return 'skipped-object-gone';

  let labels: ImageLabel[];
  try {
    const detection = await detectImageLabels({
      rekognition: deps.rekognitionFor(event.region),
      object: { bucket: event.bucket, key: event.key, size: event.size, versionId: event.versionId },
      readObjectStart: async (byteCount) => {
        if (byteCount <= start.length) return start.subarray(0, byteCount);
        const bytes = await readObjectStart(deps.s3, ref, byteCount);
        if (typeof bytes === 'string') throw new ObjectGoneError(bytes);
        return bytes;
      },
      readObject: async () => {
        const bytes = await readObject(deps.s3, ref);
        if (typeof bytes === 'string') throw new ObjectGoneError(bytes);
        return bytes;
      },
      settings: config.labels,
      maxInputPixels: config.thumbnail.maxInputPixels,
    });
    labels = detection.labels;
  } catch (error) {
    if (error instanceof ObjectGoneError) return 'skipped-object-gone';
    if (error instanceof InvalidImageError) {
      if (await isGone(deps.s3, ref)) return 'skipped-object-gone';
      return recordFailure(event, error, deps);
    }
    throw error;
  }

  // Detection takes long enough for the original to be deleted and its removal to delete the item meanwhile. Writing
  // then would bring the item back for an image that no longer exists.
  // NOTE: a removal that completes between this check and the write below still leaves such an item.
  if (await isGone(deps.s3, ref)) return 'skipped-object-gone';

  const outcome = await deps.records.recordLabels({
    id: event.key,
    sequencer: event.sequencer,
    labels: labels.map(toLabelAttributes),
  });
  return outcome === 'stale' ? 'skipped-newer-event-recorded' : 'labels-recorded';
}

async function deleteRecord(event: S3ObjectEvent, deps: LabelStepDependencies): Promise<LabelOutcome> {
  const outcome = await deps.records.deleteImage({ id: event.key, sequencer: event.sequencer });
  return outcome === 'stale' ? 'skipped-newer-event-recorded' : 'record-deleted';
}
