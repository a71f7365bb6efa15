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

/**
 * Converts any readable raster image into a JPEG that Rekognition accepts as `Image.Bytes`. The output has EXIF
 * orientation applied, is sRGB, holds only the first frame or page, and has alpha flattened onto white. Each side is
 * from 80 to 2048 pixels (within Rekognition's 80 to 10,000), and the file is under 5 MB.
 *
 * The original passes the same gate as a thumbnail (`inspectImage`): format from its signature, pixel count from its
 * header against `maxInputPixels`, before any pixel is decoded.
 *
 * sharp is loaded on the first call, not with this module, because analyzeImage converts only the images Rekognition
 * cannot read from S3. Loading sharp (its native addon and libvips) took about 40 ms of every cold start on the
 * benchmark machine (docs/benchmarks.md).
 *
 * @throws InvalidImageError with reason `empty`, `unsupported-format`, `corrupt`, `too-many-pixels` or `too-large`.
 */
export async function prepareRekognitionBytes(input: Buffer, maxInputPixels: number): Promise<Buffer> {
  const { convertForRekognition } = await import('./rekognition-conversion');
  return convertForRekognition(input, maxInputPixels);
}
