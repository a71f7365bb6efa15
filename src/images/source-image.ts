import type { Metadata } from 'sharp';
import { InvalidImageError } from '../errors';
import { type DetectedFormat, detectImageFormat, FORMAT_LABELS } from './image-format';
import { sharp } from './sharp-setup';

/**
 * The gate every original passes before any pixel is decoded, shared by the thumbnail and the Rekognition conversion
 * so that both accept and reject the same files with the same messages.
 */

/** Facts from the source image's header, read before any pixel is decoded. */
export interface SourceImageInfo {
  /** Container format: jpeg, png, webp, gif, avif or tiff. */
  format: string;
  /** Stored width in pixels, before EXIF orientation. Animations and multi-page files give the first page's. */
  width: number;
  /** Stored height in pixels, before EXIF orientation. Animations and multi-page files give the first page's. */
  height: number;
  /** EXIF Orientation from 1 to 8, and 1 when the tag is absent, 0 or out of range. */
  orientation: number;
  /** Width as displayed, after EXIF orientation. */
  displayWidth: number;
  /** Height as displayed, after EXIF orientation. */
  displayHeight: number;
  /** Whether the header declares an alpha channel (a palette PNG with a tRNS chunk does). */
  hasAlpha: boolean;
  /** libvips interpretation of the stored pixels, such as srgb, cmyk, b-w or rgb16. */
  space: string;
  /** Bits per sample of one channel, such as 1, 8 or 16. */
  bitsPerSample: number;
  /** Number of pages or animation frames, 1 for a still image. */
  pages: number;
}

/** Formats that reach the decoder; everything else is rejected from its signature. */
const ACCEPTED_FORMATS: ReadonlySet<DetectedFormat> = new Set([
  'jpeg',
  'png',
  'gif',
  'webp',
  'tiff',
  'avif',
  'heif',
]);
const ACCEPTED_FORMATS_TEXT = 'JPEG, PNG, WebP, GIF, AVIF or TIFF';

/**
 * Whether this sharp build decodes HEVC-coded HEIF (HEIC). sharp 0.35's prebuilt libvips ships libheif with the AV1
 * decoder only and lists ".avif" as its one HEIF suffix. A libvips built with an HEVC decoder also lists ".heic".
 */
const CAN_DECODE_HEIC =
  sharp.format.heif.input.buffer && (sharp.format.heif.input.fileSuffix ?? []).includes('.heic');

/** Reasons shown in rejection messages, so that the uploader learns more than "unsupported". */
const REJECTION_REASONS: Partial<Record<DetectedFormat, string>> = {
  heic: 'HEIC (HEVC-coded HEIF, the iPhone camera default) cannot be decoded by the image library this service uses.',
  heif: 'This HEIF file is not AV1-coded (AVIF), and other HEIF codings cannot be decoded here.',
  svg: 'SVG is rejected because rendering it can load external files and fonts.',
  pdf: 'PDF documents are not rendered.',
  postscript: 'PostScript documents are not rendered.',
};

function unsupportedFormatError(format: DetectedFormat, input: Buffer): InvalidImageError {
  const reason = REJECTION_REASONS[format];
  if (format === 'unknown') {
    const firstBytes = input
      .subarray(0, 8)
      .toString('hex')
      .replace(/(..)(?!$)/g, '$1 ');
    return new InvalidImageError(
      'unsupported-format',
      `Unsupported image format: the data does not start with the signature of any known image format ` +
        `(first bytes: ${firstBytes}). Upload a ${ACCEPTED_FORMATS_TEXT} image instead.`,
    );
  }
  const because = reason === undefined ? '' : ` ${reason}`;
  const heicHint = format === 'heic' ? ' (on an iPhone: Settings > Camera > Formats > Most Compatible)' : '';
  return new InvalidImageError(
    'unsupported-format',
    `Unsupported image format: ${FORMAT_LABELS[format]}.${because} ` +
      `Upload a ${ACCEPTED_FORMATS_TEXT} image instead${heicHint}.`,
  );
}

/** Joins the distinct lines of a decoder error, because libvips repeats a line each time a loader retries. */
function describeDecoderError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return [...new Set(lines)].join('; ');
}

export function corruptImageError(format: DetectedFormat, error: unknown): InvalidImageError {
  return new InvalidImageError(
    'corrupt',
    `Invalid ${FORMAT_LABELS[format]} image: the file is corrupt or truncated (${describeDecoderError(error)}). ` +
      'Upload a complete, undamaged copy.',
    { cause: error },
  );
}

function bitsPerSampleOf(metadata: Metadata): number {
  if (metadata.bitsPerSample !== undefined) return metadata.bitsPerSample;
  switch (metadata.depth) {
    case 'uchar':
    case 'char':
      return 8;
    case 'ushort':
    case 'short':
      return 16;
    case 'uint':
    case 'int':
    case 'float':
      return 32;
    default:
      return 64;
  }
}

/** HEIF files are named by their coding, which only the decoder reports: AV1 makes AVIF, HEVC makes HEIC. */
function sourceFormatOf(detected: DetectedFormat, metadata: Metadata): DetectedFormat {
  if (metadata.format !== 'heif') return detected;
  return metadata.compression === 'av1' ? 'avif' : 'heic';
}

function describeSource(detected: DetectedFormat, metadata: Metadata): SourceImageInfo {
  const height = metadata.pageHeight ?? metadata.height;
  const tag = metadata.orientation;
  const orientation = tag !== undefined && Number.isInteger(tag) && tag >= 1 && tag <= 8 ? tag : 1;
  // Orientations 5 to 8 include a quarter turn, so the displayed image swaps width and height.
  const quarterTurn = orientation >= 5;
  return {
    format: sourceFormatOf(detected, metadata),
    width: metadata.width,
    height,
    orientation,
    displayWidth: quarterTurn ? height : metadata.width,
    displayHeight: quarterTurn ? metadata.width : height,
    hasAlpha: metadata.hasAlpha,
    space: metadata.space,
    bitsPerSample: bitsPerSampleOf(metadata),
    pages: metadata.pages ?? 1,
  };
}

/**
 * Reads the header only. No pixel data is decompressed, so a decompression bomb costs no more than its file size
 * here. The caller applies the pixel limit before decoding starts.
 */
async function readHeader(input: Buffer, detected: DetectedFormat): Promise<Metadata> {
  try {
    return await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw corruptImageError(detected, error);
  }
}

/** Rejects what the signature check let through but the decoder identifies differently or cannot decode. */
function checkDecodable(detected: DetectedFormat, metadata: Metadata, input: Buffer): void {
  if (metadata.format === 'heif') {
    if (metadata.compression !== 'av1' && !CAN_DECODE_HEIC) throw unsupportedFormatError('heic', input);
    return;
  }
  const decoderFormat: string = metadata.format;
  if (decoderFormat !== detected) {
    throw new InvalidImageError(
      'unsupported-format',
      `Unsupported image format: the file starts like ${FORMAT_LABELS[detected]} but the decoder reads it as ` +
        `${decoderFormat}. Upload a ${ACCEPTED_FORMATS_TEXT} image instead.`,
    );
  }
}

function checkPixelLimit(source: SourceImageInfo, detected: DetectedFormat, maxInputPixels: number): void {
  const pixels = source.width * source.height;
  if (pixels > maxInputPixels) {
    throw new InvalidImageError(
      'too-many-pixels',
      `Image too large: its ${FORMAT_LABELS[detected]} header declares ` +
        `${source.width}x${source.height} = ${pixels} pixels, more than the limit of ${maxInputPixels} ` +
        '(maxInputPixels, set by MAX_INPUT_PIXELS). Upload a smaller image.',
    );
  }
}

/** A source image that passed the gate: its format from the signature, its header, and the facts about it. */
export interface InspectedImage {
  detected: DetectedFormat;
  metadata: Metadata;
  source: SourceImageInfo;
}

/**
 * Checks an original from its signature and header only: not empty, a format this service decodes, and at most
 * `maxInputPixels` pixels.
 *
 * @throws InvalidImageError with reason `empty`, `unsupported-format` (anything but JPEG, PNG, WebP, GIF, AVIF and
 *   TIFF), `too-many-pixels` or `corrupt` (a header libvips cannot read).
 */
export async function inspectImage(input: Buffer, maxInputPixels: number): Promise<InspectedImage> {
  if (input.length === 0) {
    throw new InvalidImageError('empty', 'Image is empty (0 bytes). Upload the image file again.');
  }

  const detected = detectImageFormat(input);
  if (!ACCEPTED_FORMATS.has(detected) && !(detected === 'heic' && CAN_DECODE_HEIC)) {
    throw unsupportedFormatError(detected, input);
  }

  const metadata = await readHeader(input, detected);
  checkDecodable(detected, metadata, input);
  const source = describeSource(detected, metadata);
  checkPixelLimit(source, detected, maxInputPixels);
  return { detected, metadata, source };
}
