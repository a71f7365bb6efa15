import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { normalizeSequencer } from '../events/s3-notification';

/**
 * Writes the image items of the table. Each function updates only its own attributes, so the two never overwrite
 * each other, and every write is conditional on the S3 sequencer: an event older than the one already recorded for
 * that stage changes nothing (`stale`). Redelivering the same event rewrites the same values.
 */

/** The original object, as the thumbnail step saw it. */
export interface SourceAttributes {
  Bucket: string;
  Key: string;
  Size?: number;
  ETag?: string;
  Format?: string;
  Width?: number;
  Height?: number;
}

export interface ThumbnailAttributes {
  Bucket: string;
  Key: string;
  Width: number;
  Height: number;
  Format: string;
  ContentType: string;
  Size: number;
}

export interface LabelAttributes {
  Name: string;
  Confidence: number;
  Parents: string[];
  Categories: string[];
  Instances: Array<{
    Confidence: number;
    BoundingBox: { Width: number; Height: number; Left: number; Top: number };
  }>;
}

export type StageStatus = 'done' | 'failed';

/** `recorded` when the write happened, `stale` when a newer event for the key was already recorded. */
export type WriteOutcome = 'recorded' | 'stale';

export interface ImageRecordStore {
  recordThumbnail(input: {
    id: string;
    sequencer: string;
    source: SourceAttributes;
    thumbnail: ThumbnailAttributes;
  }): Promise<WriteOutcome>;
  recordThumbnailFailure(input: {
    id: string;
    sequencer: string;
    source: SourceAttributes;
    error: string;
  }): Promise<WriteOutcome>;
  /**
   * Clears the thumbnail attributes after the original was removed. Returns `recorded` when the removal is the newest
   * event or the item is already gone, so the caller may delete the thumbnail object. Returns `stale` when a newer
   * upload of the same key was already recorded.
   */
  clearThumbnail(input: { id: string; sequencer: string }): Promise<WriteOutcome>;
  recordLabels(input: { id: string; sequencer: string; labels: LabelAttributes[] }): Promise<WriteOutcome>;
  recordLabelsFailure(input: { id: string; sequencer: string; error: string }): Promise<WriteOutcome>;
  /** Deletes the item unless either stage already recorded an event newer than the removal. */
  deleteImage(input: { id: string; sequencer: string }): Promise<WriteOutcome>;
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof Error && error.name === 'ConditionalCheckFailedException')
  );
}

/** Runs a conditional write and turns a failed condition into `stale`; every other error propagates. */
async function conditionally(write: () => Promise<unknown>): Promise<WriteOutcome> {
  try {
    await write();
    return 'recorded';
  } catch (error) {
    if (isConditionFailure(error)) return 'stale';
    throw error;
  }
}

// The same event may be delivered twice, so an equal sequencer may write again; only an older one is refused.
const THUMBNAIL_NOT_NEWER = 'attribute_not_exists(ThumbnailSequencer) OR ThumbnailSequencer <= :sequencer';
const LABELS_NOT_NEWER = 'attribute_not_exists(LabelsSequencer) OR LabelsSequencer <= :sequencer';

export function createImageRecordStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  now: () => Date = () => new Date(),
): ImageRecordStore {
  const timestamp = () => now().toISOString();

  return {
    recordThumbnail: ({ id, sequencer, source, thumbnail }) =>
      conditionally(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { Id: id },
            UpdateExpression:
              'SET #source = :source, Thumbnail = :thumbnail, ThumbnailStatus = :done, ThumbnailSequencer = :sequencer, ' +
              'ThumbnailUpdatedAt = :now, UpdatedAt = :now, CreatedAt = if_not_exists(CreatedAt, :now) ' +
              'REMOVE ThumbnailError',
            ConditionExpression: THUMBNAIL_NOT_NEWER,
            ExpressionAttributeNames: { '#source': 'Source' },
            ExpressionAttributeValues: {
              ':source': source,
              ':thumbnail': thumbnail,
              ':done': 'done',
              ':sequencer': normalizeSequencer(sequencer),
              ':now': timestamp(),
            },
          }),
        ),
      ),

    recordThumbnailFailure: ({ id, sequencer, source, error }) =>
      conditionally(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { Id: id },
            UpdateExpression:
              'SET #source = :source, ThumbnailStatus = :failed, ThumbnailError = :error, ThumbnailSequencer = :sequencer, ' +
              'ThumbnailUpdatedAt = :now, UpdatedAt = :now, CreatedAt = if_not_exists(CreatedAt, :now) ' +
              'REMOVE Thumbnail',
            ConditionExpression: THUMBNAIL_NOT_NEWER,
            ExpressionAttributeNames: { '#source': 'Source' },
            ExpressionAttributeValues: {
              ':source': source,
              ':failed': 'failed',
              ':error': error,
              ':sequencer': normalizeSequencer(sequencer),
              ':now': timestamp(),
            },
          }),
        ),
      ),

    clearThumbnail: async ({ id, sequencer }) => {
      const sequence = normalizeSequencer(sequencer);
      const cleared = await conditionally(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { Id: id },
            UpdateExpression:
              'SET ThumbnailSequencer = :sequencer, ThumbnailUpdatedAt = :now, UpdatedAt = :now ' +
              'REMOVE Thumbnail, ThumbnailStatus, ThumbnailError',
            ConditionExpression: `attribute_exists(Id) AND (${THUMBNAIL_NOT_NEWER})`,
            ExpressionAttributeValues: { ':sequencer': sequence, ':now': timestamp() },
          }),
        ),
      );
      if (cleared === 'recorded') return 'recorded';

      // The condition failed either because the item is gone (the removal is the newest event, so the thumbnail
      // must go too) or because a newer upload was recorded. A write that succeeds only on an existing item, and
      // changes nothing, distinguishes the two. ReturnValuesOnConditionCheckFailure would too, but dynalite ignores it.
      const itemExists = await conditionally(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { Id: id },
            UpdateExpression: 'SET UpdatedAt = if_not_exists(UpdatedAt, :now)',
            ConditionExpression: 'attribute_exists(Id)',
            ExpressionAttributeValues: { ':now': timestamp() },
          }),
        ),
      );
      return itemExists === 'recorded' ? 'stale' : 'recorded';
    },

    recordLabels: ({ id, sequencer, labels }) =>
      conditionally(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { Id: id },
            UpdateExpression:
              'SET Labels = :labels, LabelsStatus = :done, LabelsSequencer = :sequencer, LabelsUpdatedAt = :now, ' +
              'UpdatedAt = :now, CreatedAt = if_not_exists(CreatedAt, :now) REMOVE LabelsError',
            ConditionExpression: LABELS_NOT_NEWER,
            ExpressionAttributeValues: {
              ':labels': labels,
              ':done': 'done',
              ':sequencer': normalizeSequencer(sequencer),
              ':now': timestamp(),
            },
          }),
        ),
      ),

    recordLabelsFailure: ({ id, sequencer, error }) =>
      conditionally(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { Id: id },
            UpdateExpression:
              'SET LabelsStatus = :failed, LabelsError = :error, LabelsSequencer = :sequencer, LabelsUpdatedAt = :now, ' +
              'UpdatedAt = :now, CreatedAt = if_not_exists(CreatedAt, :now) REMOVE Labels',
            ConditionExpression: LABELS_NOT_NEWER,
            ExpressionAttributeValues: {
              ':failed': 'failed',
              ':error': error,
              ':sequencer': normalizeSequencer(sequencer),
              ':now': timestamp(),
            },
          }),
        ),
      ),

    deleteImage: ({ id, sequencer }) =>
      conditionally(() =>
        client.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { Id: id },
            // The thumbnail step may have cleared its attributes for this same removal first, hence `<=` there.
            ConditionExpression:
              '(attribute_not_exists(LabelsSequencer) OR LabelsSequencer < :sequencer) AND ' +
              '(attribute_not_exists(ThumbnailSequencer) OR ThumbnailSequencer <= :sequencer)',
            ExpressionAttributeValues: { ':sequencer': normalizeSequencer(sequencer) },
          }),
        ),
      ),
  };
}
