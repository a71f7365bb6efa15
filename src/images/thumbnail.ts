import type { Sharp } from 'sharp';
import type { ThumbnailSettings } from '../config';
import { type DetectedFormat, THUMBNAIL_CONTENT_TYPES, type ThumbnailFormat } from './image-format';
import { sharp } from './sharp-setup';
import { corruptImageError, inspectImage, type SourceImageInfo } from './source-image';

export type { SourceImageInfo } from './source-image';

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

/**
 * Builds the decode half of the pipeline: first page only, EXIF orientation applied, fitted inside the box without
 * enlargement, converted to 8-bit sRGB (through the embedded ICC profile when there is one).
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
 * Adds the encoder. sharp 0.35 writes no EXIF, XMP, IPTC or ICC data unless asked to (keepMetadata, withMetadata), so
 * none of the source's reaches the output, as the thumbnail tests check. Browsers read an untagged image as sRGB,
 * which it is.
 */
function withEncoder(image: Sharp, format: ThumbnailFormat, settings: ThumbnailSettings): Sharp {
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality: settings.quality });
    case 'webp':
      return image.webp({ quality: settings.quality });
    case 'png':
      return image.png({ compressionLevel: 9 });
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
  const { detected, source } = await inspectImage(input, settings.maxInputPixels);
  if (!source.hasAlpha) return createOpaqueThumbnail(input, detected, source, settings);

  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    decoded = await decodePipeline(input, settings).raw().toBuffer({ resolveWithObject: true });
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
  const raw = sharp(pixels, { raw: { width, height, channels } });
  const data = await withEncoder(raw, format, settings).toBuffer();
  return { data, format, contentType: THUMBNAIL_CONTENT_TYPES[format], width, height, source };
}

/**
 * Decodes, resizes and encodes in one libvips pipeline, for a source whose header declares no alpha channel: there are
 * no alpha values to inspect, so the pixels never come back to JavaScript.
 */
async function createOpaqueThumbnail(
  input: Buffer,
  detected: DetectedFormat,
  source: SourceImageInfo,
  settings: ThumbnailSettings,
): Promise<Thumbnail> {
  const format = settings.opaqueFormat;
  let encoded: { data: Buffer; info: { width: number; height: number } };
  try {
    encoded = await withEncoder(decodePipeline(input, settings), format, settings).toBuffer({
      resolveWithObject: true,
    });
  } catch (error) {
    throw corruptImageError(detected, error);
  }
  const { width, height } = encoded.info;
  return { data: encoded.data, format, contentType: THUMBNAIL_CONTENT_TYPES[format], width, height, source };
}
