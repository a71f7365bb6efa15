import {
  DetectLabelsCommand,
  type DetectLabelsCommandInput,
  type Image,
  type RekognitionClient,
} from '@aws-sdk/client-rekognition';
import type { LabelSettings } from '../config';
import { InvalidImageError } from '../errors';
import {
  FORMAT_SNIFF_BYTE_COUNT,
  prepareRekognitionBytes,
  REKOGNITION_IMAGE_LIMITS,
  sniffRekognitionFormat,
} from '../images/rekognition-input';
import { type LabelDetection, toImageLabels } from './labels';
import { isImageRejection, toLabelDetectionError } from './rekognition-errors';

export type { BoundingBox, ImageLabel, LabelDetection, LabelImageSource } from './labels';

/** Everything `detectImageLabels` needs for one S3 object; the caller owns the S3 access. */
export interface DetectLabelsRequest {
  rekognition: RekognitionClient;
  object: { bucket: string; key: string; size?: number; versionId?: string };
  /** Ranged GET of the object's first bytes, used to tell JPEG and PNG from other formats. */
  readObjectStart: (byteCount: number) => Promise<Buffer>;
  /** GET of the whole object, for images that must be converted and sent as bytes. */
  readObject: () => Promise<Buffer>;
  settings: LabelSettings;
  /** Largest width x height accepted before decoding, as for thumbnails. */
  maxInputPixels: number;
}

// Rekognition accepts MaxLabels from 0 up to 1000 and MinConfidence from 0 to 100 (DetectLabels API reference).
const MAX_LABELS_LIMIT = 1000;

/**
 * Runs Rekognition DetectLabels on an S3 object.
 *
 * JPEG and PNG objects within the 15 MB S3 limit are passed as `Image.S3Object`, so Rekognition reads them itself.
 * Other formats, larger objects, and objects that Rekognition rejects from S3 (format, size or dimensions) are read,
 * converted to a JPEG with `prepareRekognitionBytes` and sent as `Image.Bytes`.
 *
 * @throws InvalidImageError when the image cannot be converted or Rekognition rejects the converted image.
 * @throws RangeError when MaxLabels or MinConfidence is out of Rekognition's range.
 * @throws the SDK's error unchanged for throttling, service faults, timeouts, AccessDeniedException and
 *   InvalidS3ObjectException, so that Lambda retries them.
 */
export async function detectImageLabels(request: DetectLabelsRequest): Promise<LabelDetection> {
  checkLabelSettings(request.settings);
  const { object } = request;

  if (object.size === 0) {
    throw new InvalidImageError(
      'empty',
      `The object s3://${object.bucket}/${object.key} is empty (0 bytes).`,
    );
  }

  if (object.size === undefined || object.size <= REKOGNITION_IMAGE_LIMITS.maxS3ObjectBytes) {
    const head = await request.readObjectStart(FORMAT_SNIFF_BYTE_COUNT);
    if (head.length === 0) {
      throw new InvalidImageError(
        'empty',
        `The object s3://${object.bucket}/${object.key} is empty (0 bytes).`,
      );
    }
    if (sniffRekognitionFormat(head) !== undefined) {
      const s3Image: Image = { S3Object: { Bucket: object.bucket, Name: object.key } };
      if (object.versionId !== undefined && s3Image.S3Object !== undefined) {
        s3Image.S3Object.Version = object.versionId;
      }
      try {
        return await detectLabels(request, s3Image, 's3-object');
      } catch (error) {
        // Rekognition still rejects some JPEG and PNG objects: under 80 or over 10,000 pixels per side, or over
        // 15 MB when the event carried no size. The converted bytes are within each of those limits.
        if (!isImageRejection(error)) throw error;
      }
    }
  }

  const original = await request.readObject();
  const bytes = await prepareRekognitionBytes(original, request.maxInputPixels);
  try {
    return await detectLabels(request, { Bytes: bytes }, 'bytes');
  } catch (error) {
    throw toLabelDetectionError(error, `converted from s3://${object.bucket}/${object.key}`);
  }
}

async function detectLabels(
  request: DetectLabelsRequest,
  image: Image,
  imageSource: LabelDetection['imageSource'],
): Promise<LabelDetection> {
  const input: DetectLabelsCommandInput = {
    Image: image,
    MaxLabels: request.settings.maxLabels,
    MinConfidence: request.settings.minConfidence,
  };
  const response = await request.rekognition.send(new DetectLabelsCommand(input));

  const detection: LabelDetection = { labels: toImageLabels(response.Labels), imageSource };
  if (response.LabelModelVersion !== undefined) detection.labelModelVersion = response.LabelModelVersion;
  return detection;
}

function checkLabelSettings(settings: LabelSettings): void {
  const { maxLabels, minConfidence } = settings;
  if (!Number.isInteger(maxLabels) || maxLabels < 0 || maxLabels > MAX_LABELS_LIMIT) {
    throw new RangeError(`maxLabels must be an integer from 0 to ${MAX_LABELS_LIMIT}, got ${maxLabels}`);
  }
  if (!Number.isFinite(minConfidence) || minConfidence < 0 || minConfidence > 100) {
    throw new RangeError(`minConfidence must be a number from 0 to 100, got ${minConfidence}`);
  }
}
