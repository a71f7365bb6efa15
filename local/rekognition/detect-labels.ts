import type { S3Client } from '@aws-sdk/client-s3';
import { buildLabels, type RekognitionLabel } from './label-response';
import type { DetectedObject, RgbImage } from './object-detector';
import { loadRequestImage, type RequestImage } from './request-image';
import { RekognitionServiceError } from './service-error';

/** Value returned as LabelModelVersion, so that records made locally can be distinguished from Rekognition's. */
export const LOCAL_LABEL_MODEL_VERSION = 'local-coco-centernet-human-3.3.6';

// Rekognition's defaults and limits for DetectLabels (API reference and AWS CLI reference).
const DEFAULT_MAX_LABELS = 1000;
const DEFAULT_MIN_CONFIDENCE = 55;

export interface DetectLabelsResponse {
  Labels: RekognitionLabel[];
  LabelModelVersion: string;
}

/** Runs the COCO detector on a decoded image, such as LabelModelPool.detect. */
export type DetectObjects = (image: RgbImage) => Promise<DetectedObject[]>;

/**
 * Handles a DetectLabels request body (already parsed from JSON): reads and decodes the image on this thread, and
 * runs `detectObjects` on it.
 *
 * @throws RekognitionServiceError for invalid parameters and for images Rekognition would reject.
 */
export async function handleDetectLabels(
  body: unknown,
  s3: S3Client,
  detectObjects: DetectObjects,
): Promise<DetectLabelsResponse> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RekognitionServiceError('SerializationException', 'The request body must be a JSON object.');
  }
  const request = body as { Image?: unknown; MaxLabels?: unknown; MinConfidence?: unknown };

  if (typeof request.Image !== 'object' || request.Image === null) {
    throw new RekognitionServiceError(
      'InvalidParameterException',
      'Request has invalid parameters: Image is missing.',
    );
  }
  const maxLabels = readNumberParameter(
    request.MaxLabels,
    'MaxLabels',
    DEFAULT_MAX_LABELS,
    0,
    DEFAULT_MAX_LABELS,
  );
  if (!Number.isInteger(maxLabels)) {
    throw new RekognitionServiceError(
      'InvalidParameterException',
      `Request has invalid parameters: MaxLabels must be an integer, got ${maxLabels}.`,
    );
  }
  const minConfidence = readNumberParameter(
    request.MinConfidence,
    'MinConfidence',
    DEFAULT_MIN_CONFIDENCE,
    0,
    100,
  );

  const image = await loadRequestImage(request.Image as RequestImage, s3);
  const objects = await detectObjects(image);
  return {
    Labels: buildLabels(objects, maxLabels, minConfidence),
    LabelModelVersion: LOCAL_LABEL_MODEL_VERSION,
  };
}

function readNumberParameter(
  value: unknown,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new RekognitionServiceError(
      'InvalidParameterException',
      `Request has invalid parameters: ${name} must be a number from ${min} to ${max}, got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}
