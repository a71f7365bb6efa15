import { readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { InvalidImageError } from '../../src/errors';
import { createThumbnail } from '../../src/images/thumbnail';
import {
  describeWithSharedImages,
  hasSharedImages,
  SHARED_IMAGES_DIR,
  sharedImage,
} from '../support/shared-images';
import {
  DENSITY_SEGMENTS,
  decodeRaw,
  displayedSize,
  EXIF_IDENTIFIER,
  exifIfd0Tags,
  fitInside,
  GPS_IFD_POINTER_TAG,
  meanAbsoluteDifference,
  metadataSegments,
  readImage,
  thumbnailSettings,
} from './image-inspection';

const settings = thumbnailSettings();

/** Same threshold and reasoning as the core orientation tests: measured at most 2.2, mirrored 39 or more. */
const ORIENTATION_THRESHOLD = 10;

/** Lists the corpus files relative to its root, or a placeholder that keeps `it.each` valid when it is absent. */
function listCorpus(): string[] {
  if (!hasSharedImages) return ['(corpus absent)'];
  return readdirSync(SHARED_IMAGES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((folder) =>
      readdirSync(path.join(SHARED_IMAGES_DIR, folder.name)).map((file) => `${folder.name}/${file}`),
    )
    .sort();
}

/** Corpus files that must be rejected, with the reason. Every other file must give a thumbnail. */
const EXPECTED_REJECTIONS: Readonly<Record<string, string>> = {
  'broken/corrupt_header.jpg': 'corrupt',
  'broken/empty.jpg': 'empty',
  'broken/png_bad_idat_crc_pngsuite.png': 'corrupt',
  'broken/png_bomb_65536x65536.png': 'too-many-pixels',
  'broken/truncated.jpg': 'corrupt',
  'broken/truncated.png': 'corrupt',
  'camera/iphone11_gps.heic': 'unsupported-format',
  'formats/svg_check.svg': 'unsupported-format',
};

const corpus = listCorpus();
const rejected = corpus.filter((file) => file in EXPECTED_REJECTIONS);
const accepted = corpus.filter((file) => !(file in EXPECTED_REJECTIONS));

const GPS_PHOTOS = [
  'camera/nikon_coolpix_p6000_gps.jpg',
  'camera/iphone6_hdr_gps.jpg',
  'camera/nokia_8.3_5g_gps_wide.jpg',
];

describeWithSharedImages('createThumbnail portrait orientation', () => {
  const orientations = [0, 1, 2, 3, 4, 5, 6, 7, 8];

  it.each(orientations)('Portrait_%i has the upright size', async (orientation) => {
    const reference = await displayedSize(readImage(sharedImage('orientation/Portrait_1.jpg')));
    const expected = fitInside(reference.width, reference.height, settings.maxWidth, settings.maxHeight);

    const thumbnail = await createThumbnail(
      readImage(sharedImage(`orientation/Portrait_${orientation}.jpg`)),
      settings,
    );

    expect({ width: thumbnail.width, height: thumbnail.height }).toEqual(expected);
  });

  it.each(orientations)('Portrait_%i matches the upright pixels', async (orientation) => {
    const upright = await createThumbnail(readImage(sharedImage('orientation/Portrait_1.jpg')), settings);
    const thumbnail = await createThumbnail(
      readImage(sharedImage(`orientation/Portrait_${orientation}.jpg`)),
      settings,
    );

    const difference = meanAbsoluteDifference(await decodeRaw(thumbnail.data), await decodeRaw(upright.data));

    expect(difference).toBeLessThan(ORIENTATION_THRESHOLD);
  });
});

describeWithSharedImages('createThumbnail camera photos', () => {
  it('turns the Canon orientation-6 photo to portrait', async () => {
    const input = readImage(sharedImage('camera/canon_sx60_orientation6.jpg'));
    const header = await sharp(input).metadata();

    const thumbnail = await createThumbnail(input, settings);

    expect(header.autoOrient).toEqual({ width: 1536, height: 2048 });
    expect({ width: thumbnail.width, height: thumbnail.height }).toEqual(
      fitInside(1536, 2048, settings.maxWidth, settings.maxHeight),
    );
    expect(thumbnail.height).toBeGreaterThan(thumbnail.width);
  });

  it('keeps the 100x68 JPEG at its size', async () => {
    const thumbnail = await createThumbnail(readImage(sharedImage('camera/canon_40d_tiny.jpg')), settings);

    expect({ width: thumbnail.width, height: thumbnail.height }).toEqual({ width: 100, height: 68 });
  });

  it('rejects the iPhone HEIC as unsupported', async () => {
    const input = readImage(sharedImage('camera/iphone11_gps.heic'));
    const header = await sharp(input).metadata();

    const result = createThumbnail(input, settings);

    expect(header.compression).toBe('hevc');
    expect(sharp.format.heif.input.fileSuffix).not.toContain('.heic');
    await expect(result).rejects.toBeInstanceOf(InvalidImageError);
    await expect(result).rejects.toMatchObject({ reason: 'unsupported-format' });
    await expect(result).rejects.toThrow('Unsupported image format: HEIC.');
  });

  it.each(GPS_PHOTOS)('%s carries GPS', async (file) => {
    const header = await sharp(readImage(sharedImage(file))).metadata();

    expect(exifIfd0Tags(header.exif)).toContain(GPS_IFD_POINTER_TAG);
  });

  it.each(GPS_PHOTOS)('strips EXIF and GPS from %s', async (file) => {
    const thumbnail = await createThumbnail(readImage(sharedImage(file)), settings);
    const output = await sharp(thumbnail.data).metadata();

    expect(output.exif).toBeUndefined();
    expect(output.xmp).toBeUndefined();
    expect(output.icc).toBeUndefined();
    expect(thumbnail.data.includes(EXIF_IDENTIFIER)).toBe(false);
    expect(metadataSegments(thumbnail.data).filter((segment) => !DENSITY_SEGMENTS.includes(segment))).toEqual(
      [],
    );
  });

  it('converts the 16-bit PNG photo to 8-bit sRGB', async () => {
    const input = readImage(sharedImage('formats/png16_rgb_photo.png'));
    const inputHeader = await sharp(input).metadata();

    const thumbnail = await createThumbnail(input, settings);
    const output = await sharp(thumbnail.data).metadata();

    expect(inputHeader.depth).toBe('ushort');
    expect(output.depth).toBe('uchar');
    expect(output.space).toBe('srgb');
  });
});

describeWithSharedImages('createThumbnail whole corpus', () => {
  it.each(rejected)('rejects %s with InvalidImageError', async (file) => {
    const result = createThumbnail(readImage(sharedImage(file)), settings);

    await expect(result).rejects.toBeInstanceOf(InvalidImageError);
    await expect(result).rejects.toMatchObject({ reason: EXPECTED_REJECTIONS[file] });
  });

  it.each(accepted)('fits %s inside the default box', async (file) => {
    const input = readImage(sharedImage(file));
    const displayed = await displayedSize(input);
    const expected = fitInside(displayed.width, displayed.height, settings.maxWidth, settings.maxHeight);

    const thumbnail = await createThumbnail(input, settings);
    const output = await sharp(thumbnail.data).metadata();

    expect(output.width).toBeLessThanOrEqual(settings.maxWidth);
    expect(output.height).toBeLessThanOrEqual(settings.maxHeight);
    // Shrink-on-load may round the free side down by one pixel.
    expect(Math.abs(output.width - expected.width)).toBeLessThanOrEqual(1);
    expect(Math.abs(output.height - expected.height)).toBeLessThanOrEqual(1);
  });

  it.each(accepted)('fits %s inside 120x80', async (file) => {
    const box = thumbnailSettings({
      maxWidth: 120,
      maxHeight: 80,
      opaqueFormat: 'webp',
      alphaFormat: 'webp',
    });

    const thumbnail = await createThumbnail(readImage(sharedImage(file)), box);
    const output = await sharp(thumbnail.data).metadata();

    expect(output.format).toBe('webp');
    expect(output.width).toBeLessThanOrEqual(120);
    expect(output.height).toBeLessThanOrEqual(80);
  });

  it('lists every expected rejection in the corpus', () => {
    expect(rejected).toEqual(Object.keys(EXPECTED_REJECTIONS).sort());
  });
});
