import { randomBytes } from 'node:crypto';
import sharp from 'sharp';

/** A plain colour image in the given format, made with sharp so that each test states its own input. */
export function solidImage(
  format: 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif',
  width = 120,
  height = 90,
  colour = { r: 200, g: 40, b: 40 },
): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .toFormat(format)
    .toBuffer();
}

/**
 * Random RGB noise as an uncompressed PNG. Noise does not compress, so the file is about 3 bytes per pixel and a JPEG
 * of it stays large, which exercises the size limits.
 */
export function noisePng(width: number, height: number): Promise<Buffer> {
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

/** An image whose left half is red and right half blue, for checking where pixels end up after rotation. */
export function redLeftBlueRight(width: number, height: number): Promise<Buffer> {
  const half = Math.floor(width / 2);
  const red = { create: { width: half, height, channels: 3 as const, background: '#ff0000' } };
  return sharp({ create: { width, height, channels: 3, background: '#0000ff' } })
    .composite([{ input: red, left: 0, top: 0 }])
    .png()
    .toBuffer();
}

/** The RGB value of one pixel of a decoded image. */
export async function pixelAt(image: Buffer, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const offset = (y * info.width + x) * info.channels;
  return [data[offset] ?? -1, data[offset + 1] ?? -1, data[offset + 2] ?? -1];
}
