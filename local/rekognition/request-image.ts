import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { REKOGNITION_IMAGE_LIMITS, sniffRekognitionFormat } from '../../src/images/rekognition-input';
import type { RgbImage } from './object-detector';
import { RekognitionServiceError } from './service-error';

/** The `Image` member of a DetectLabels request, as parsed from JSON. */
export interface RequestImage {
  Bytes?: unknown;
  S3Object?: { Bucket?: unknown; Name?: unknown; Version?: unknown };
}

// The detector resizes every input to 512x512, so larger images only cost decoding time.
const DETECTOR_INPUT_MAX_DIMENSION = 1024;

// Messages as Rekognition words them, so that logs read the same against both.
const INVALID_PARAMETERS = 'Request has invalid parameters';
const UNSUPPORTED_FORMAT = 'Request has unsupported image format';
const S3_OBJECT_UNREADABLE =
  'Unable to get object metadata from S3. Check object key, region and/or access permissions.';

/** Where the image came from, for the request log line. */
export function describeRequestImage(image: RequestImage): string {
  const s3 = image.S3Object;
  if (s3 !== undefined) return `s3://${String(s3.Bucket)}/${String(s3.Name)}`;
  return typeof image.Bytes === 'string' ? `${Math.floor((image.Bytes.length * 3) / 4)} bytes` : 'no image';
}

/**
 * Reads the request's image from `Bytes` (base64) or from `S3Object`, applies Rekognition's checks (JPEG or PNG
 * only, 5 MB as bytes, 15 MB from S3, 80 to 10,000 pixels per side) and decodes it upright for the detector.
 *
 * @throws RekognitionServiceError with the code Rekognition returns for each failed check.
 */
export async function loadRequestImage(image: RequestImage, s3: S3Client): Promise<RgbImage> {
  const hasBytes = image.Bytes !== undefined;
  const hasS3Object = image.S3Object !== undefined;
  if (hasBytes === hasS3Object) {
    throw new RekognitionServiceError(
      'InvalidParameterException',
      `${INVALID_PARAMETERS}: Image must contain exactly one of Bytes and S3Object.`,
    );
  }

  const encoded = hasBytes ? decodeBytes(image.Bytes) : await readS3Object(image.S3Object ?? {}, s3);
  return decodeForDetector(encoded);
}

function decodeBytes(bytes: unknown): Buffer {
  if (typeof bytes !== 'string' || bytes.length === 0) {
    throw new RekognitionServiceError(
      'InvalidParameterException',
      `${INVALID_PARAMETERS}: Image.Bytes must be non-empty base64.`,
    );
  }
  const decoded = Buffer.from(bytes, 'base64');
  if (decoded.length > REKOGNITION_IMAGE_LIMITS.maxRequestBytes) {
    throw new RekognitionServiceError(
      'ImageTooLargeException',
      `Image.Bytes is ${decoded.length} bytes, over the limit of ${REKOGNITION_IMAGE_LIMITS.maxRequestBytes} bytes.`,
    );
  }
  return decoded;
}

async function readS3Object(s3Object: NonNullable<RequestImage['S3Object']>, s3: S3Client): Promise<Buffer> {
  const { Bucket, Name, Version } = s3Object;
  if (typeof Bucket !== 'string' || Bucket === '' || typeof Name !== 'string' || Name === '') {
    throw new RekognitionServiceError(
      'InvalidParameterException',
      `${INVALID_PARAMETERS}: Image.S3Object needs a Bucket and a Name.`,
    );
  }
  const versionId = typeof Version === 'string' && Version !== '' ? Version : undefined;

  let body: Uint8Array;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket, Key: Name, VersionId: versionId }));
    if (response.Body === undefined) throw new Error('GetObject returned no body');
    body = await response.Body.transformToByteArray();
  } catch (error) {
    throw toS3ReadError(error, Bucket, Name);
  }

  if (body.length > REKOGNITION_IMAGE_LIMITS.maxS3ObjectBytes) {
    throw new RekognitionServiceError(
      'ImageTooLargeException',
      `s3://${Bucket}/${Name} is ${body.length} bytes, over the S3 object limit of ` +
        `${REKOGNITION_IMAGE_LIMITS.maxS3ObjectBytes} bytes.`,
    );
  }
  return Buffer.from(body.buffer, body.byteOffset, body.length);
}

/** Missing or forbidden objects are the caller's problem (InvalidS3ObjectException); anything else is ours. */
function toS3ReadError(error: unknown, bucket: string, key: string): RekognitionServiceError {
  const name = error instanceof Error ? error.name : '';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const callerError = ['NoSuchKey', 'NoSuchBucket', 'NotFound', 'AccessDenied', 'NoSuchVersion'].includes(
    name,
  );
  if (callerError || status === 403 || status === 404) {
    return new RekognitionServiceError(
      'InvalidS3ObjectException',
      `${S3_OBJECT_UNREADABLE} (s3://${bucket}/${key})`,
      {
        cause: error,
      },
    );
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new RekognitionServiceError(
    'InternalServerError',
    `Reading s3://${bucket}/${key} from the local S3 endpoint failed: ${detail}`,
    { cause: error },
  );
}

async function decodeForDetector(encoded: Buffer): Promise<RgbImage> {
  if (sniffRekognitionFormat(encoded) === undefined) {
    throw new RekognitionServiceError(
      'InvalidImageFormatException',
      `${UNSUPPORTED_FORMAT}: only JPEG and PNG.`,
    );
  }

  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(encoded, { limitInputPixels: false }).metadata());
  } catch (error) {
    throw new RekognitionServiceError('InvalidImageFormatException', UNSUPPORTED_FORMAT, { cause: error });
  }
  if (width === undefined || height === undefined) {
    throw new RekognitionServiceError('InvalidImageFormatException', UNSUPPORTED_FORMAT);
  }

  const { minDimension, maxDimension } = REKOGNITION_IMAGE_LIMITS;
  if (width > maxDimension || height > maxDimension) {
    // NOTE: Rekognition's documentation gives the limit but not the error code; ImageTooLargeException is assumed.
    throw new RekognitionServiceError(
      'ImageTooLargeException',
      `Input image dimensions ${width} x ${height} exceed maximum dimension size of ${maxDimension} pixels`,
    );
  }
  if (width < minDimension || height < minDimension) {
    // Rekognition rejects images under 80 pixels per side with this generic parameter error.
    throw new RekognitionServiceError(
      'InvalidParameterException',
      `${INVALID_PARAMETERS}: the image is ${width} x ${height}, under the minimum of ${minDimension} pixels per side.`,
    );
  }

  try {
    const { data, info } = await sharp(encoded, { limitInputPixels: maxDimension * maxDimension })
      .rotate()
      .resize(DETECTOR_INPUT_MAX_DIMENSION, DETECTOR_INPUT_MAX_DIMENSION, {
        fit: 'inside',
        withoutEnlargement: true,
      })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (error) {
    throw new RekognitionServiceError('InvalidImageFormatException', UNSUPPORTED_FORMAT, { cause: error });
  }
}
