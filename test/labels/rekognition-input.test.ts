import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { InvalidImageError } from '../../src/errors';
import { prepareRekognitionBytes, sniffRekognitionFormat } from '../../src/images/rekognition-input';
import { describeWithSharedImages, fixture, sharedImage } from '../support/shared-images';
import { noisePng, pixelAt, redLeftBlueRight, solidImage } from './test-images';

// Rekognition's documented limits: 5 MB of raw bytes in the request, 80 to 10,000 pixels per side.
const FIVE_MB = 5_000_000;
const MIN_SIDE = 80;
const MAX_SIDE = 10_000;
const DEFAULT_MAX_INPUT_PIXELS = 100_000_000;

describe('sniffRekognitionFormat', () => {
  it('detects a JPEG from FF D8 FF', () => {
    expect(sniffRekognitionFormat(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]))).toBe('jpeg');
  });

  it('detects a PNG from its signature', () => {
    expect(sniffRekognitionFormat(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('png');
  });

  it('returns undefined for WebP', async () => {
    const webp = await solidImage('webp');
    expect(sniffRekognitionFormat(webp.subarray(0, 8))).toBeUndefined();
  });

  it('returns undefined for a truncated PNG signature', () => {
    expect(sniffRekognitionFormat(Buffer.from([0x89, 0x50, 0x4e, 0x47]))).toBeUndefined();
  });

  it('returns undefined for empty input', () => {
    expect(sniffRekognitionFormat(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('prepareRekognitionBytes', () => {
  it('converts WebP to JPEG', async () => {
    const output = await prepareRekognitionBytes(await solidImage('webp'), DEFAULT_MAX_INPUT_PIXELS);
    expect((await sharp(output).metadata()).format).toBe('jpeg');
  });

  it('keeps the size of an image within limits', async () => {
    const output = await prepareRekognitionBytes(
      await solidImage('tiff', 300, 200),
      DEFAULT_MAX_INPUT_PIXELS,
    );
    const metadata = await sharp(output).metadata();
    expect([metadata.width, metadata.height]).toEqual([300, 200]);
  });

  it('applies EXIF orientation 6 to the sides', async () => {
    const rotated = await sharp(await redLeftBlueRight(200, 100))
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const output = await prepareRekognitionBytes(rotated, DEFAULT_MAX_INPUT_PIXELS);
    const metadata = await sharp(output).metadata();
    expect([metadata.width, metadata.height]).toEqual([100, 200]);
  });

  it('applies EXIF orientation 6 to the pixels', async () => {
    // Orientation 6 means "rotate 90 degrees clockwise to display", so the stored left half ends up on top.
    const rotated = await sharp(await redLeftBlueRight(200, 100))
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const output = await prepareRekognitionBytes(rotated, DEFAULT_MAX_INPUT_PIXELS);
    const [red, , blue] = await pixelAt(output, 50, 20);
    expect(red).toBeGreaterThan(200);
    expect(blue).toBeLessThan(60);
  });

  it('writes no EXIF orientation', async () => {
    const rotated = await sharp(await solidImage('jpeg', 200, 100))
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const output = await prepareRekognitionBytes(rotated, DEFAULT_MAX_INPUT_PIXELS);
    expect((await sharp(output).metadata()).orientation).toBeUndefined();
  });

  it('scales a tiny image up to the minimum side', async () => {
    const output = await prepareRekognitionBytes(await solidImage('png', 20, 10), DEFAULT_MAX_INPUT_PIXELS);
    const metadata = await sharp(output).metadata();
    expect([metadata.width, metadata.height]).toEqual([2 * MIN_SIDE, MIN_SIDE]);
  });

  it('scales a wide image within the maximum side', async () => {
    const output = await prepareRekognitionBytes(
      await solidImage('png', 12_000, 300),
      DEFAULT_MAX_INPUT_PIXELS,
    );
    const metadata = await sharp(output).metadata();
    expect(metadata.width).toBeLessThanOrEqual(MAX_SIDE);
  });

  it('keeps the short side of a wide image above the minimum', async () => {
    const output = await prepareRekognitionBytes(
      await solidImage('png', 12_000, 300),
      DEFAULT_MAX_INPUT_PIXELS,
    );
    const metadata = await sharp(output).metadata();
    expect(metadata.height).toBeGreaterThanOrEqual(MIN_SIDE);
  });

  it('shrinks incompressible noise under 5 MB', async () => {
    const output = await prepareRekognitionBytes(await noisePng(4000, 3000), DEFAULT_MAX_INPUT_PIXELS);
    expect(output.length).toBeLessThan(FIVE_MB);
  });

  it('flattens transparency onto white', async () => {
    const transparent = await sharp({
      create: { width: 100, height: 100, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const output = await prepareRekognitionBytes(transparent, DEFAULT_MAX_INPUT_PIXELS);
    expect(await pixelAt(output, 50, 50)).toEqual([255, 255, 255]);
  });

  it('rejects empty input as empty', async () => {
    await expect(prepareRekognitionBytes(Buffer.alloc(0), DEFAULT_MAX_INPUT_PIXELS)).rejects.toMatchObject({
      name: 'InvalidImageError',
      reason: 'empty',
    });
  });

  it('rejects text as unsupported-format', async () => {
    const text = Buffer.from('this is a text file, not an image');
    await expect(prepareRekognitionBytes(text, DEFAULT_MAX_INPUT_PIXELS)).rejects.toMatchObject({
      reason: 'unsupported-format',
    });
  });

  it('rejects SVG as unsupported-format', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"/>');
    await expect(prepareRekognitionBytes(svg, DEFAULT_MAX_INPUT_PIXELS)).rejects.toMatchObject({
      reason: 'unsupported-format',
    });
  });

  it('rejects a truncated JPEG as corrupt', async () => {
    const jpeg = await sharp(await noisePng(400, 300))
      .jpeg()
      .toBuffer();
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    await expect(prepareRekognitionBytes(truncated, DEFAULT_MAX_INPUT_PIXELS)).rejects.toMatchObject({
      reason: 'corrupt',
    });
  });

  it('rejects more pixels than the limit as too-many-pixels', async () => {
    const png = await solidImage('png', 2000, 1000);
    await expect(prepareRekognitionBytes(png, 1_000_000)).rejects.toMatchObject({
      reason: 'too-many-pixels',
    });
  });

  it('throws InvalidImageError instances', async () => {
    await expect(prepareRekognitionBytes(Buffer.alloc(0), DEFAULT_MAX_INPUT_PIXELS)).rejects.toBeInstanceOf(
      InvalidImageError,
    );
  });
});

describe('prepareRekognitionBytes with fixtures', () => {
  it('rejects the 65536x65536 PNG bomb as too-many-pixels', async () => {
    const bomb = await readFile(fixture('broken/png_bomb_65536x65536.png'));
    await expect(prepareRekognitionBytes(bomb, DEFAULT_MAX_INPUT_PIXELS)).rejects.toMatchObject({
      reason: 'too-many-pixels',
    });
  });

  it('rejects a JPEG with a corrupt header as corrupt', async () => {
    const corrupt = await readFile(fixture('broken/corrupt_header.jpg'));
    await expect(prepareRekognitionBytes(corrupt, DEFAULT_MAX_INPUT_PIXELS)).rejects.toMatchObject({
      reason: 'corrupt',
    });
  });

  it('rejects a truncated JPEG as corrupt', async () => {
    const truncated = await readFile(fixture('broken/truncated.jpg'));
    await expect(prepareRekognitionBytes(truncated, DEFAULT_MAX_INPUT_PIXELS)).rejects.toMatchObject({
      reason: 'corrupt',
    });
  });

  it('rejects a truncated PNG as corrupt', async () => {
    const truncated = await readFile(fixture('broken/truncated.png'));
    await expect(prepareRekognitionBytes(truncated, DEFAULT_MAX_INPUT_PIXELS)).rejects.toMatchObject({
      reason: 'corrupt',
    });
  });

  it('rejects a PNG with a bad IDAT checksum as corrupt', async () => {
    const badCrc = await readFile(fixture('broken/png_bad_idat_crc_pngsuite.png'));
    await expect(prepareRekognitionBytes(badCrc, DEFAULT_MAX_INPUT_PIXELS)).rejects.toMatchObject({
      reason: 'corrupt',
    });
  });

  it('rejects the empty file as empty', async () => {
    const empty = await readFile(fixture('broken/empty.jpg'));
    await expect(prepareRekognitionBytes(empty, DEFAULT_MAX_INPUT_PIXELS)).rejects.toMatchObject({
      reason: 'empty',
    });
  });

  it('rejects the SVG fixture as unsupported-format', async () => {
    const svg = await readFile(fixture('formats/svg_check.svg'));
    await expect(prepareRekognitionBytes(svg, DEFAULT_MAX_INPUT_PIXELS)).rejects.toMatchObject({
      reason: 'unsupported-format',
    });
  });

  it.each(['formats/animated_rotating_squares.gif', 'formats/animated_rotating_squares.webp'])(
    'keeps only the first frame of %s',
    async (file) => {
      const animation = await readFile(fixture(file));
      const input = await sharp(animation).metadata();
      const output = await sharp(
        await prepareRekognitionBytes(animation, DEFAULT_MAX_INPUT_PIXELS),
      ).metadata();
      expect(output.height).toBe(input.pageHeight ?? input.height);
    },
  );

  it.each([
    'formats/webp_lossy_photo.webp',
    'formats/webp_lossy_alpha.webp',
    'formats/tiff_rgb16_uncompressed.tif',
    'formats/avif_hopper.avif',
    'formats/png16_rgba_pngsuite.png',
    'formats/png_palette_trns_pngsuite.png',
    'formats/grayscale_concert.jpg',
  ])('converts %s to a JPEG', async (file) => {
    const output = await prepareRekognitionBytes(await readFile(fixture(file)), DEFAULT_MAX_INPUT_PIXELS);
    expect((await sharp(output).metadata()).format).toBe('jpeg');
  });

  it('converts a CMYK JPEG to sRGB', async () => {
    const cmyk = await readFile(fixture('formats/cmyk_icc_swop.jpg'));
    const output = await sharp(await prepareRekognitionBytes(cmyk, DEFAULT_MAX_INPUT_PIXELS)).metadata();
    expect(output.space).toBe('srgb');
  });

  it('converts a grayscale JPEG to three channels', async () => {
    const gray = await readFile(fixture('formats/grayscale_concert.jpg'));
    const output = await sharp(await prepareRekognitionBytes(gray, DEFAULT_MAX_INPUT_PIXELS)).metadata();
    expect(output.channels).toBe(3);
  });

  it('converts a 16-bit PNG to an 8-bit JPEG', async () => {
    const png16 = await readFile(fixture('formats/png16_rgba_pngsuite.png'));
    const output = await sharp(await prepareRekognitionBytes(png16, DEFAULT_MAX_INPUT_PIXELS)).metadata();
    expect(output.depth).toBe('uchar');
  });

  it('applies EXIF orientation 6 of Landscape_6.jpg', async () => {
    const photo = await readFile(fixture('orientation/Landscape_6.jpg'));
    const stored = await sharp(photo).metadata();
    const output = await sharp(await prepareRekognitionBytes(photo, DEFAULT_MAX_INPUT_PIXELS)).metadata();
    // Orientation 6 swaps the sides: the stored 1200x1800 pixels display as 1800x1200.
    expect([output.width, output.height]).toEqual([stored.height, stored.width]);
  });
});

describeWithSharedImages('prepareRekognitionBytes with the shared corpus', () => {
  it('keeps only the first page of a multi-page TIFF', async () => {
    const tiff = await readFile(sharedImage('formats/tiff_multipage_g3fax.tif'));
    const firstPage = await sharp(tiff, { page: 0 }).metadata();
    const output = await sharp(await prepareRekognitionBytes(tiff, DEFAULT_MAX_INPUT_PIXELS)).metadata();
    // The first page, 2464x3248, fitted inside the converter's 2048-pixel long side.
    const scale = 2048 / Math.max(firstPage.width, firstPage.height);
    expect(output.pages ?? 1).toBe(1);
    expect([output.width, output.height]).toEqual([
      Math.round(firstPage.width * scale),
      Math.round(firstPage.height * scale),
    ]);
  });

  it('rejects an HEVC-coded HEIC as unsupported-format', async () => {
    // sharp's prebuilt libvips reads HEIF containers but has no HEVC decoder.
    const heic = await readFile(sharedImage('camera/iphone11_gps.heic'));
    await expect(prepareRekognitionBytes(heic, DEFAULT_MAX_INPUT_PIXELS)).rejects.toMatchObject({
      reason: 'unsupported-format',
    });
  });

  it('applies the orientation of a camera photo', async () => {
    const photo = await readFile(sharedImage('camera/canon_sx60_orientation6.jpg'));
    const stored = await sharp(photo).metadata();
    const output = await sharp(await prepareRekognitionBytes(photo, DEFAULT_MAX_INPUT_PIXELS)).metadata();
    // Orientation 6 swaps the sides; the stored 2048x1536 image displays as 1536x2048.
    expect([output.width, output.height]).toEqual([stored.height, stored.width]);
  });
});
