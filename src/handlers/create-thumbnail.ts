import type { Context, SNSEvent } from 'aws-lambda';
import { getDocumentClient, getS3Client } from '../clients';
import { loadCreateThumbnailConfig } from '../config';
import { createLogger } from '../logger';
import { processS3Notifications } from '../pipeline/process-events';
import { runThumbnailStep } from '../pipeline/thumbnail-step';
import { createImageRecordStore } from '../records/image-records';

const config = loadCreateThumbnailConfig();
const logger = createLogger('create-thumbnail');
const dependencies = {
  s3: getS3Client(),
  records: createImageRecordStore(getDocumentClient(), config.tableName),
  config,
};

/** SNS-subscribed entry point: one upright thumbnail per created original, removed with it. */
export const handler = async (event: SNSEvent, context: Context): Promise<void> => {
  logger.addContext(context);
  await processS3Notifications(event, config.rawBucket, logger, (objectEvent) =>
    runThumbnailStep(objectEvent, dependencies),
  );
};
