import type { Metadata, Sharp } from 'sharp';
import type { ThumbnailSettings } from '../config';
import { InvalidImageError } from '../errors';
import {
  type DetectedFormat,
  detectImageFormat,
  FORMAT_LABELS,
  THUMBNAIL_CONTENT_TYPES,
  type ThumbnailFormat,
} from './image-format';
import { sharp } from './sharp-setup';

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

/** An encoded thumbnail and the facts about its source. */
export interface Thumbnail {
  data: Buffer;
  format: ThumbnailFormat;
  /** Content-Type for `format`, such as image/jpeg. */
  contentType: string;
  width: number;
  height: number;
  source: SourceImageInfo;
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

function corruptImageError(format: DetectedFormat, error: unknown): InvalidImageError {
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

function checkPixelLimit(
  source: SourceImageInfo,
  detected: DetectedFormat,
  settings: ThumbnailSettings,
): void {
  const pixels = source.width * source.height;
  if (pixels > settings.maxInputPixels) {
    throw new InvalidImageError(
      'too-many-pixels',
      `Image too large: its ${FORMAT_LABELS[detected]} header declares ` +
        `${source.width}x${source.height} = ${pixels} pixels, more than the limit of ${settings.maxInputPixels} ` +
        '(maxInputPixels, set by MAX_INPUT_PIXELS). Upload a smaller image.',
    );
  }
}

/**
 * Builds the decode half of the pipeline: first page only, EXIF orientation applied, fitted inside the box without
 * enlargement, converted to 8-bit sRGB (through the embedded ICC profile when there is one), as raw pixels.
 */
function decodePipeline(input: Buffer, settings: ThumbnailSettings): Sharp {
  return (
    sharp(input, {
      // sharp's default and its advice for untrusted input: a libjpeg or libpng warning (bad Huffman code, bad CRC,
      // premature end) aborts, so damaged files become errors instead of thumbnails with grey or garbled areas.
      failOn: 'warning',
      limitInputPixels: settings.maxInputPixels,
      autoOrient: true,
      // Animated GIF and WebP and multi-page TIFF: the thumbnail shows the first frame or page.
      page: 0,
      pages: 1,
    })
      // resize() with a target box is the path on which sharp tells libjpeg to decode at 1/2, 1/4 or 1/8 scale and
      // libwebp to decode at the final scale (shrink-on-load), so a 12 MP JPEG is never fully decoded. autoOrient
      // keeps that path (sharp swaps the box for quarter turns), unlike rotate() or extract() before the resize.
      .resize(settings.maxWidth, settings.maxHeight, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .raw()
  );
}

/**
 * Reports whether the alpha channel of interleaved raw pixels has any value below 255. An alpha channel that is fully opaque
 * does not count as alpha: such a thumbnail looks the same without it, and the opaque format (JPEG by default) is
 * several times smaller than PNG. Editors and screenshots often save opaque photos as RGBA.
 */
function hasTransparentPixel(pixels: Buffer, channels: number): boolean {
  for (let offset = channels - 1; offset < pixels.length; offset += channels) {
    if ((pixels[offset] ?? 255) < 255) return true;
  }
  return false;
}

function dropAlphaChannel(pixels: Buffer, channels: number): Buffer {
  const colourChannels = channels - 1;
  const pixelCount = pixels.length / channels;
  const output = Buffer.alloc(pixelCount * colourChannels);
  for (let pixel = 0; pixel < pixelCount; pixel++) {
    pixels.copy(output, pixel * colourChannels, pixel * channels, pixel * channels + colourChannels);
  }
  return output;
}

/**
 * Encodes raw 8-bit sRGB pixels. The encoder starts from raw pixels, so no EXIF, XMP, IPTC or ICC data of the source
 * can reach the output. Browsers read an untagged image as sRGB, which it is.
 */
async function encode(
  pixels: Buffer,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  format: ThumbnailFormat,
  settings: ThumbnailSettings,
): Promise<Buffer> {
  const image = sharp(pixels, { raw: { width, height, channels } });
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality: settings.quality }).toBuffer();
    case 'webp':
      return image.webp({ quality: settings.quality }).toBuffer();
    case 'png':
      return image.png({ compressionLevel: 9 }).toBuffer();
  }
}

function asChannelCount(channels: number): 1 | 2 | 3 | 4 {
  if (channels === 1 || channels === 2 || channels === 3 || channels === 4) return channels;
  throw new Error(`Unexpected channel count ${channels} after conversion to sRGB`);
}

/**
 * Creates an upright, 8-bit sRGB thumbnail that fits inside `settings.maxWidth` x `settings.maxHeight` (never
 * enlarged), with no metadata. Opaque images are encoded as `settings.opaqueFormat`, images with transparent pixels
 * as `settings.alphaFormat`. The same input and settings always give the same bytes.
 *
 * @throws InvalidImageError with reason `empty`, `unsupported-format` (anything but JPEG, PNG, WebP, GIF, AVIF and
 *   TIFF), `too-many-pixels` (checked from the header before decoding) or `corrupt` (with libvips' reason).
 */
export async function createThumbnail(input: Buffer, settings: ThumbnailSettings): Promise<Thumbnail> {
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
  checkPixelLimit(source, detected, settings);

  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    decoded = await decodePipeline(input, settings).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw corruptImageError(detected, error);
  }

  const { width, height } = decoded.info;
  let pixels = decoded.data;
  let channels = asChannelCount(decoded.info.channels);
  const hasAlphaChannel = channels === 2 || channels === 4;
  const transparent = hasAlphaChannel && hasTransparentPixel(pixels, channels);
  if (hasAlphaChannel && !transparent) {
    pixels = dropAlphaChannel(pixels, channels);
    channels = asChannelCount(channels - 1);
  }

  const format: ThumbnailFormat = transparent ? settings.alphaFormat : settings.opaqueFormat;
  const data = await encode(pixels, width, height, channels, format, settings);
  return { data, format, contentType: THUMBNAIL_CONTENT_TYPES[format], width, height, source };
}
