import { InvalidImageError } from '../errors';
import type { DetectedFormat } from './image-format';
import { REKOGNITION_IMAGE_LIMITS } from './rekognition-input';
import { sharp } from './sharp-setup';
import { corruptImageError, inspectImage } from './source-image';

// The conversion behind `prepareRekognitionBytes`, in a module of its own so that only the first conversion in an
// execution environment loads sharp.

// Maximum side of the JPEG sent to Rekognition. 2048 keeps ample detail for labels and lets libjpeg shrink a camera
// photo on load: on a 12 MP JPEG the peak grew by 36 MiB instead of 83 MiB at 4096 (bench/image-memory.ts). A
// quality-90 JPEG of that size fits the 5 MB request limit on the first try, and noise-like images take the loop.
const TARGET_MAX_DIMENSION = 2048;
const JPEG_QUALITY = 90;
const MAX_ENCODE_ATTEMPTS = 4;

/** Does the work of `prepareRekognitionBytes` (rekognition-input.ts), which describes the output and the errors. */
export async function convertForRekognition(input: Buffer, maxInputPixels: number): Promise<Buffer> {
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
