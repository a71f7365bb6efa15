import { InvalidImageError } from '../errors';
import type { DetectedFormat } from './image-format';
import { sharp } from './sharp-setup';
import { corruptImageError, inspectImage } from './source-image';

/**
 * Amazon Rekognition's fixed image quotas for DetectLabels, from "Guidelines and quotas in Amazon Rekognition"
 * (docs.aws.amazon.com/rekognition/latest/dg/limits.html). Images must be JPEG or PNG. Rekognition reads at most
 * 15 MB from S3 and accepts at most 5 MB of raw bytes in the request, with 80 to 10,000 pixels on each side.
 * NOTE: the page gives "MB" without stating 10^6 or 2^20 bytes, so the byte limits use the smaller reading.
 */
export const REKOGNITION_IMAGE_LIMITS = {
  maxS3ObjectBytes: 15_000_000,
  maxRequestBytes: 5_000_000,
  minDimension: 80,
  maxDimension: 10_000,
} as const;

/** Formats Rekognition reads itself. */
export type RekognitionNativeFormat = 'jpeg' | 'png';

/** Number of leading bytes `sniffRekognitionFormat` needs: the PNG signature is the longest. */
export const FORMAT_SNIFF_BYTE_COUNT = 8;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Identifies a JPEG (FF D8 FF) or PNG (the 8-byte signature) from the first bytes of a file. Returns undefined for
 * anything else, including input shorter than the signature.
 */
export function sniffRekognitionFormat(head: Uint8Array): RekognitionNativeFormat | undefined {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= PNG_SIGNATURE.length && PNG_SIGNATURE.equals(head.subarray(0, PNG_SIGNATURE.length))) {
    return 'png';
  }
  return undefined;
}

// Maximum side of the JPEG sent to Rekognition. 2048 keeps ample detail for labels and lets libjpeg shrink a camera
// photo on load: on a 12 MP JPEG the peak grew by 36 MiB instead of 83 MiB at 4096 (bench/image-memory.ts). A
// quality-90 JPEG of that size fits the 5 MB request limit on the first try, and noise-like images take the loop.
const TARGET_MAX_DIMENSION = 2048;
const JPEG_QUALITY = 90;
const MAX_ENCODE_ATTEMPTS = 4;

/**
 * Converts any readable raster image into a JPEG that Rekognition accepts as `Image.Bytes`. The output has EXIF
 * orientation applied, is sRGB, holds only the first frame or page, and has alpha flattened onto white. Each side is
 * from 80 to 2048 pixels (within Rekognition's 80 to 10,000), and the file is under 5 MB.
 *
 * The original passes the same gate as a thumbnail (`inspectImage`): format from its signature, pixel count from its
 * header against `maxInputPixels`, before any pixel is decoded.
 *
 * @throws InvalidImageError with reason `empty`, `unsupported-format`, `corrupt`, `too-many-pixels` or `too-large`.
 */
export async function prepareRekognitionBytes(input: Buffer, maxInputPixels: number): Promise<Buffer> {
  const { detected, source } = await inspectImage(input, maxInputPixels);
  const width = source.displayWidth;
  const height = source.displayHeight;
  const target = fitRekognitionDimensions(width, height);

  let maxDimension = Math.min(TARGET_MAX_DIMENSION, Math.max(target.width, target.height));
  for (let attempt = 1; attempt <= MAX_ENCODE_ATTEMPTS; attempt++) {
    const output = await encodeJpeg(input, detected, maxInputPixels, target, maxDimension);
    if (output.length < REKOGNITION_IMAGE_LIMITS.maxRequestBytes) return output;

    // JPEG size grows roughly with the pixel count, so scale the sides by the square root of the overshoot.
    const shrink = Math.sqrt(REKOGNITION_IMAGE_LIMITS.maxRequestBytes / output.length) * 0.9;
    maxDimension = Math.floor(maxDimension * shrink);
  }
  throw new InvalidImageError(
    'too-large',
    `The ${width}x${height} image is still ${REKOGNITION_IMAGE_LIMITS.maxRequestBytes} bytes or more as a JPEG ` +
      `after ${MAX_ENCODE_ATTEMPTS} attempts to shrink it; upload a smaller or less detailed image.`,
  );
}

interface Dimensions {
  width: number;
  height: number;
}

/**
 * Returns the upright output size: scaled up so that the short side reaches the minimum, and down so that the long
 * side fits the maximum.
 */
function fitRekognitionDimensions(width: number, height: number): Dimensions {
  const { minDimension, maxDimension } = REKOGNITION_IMAGE_LIMITS;
  const scaleUp = Math.max(1, minDimension / Math.min(width, height));
  const scaled = { width: Math.round(width * scaleUp), height: Math.round(height * scaleUp) };

  if (Math.max(scaled.width, scaled.height) > maxDimension) {
    const scaleDown = maxDimension / Math.max(scaled.width, scaled.height);
    if (Math.min(scaled.width, scaled.height) * scaleDown < minDimension) {
      throw new InvalidImageError(
        'unsupported-format',
        `The ${width}x${height} image is too narrow to fit Rekognition's size range of ${minDimension} to ` +
          `${maxDimension} pixels per side; crop it to an aspect ratio under ${maxDimension / minDimension}:1.`,
      );
    }
    return { width: Math.round(scaled.width * scaleDown), height: Math.round(scaled.height * scaleDown) };
  }
  return scaled;
}

async function encodeJpeg(
  input: Buffer,
  detected: DetectedFormat,
  maxInputPixels: number,
  target: Dimensions,
  maxDimension: number,
): Promise<Buffer> {
  const scale = Math.min(1, maxDimension / Math.max(target.width, target.height));
  const width = Math.max(REKOGNITION_IMAGE_LIMITS.minDimension, Math.round(target.width * scale));
  const height = Math.max(REKOGNITION_IMAGE_LIMITS.minDimension, Math.round(target.height * scale));

  try {
    return await sharp(input, { limitInputPixels: maxInputPixels, pages: 1, page: 0 })
      .rotate()
      .resize(width, height, { fit: 'fill' })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .jpeg({ quality: JPEG_QUALITY })
      .toBuffer();
  } catch (error) {
    throw corruptImageError(detected, error);
  }
}
