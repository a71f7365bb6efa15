import type { Context, SNSEvent } from 'aws-lambda';
import { getDocumentClient, getRekognitionClient, getS3Client } from '../clients';
import { loadAnalyzeImageConfig } from '../config';
import { createLogger } from '../logger';
import { runLabelStep } from '../pipeline/label-step';
import { processS3Notifications } from '../pipeline/process-events';
import { createImageRecordStore } from '../records/image-records';

const config = loadAnalyzeImageConfig();
const logger = createLogger('analyze-image');
const dependencies = {
  s3: getS3Client(),
  rekognitionFor: getRekognitionClient,
  records: createImageRecordStore(getDocumentClient(), config.tableName),
  config,
};

/** SNS-subscribed entry point: Rekognition labels per created original; the item goes when the original does. */
export const handler = async (event: SNSEvent, context: Context): Promise<void> => {
  logger.addContext(context);
  await processS3Notifications(event, config.rawBucket, logger, (objectEvent) =>
    runLabelStep(objectEvent, dependencies),
  );
};
