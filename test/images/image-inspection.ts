import { readFileSync } from 'node:fs';
import sharp, { type SharpOptions } from 'sharp';
import { DEFAULT_THUMBNAIL_SETTINGS, type ThumbnailSettings } from '../../src/config';

/** Settings for tests: the defaults, with overrides. */
export function thumbnailSettings(overrides: Partial<ThumbnailSettings> = {}): ThumbnailSettings {
  return { ...DEFAULT_THUMBNAIL_SETTINGS, ...overrides };
}

export function readImage(file: string): Buffer {
  return readFileSync(file);
}

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/** Decodes an image to raw pixels with sharp alone, as an oracle independent of the module under test. */
export async function decodeRaw(input: Buffer, options: SharpOptions = {}): Promise<RawImage> {
  const { data, info } = await sharp(input, options).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Mean absolute difference per sample, 0 to 255, between two raw images of the same shape. */
export function meanAbsoluteDifference(a: RawImage, b: RawImage): number {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw new Error(
      `Cannot compare ${a.width}x${a.height}x${a.channels} with ${b.width}x${b.height}x${b.channels} pixels`,
    );
  }
  let total = 0;
  for (let index = 0; index < a.data.length; index++) {
    total += Math.abs((a.data[index] ?? 0) - (b.data[index] ?? 0));
  }
  return total / a.data.length;
}

/** Mean of each channel of a raw image. */
export function channelMeans(image: RawImage): number[] {
  const sums = new Array<number>(image.channels).fill(0);
  for (let index = 0; index < image.data.length; index++) {
    const channel = index % image.channels;
    sums[channel] = (sums[channel] ?? 0) + (image.data[index] ?? 0);
  }
  const pixels = image.width * image.height;
  return sums.map((sum) => sum / pixels);
}

/**
 * Size of an image scaled to fit inside a box, keeping its aspect ratio and never enlarged. The constrained side
 * takes the box size and the other side is rounded to the nearest pixel.
 */
export function fitInside(
  width: number,
  height: number,
  maxWidth: number,
  maxHeight: number,
): { width: number; height: number } {
  if (width <= maxWidth && height <= maxHeight) return { width, height };
  if (maxWidth / width <= maxHeight / height) {
    return { width: maxWidth, height: Math.max(1, Math.round((height * maxWidth) / width)) };
  }
  return { width: Math.max(1, Math.round((width * maxHeight) / height)), height: maxHeight };
}

/** Width and height as displayed, read by sharp from the input's header (EXIF orientation applied). */
export async function displayedSize(input: Buffer): Promise<{ width: number; height: number }> {
  const metadata = await sharp(input, { limitInputPixels: false }).metadata();
  return { width: metadata.autoOrient.width, height: metadata.pageHeight ?? metadata.autoOrient.height };
}

/**
 * Names of the metadata-bearing segments in an encoded image: JPEG APPn segments by marker and identifier
 * (such as "APP1 Exif"), PNG chunk types, WebP RIFF chunk ids. Pixel data segments are left out.
 */
export function metadataSegments(data: Buffer): string[] {
  if (data[0] === 0xff && data[1] === 0xd8) return jpegAppSegments(data);
  if (data.subarray(1, 4).toString('latin1') === 'PNG') return pngChunks(data);
  if (data.subarray(0, 4).toString('latin1') === 'RIFF') return webpChunks(data);
  throw new Error(`Not a JPEG, PNG or WebP file (first bytes ${data.subarray(0, 4).toString('hex')})`);
}

function jpegAppSegments(data: Buffer): string[] {
  const segments: string[] = [];
  let offset = 2;
  while (offset + 4 <= data.length && data[offset] === 0xff) {
    const marker = data[offset + 1] ?? 0;
    // Start of scan: entropy-coded data follows, and no metadata segment comes after it in these files.
    if (marker === 0xda) break;
    const length = data.readUInt16BE(offset + 2);
    if (marker >= 0xe0 && marker <= 0xef) {
      const identifier = data
        .subarray(offset + 4, Math.min(offset + 2 + length, offset + 34))
        .toString('latin1')
        .split('\0')[0];
      segments.push(`APP${marker - 0xe0} ${identifier}`);
    }
    if (marker === 0xfe) segments.push('COM');
    offset += 2 + length;
  }
  return segments;
}

function pngChunks(data: Buffer): string[] {
  const chunks: string[] = [];
  let offset = 8;
  while (offset + 8 <= data.length) {
    const length = data.readUInt32BE(offset);
    const type = data.subarray(offset + 4, offset + 8).toString('latin1');
    if (!['IHDR', 'PLTE', 'IDAT', 'IEND', 'tRNS'].includes(type)) chunks.push(type);
    offset += 12 + length;
  }
  return chunks;
}

function webpChunks(data: Buffer): string[] {
  const chunks: string[] = [];
  let offset = 12;
  while (offset + 8 <= data.length) {
    const id = data.subarray(offset, offset + 4).toString('latin1');
    const size = data.readUInt32LE(offset + 4);
    if (!['VP8 ', 'VP8L', 'VP8X', 'ALPH', 'ANIM', 'ANMF'].includes(id)) chunks.push(id);
    offset += 8 + size + (size % 2);
  }
  return chunks;
}

/** Segments that carry only pixel density (JPEG's JFIF header, PNG's pHYs chunk), which reveals nothing private. */
export const DENSITY_SEGMENTS: readonly string[] = ['APP0 JFIF', 'pHYs'];

/** The "Exif\0\0" identifier that starts EXIF data in a JPEG APP1 segment and in some other containers. */
export const EXIF_IDENTIFIER = Buffer.from('Exif\0\0', 'latin1');

/** EXIF tag in IFD0 that points to the GPS IFD (TIFF/EXIF 2.3, tag 34853). */
export const GPS_IFD_POINTER_TAG = 0x8825;

/** Lists the IFD0 tag numbers of EXIF data as sharp returns it ("Exif\0\0" and a TIFF header), none when absent. */
export function exifIfd0Tags(exif: Buffer | undefined): number[] {
  if (exif === undefined) return [];
  const tiff = exif.subarray(0, 6).equals(EXIF_IDENTIFIER) ? exif.subarray(6) : exif;
  const littleEndian = tiff.subarray(0, 2).toString('latin1') === 'II';
  const read16 = (offset: number) => (littleEndian ? tiff.readUInt16LE(offset) : tiff.readUInt16BE(offset));
  const read32 = (offset: number) => (littleEndian ? tiff.readUInt32LE(offset) : tiff.readUInt32BE(offset));
  const ifd0 = read32(4);
  const count = read16(ifd0);
  const tags: number[] = [];
  for (let entry = 0; entry < count; entry++) {
    tags.push(read16(ifd0 + 2 + entry * 12));
  }
  return tags;
}

/** Builds an ISO base media "ftyp" box with the given brands and nothing after it, enough for a signature check. */
export function ftypBox(majorBrand: string, compatibleBrands: string[]): Buffer {
  const size = 16 + 4 * compatibleBrands.length;
  const box = Buffer.alloc(size);
  box.writeUInt32BE(size, 0);
  box.write('ftyp', 4, 'latin1');
  box.write(majorBrand, 8, 'latin1');
  compatibleBrands.forEach((brand, index) => {
    box.write(brand, 16 + 4 * index, 'latin1');
  });
  return box;
}
