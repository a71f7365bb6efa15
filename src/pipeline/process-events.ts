import type { Logger } from '@aws-lambda-powertools/logger';
import type { SNSEvent } from 'aws-lambda';
import { parseSnsS3Notifications, type S3ObjectEvent } from '../events/s3-notification';

/**
 * Runs one step over every S3 record of an SNS event and logs one line per record. A record that throws does not stop
 * the others; after all ran, the errors are thrown together so Lambda retries the event. The steps are idempotent, so
 * records that already succeeded are safe to run again on that retry.
 */
export async function processS3Notifications<Outcome extends string>(
  event: SNSEvent,
  rawBucket: string,
  logger: Logger,
  step: (objectEvent: S3ObjectEvent) => Promise<Outcome>,
): Promise<void> {
  const { objectEvents, testEventMessageIds, ignored } = parseSnsS3Notifications(event, rawBucket);

  for (const messageId of testEventMessageIds) {
    logger.info('s3 test event acknowledged', { messageId });
  }
  for (const record of ignored) {
    logger.warn('record ignored', { ...record });
  }

  const errors: unknown[] = [];
  for (const objectEvent of objectEvents) {
    const recordKeys = {
      bucket: objectEvent.bucket,
      key: objectEvent.key,
      messageId: objectEvent.messageId,
      eventName: objectEvent.eventName,
      sequencer: objectEvent.sequencer,
    };
    const started = performance.now();
    try {
      const outcome = await step(objectEvent);
      logger.info('record processed', {
        ...recordKeys,
        outcome,
        durationMs: Math.round(performance.now() - started),
      });
    } catch (error) {
      logger.error('record failed, Lambda retries the event', {
        ...recordKeys,
        outcome: 'error',
        durationMs: Math.round(performance.now() - started),
        error: error as Error,
      });
      errors.push(error);
    }
  }

  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new AggregateError(errors, `${errors.length} of ${objectEvents.length} records failed`);
  }
}
