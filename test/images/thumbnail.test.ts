import sharp, { type Sharp } from 'sharp';
import { createThumbnail } from '../../src/images/thumbnail';
import { fixture } from '../support/shared-images';
import {
  channelMeans,
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

/**
 * Largest mean absolute difference (per 8-bit sample) allowed between the thumbnail of an orientation test image and
 * that of the upright reference. The pictures differ only in the digit drawn in the middle and in JPEG noise, which
 * measured at most 2.2 over Landscape_N and Portrait_N; a mirrored or rotated thumbnail measured 39 or more.
 */
const ORIENTATION_THRESHOLD = 10;

/** Largest difference, in 8-bit levels, between mean channel values of a thumbnail and its full-size oracle. */
const MEAN_COLOUR_TOLERANCE = 2;

describe('createThumbnail orientation', () => {
  const orientations = [0, 1, 2, 3, 4, 5, 6, 7, 8];

  it.each(orientations)('Landscape_%i has the upright size', async (orientation) => {
    const reference = await displayedSize(readImage(fixture('orientation/Landscape_1.jpg')));
    const expected = fitInside(reference.width, reference.height, settings.maxWidth, settings.maxHeight);

    const thumbnail = await createThumbnail(
      readImage(fixture(`orientation/Landscape_${orientation}.jpg`)),
      settings,
    );

    expect({ width: thumbnail.width, height: thumbnail.height }).toEqual(expected);
  });

  it.each(orientations)('Landscape_%i matches the upright pixels', async (orientation) => {
    const upright = await createThumbnail(readImage(fixture('orientation/Landscape_1.jpg')), settings);
    const thumbnail = await createThumbnail(
      readImage(fixture(`orientation/Landscape_${orientation}.jpg`)),
      settings,
    );

    const difference = meanAbsoluteDifference(await decodeRaw(thumbnail.data), await decodeRaw(upright.data));

    expect(difference).toBeLessThan(ORIENTATION_THRESHOLD);
  });

  it.each([
    ['mirrored', (image: Sharp) => image.flop()],
    ['flipped', (image: Sharp) => image.flip()],
    ['rotated 180', (image: Sharp) => image.rotate(180)],
  ])('threshold rejects the %s reference', async (_name, transform) => {
    const upright = await createThumbnail(readImage(fixture('orientation/Landscape_1.jpg')), settings);
    const wrong = await transform(sharp(upright.data)).toBuffer();

    const difference = meanAbsoluteDifference(await decodeRaw(wrong), await decodeRaw(upright.data));

    expect(difference).toBeGreaterThan(ORIENTATION_THRESHOLD);
  });

  it('reports orientation 0 as 1', async () => {
    const thumbnail = await createThumbnail(readImage(fixture('orientation/Landscape_0.jpg')), settings);

    expect(thumbnail.source.orientation).toBe(1);
  });

  it('reports stored and displayed size of a quarter turn', async () => {
    const input = readImage(fixture('orientation/Landscape_6.jpg'));
    const header = await sharp(input).metadata();

    const { source } = await createThumbnail(input, settings);

    expect(source).toMatchObject({
      orientation: 6,
      width: header.width,
      height: header.height,
      displayWidth: header.height,
      displayHeight: header.width,
    });
  });
});

describe('createThumbnail colour', () => {
  it('keeps the colours of a CMYK JPEG', async () => {
    const input = readImage(fixture('formats/cmyk_icc_swop.jpg'));
    // Oracle: sharp's own conversion of the full-size image to sRGB through the embedded SWOP profile.
    const expected = channelMeans(await decodeRaw(await sharp(input).toColourspace('srgb').png().toBuffer()));

    const thumbnail = await createThumbnail(input, settings);
    const actual = channelMeans(await decodeRaw(thumbnail.data));

    for (const [channel, mean] of actual.entries()) {
      expect(Math.abs(mean - (expected[channel] ?? Number.NaN))).toBeLessThanOrEqual(MEAN_COLOUR_TOLERANCE);
    }
  });

  it('CMYK tolerance rejects a conversion without the profile', async () => {
    const input = readImage(fixture('formats/cmyk_icc_swop.jpg'));
    const withProfile = channelMeans(
      await decodeRaw(await sharp(input).toColourspace('srgb').png().toBuffer()),
    );
    const withoutProfile = channelMeans(
      await decodeRaw(await sharp(input, { ignoreIcc: true }).toColourspace('srgb').png().toBuffer()),
    );

    const largestDifference = Math.max(
      ...withProfile.map((mean, channel) => Math.abs(mean - (withoutProfile[channel] ?? Number.NaN))),
    );

    expect(largestDifference).toBeGreaterThan(MEAN_COLOUR_TOLERANCE);
  });

  it.each([['formats/png16_rgba_pngsuite.png'], ['formats/tiff_rgb16_uncompressed.tif']])(
    'converts 16-bit %s to 8-bit',
    async (file) => {
      const input = readImage(fixture(file));
      const inputHeader = await sharp(input).metadata();

      const thumbnail = await createThumbnail(input, settings);
      const output = await sharp(thumbnail.data).metadata();

      expect(inputHeader.depth).toBe('ushort');
      expect(output.depth).toBe('uchar');
      expect(output.space).toBe('srgb');
    },
  );

  it('converts a grayscale JPEG to sRGB', async () => {
    const thumbnail = await createThumbnail(readImage(fixture('formats/grayscale_concert.jpg')), settings);
    const output = await sharp(thumbnail.data).metadata();

    expect(output.channels).toBe(3);
    expect(output.space).toBe('srgb');
  });
});

describe('createThumbnail transparency', () => {
  it('keeps transparent pixels of an RGBA PNG transparent', async () => {
    const input = readImage(fixture('formats/png_rgba_cutout.png'));
    // 128x128 fits the default box, so the thumbnail has the same pixel grid as the input.
    const inputPixels = await decodeRaw(input);

    const thumbnail = await createThumbnail(input, settings);
    const outputPixels = await decodeRaw(thumbnail.data);

    const transparentInInput: number[] = [];
    for (let pixel = 0; pixel < inputPixels.width * inputPixels.height; pixel++) {
      if (inputPixels.data[pixel * 4 + 3] === 0) transparentInInput.push(pixel);
    }
    const stillTransparent = transparentInInput.filter((pixel) => outputPixels.data[pixel * 4 + 3] === 0);
    expect(transparentInInput.length).toBeGreaterThan(0);
    expect(stillTransparent.length).toBe(transparentInInput.length);
  });

  it.each([
    ['formats/png_rgba_cutout.png'],
    ['formats/png_rgba_pngsuite.png'],
    ['formats/png16_rgba_pngsuite.png'],
    ['formats/png_palette_trns_pngsuite.png'],
    ['formats/webp_lossy_alpha.webp'],
  ])('encodes %s in the alpha format', async (file) => {
    const thumbnail = await createThumbnail(readImage(fixture(file)), settings);
    const output = await sharp(thumbnail.data).metadata();

    expect(thumbnail.format).toBe('png');
    expect(output.format).toBe('png');
    expect(output.hasAlpha).toBe(true);
  });

  it('reports tRNS palette PNG as alpha', async () => {
    const thumbnail = await createThumbnail(
      readImage(fixture('formats/png_palette_trns_pngsuite.png')),
      settings,
    );

    expect(thumbnail.source.hasAlpha).toBe(true);
  });

  it('encodes alpha as WebP when configured', async () => {
    const thumbnail = await createThumbnail(
      readImage(fixture('formats/png_rgba_cutout.png')),
      thumbnailSettings({ alphaFormat: 'webp' }),
    );
    const output = await sharp(thumbnail.data).metadata();

    expect(thumbnail.contentType).toBe('image/webp');
    expect(output.format).toBe('webp');
    expect(output.hasAlpha).toBe(true);
  });

  it('treats a fully opaque alpha channel as opaque', async () => {
    const input = await sharp({
      create: { width: 64, height: 48, channels: 4, background: { r: 200, g: 30, b: 60, alpha: 1 } },
    })
      .png()
      .toBuffer();

    const thumbnail = await createThumbnail(input, settings);
    const output = await sharp(thumbnail.data).metadata();

    expect(thumbnail.source.hasAlpha).toBe(true);
    expect(thumbnail.format).toBe('jpeg');
    expect(output.hasAlpha).toBe(false);
  });

  it('encodes an opaque palette PNG as JPEG', async () => {
    const thumbnail = await createThumbnail(readImage(fixture('formats/png_palette_pngsuite.png')), settings);

    expect(thumbnail.format).toBe('jpeg');
    expect(thumbnail.contentType).toBe('image/jpeg');
  });
});

describe('createThumbnail formats', () => {
  it.each([
    ['formats/animated_rotating_squares.gif', 'gif'],
    ['formats/animated_rotating_squares.webp', 'webp'],
  ])('takes the first frame of %s', async (file, format) => {
    const input = readImage(fixture(file));
    const header = await sharp(input).metadata();
    const firstFrame = await decodeRaw(input, { page: 0, pages: 1 });

    const thumbnail = await createThumbnail(input, settings);
    const output = await decodeRaw(thumbnail.data);

    expect(thumbnail.source.format).toBe(format);
    expect(thumbnail.source.pages).toBe(header.pages);
    expect({ width: thumbnail.width, height: thumbnail.height }).toEqual({
      width: firstFrame.width,
      height: firstFrame.height,
    });
    expect(meanAbsoluteDifference(output, firstFrame)).toBeLessThan(1);
  });

  it.each([['formats/animated_rotating_squares.gif'], ['formats/animated_rotating_squares.webp']])(
    'first-frame check rejects a later frame of %s',
    async (file) => {
      const input = readImage(fixture(file));
      const firstFrame = await decodeRaw(input, { page: 0, pages: 1 });
      const laterFrame = await decodeRaw(input, { page: 4, pages: 1 });

      expect(meanAbsoluteDifference(laterFrame, firstFrame)).toBeGreaterThan(1);
    },
  );

  it('decodes AVIF', async () => {
    const input = readImage(fixture('formats/avif_hopper.avif'));
    const header = await sharp(input).metadata();

    const thumbnail = await createThumbnail(input, settings);

    expect(thumbnail.source.format).toBe('avif');
    expect({ width: thumbnail.width, height: thumbnail.height }).toEqual(
      fitInside(header.width, header.height, settings.maxWidth, settings.maxHeight),
    );
  });

  it.each([
    ['formats/webp_lossy_photo.webp', 'webp'],
    ['formats/tiff_rgb16_uncompressed.tif', 'tiff'],
    ['formats/png_interlaced_pngsuite.png', 'png'],
  ])('decodes %s', async (file, format) => {
    const input = readImage(fixture(file));
    const header = await sharp(input).metadata();

    const thumbnail = await createThumbnail(input, settings);

    expect(thumbnail.source.format).toBe(format);
    expect({ width: thumbnail.width, height: thumbnail.height }).toEqual(
      fitInside(header.width, header.height, settings.maxWidth, settings.maxHeight),
    );
  });

  it('reports the header facts of a 16-bit PNG', async () => {
    const { source } = await createThumbnail(readImage(fixture('formats/png16_rgba_pngsuite.png')), settings);

    expect(source).toEqual({
      format: 'png',
      width: 32,
      height: 32,
      orientation: 1,
      displayWidth: 32,
      displayHeight: 32,
      hasAlpha: true,
      space: 'rgb16',
      bitsPerSample: 16,
      pages: 1,
    });
  });
});

describe('createThumbnail size', () => {
  it.each([['formats/png_rgba_pngsuite.png'], ['formats/avif_hopper.avif'], ['formats/png_rgba_cutout.png']])(
    'never enlarges %s',
    async (file) => {
      const input = readImage(fixture(file));
      const header = await sharp(input).metadata();

      const thumbnail = await createThumbnail(input, settings);

      expect({ width: thumbnail.width, height: thumbnail.height }).toEqual({
        width: header.width,
        height: header.height,
      });
    },
  );

  it.each([
    [100, 50],
    [50, 100],
    [64, 64],
    [1, 1],
  ])('fits Landscape_6 inside %ix%i', async (maxWidth, maxHeight) => {
    const input = readImage(fixture('orientation/Landscape_6.jpg'));
    const displayed = await displayedSize(input);

    const thumbnail = await createThumbnail(input, thumbnailSettings({ maxWidth, maxHeight }));
    const output = await sharp(thumbnail.data).metadata();

    expect({ width: output.width, height: output.height }).toEqual(
      fitInside(displayed.width, displayed.height, maxWidth, maxHeight),
    );
  });

  it('returns the encoded size as width and height', async () => {
    const thumbnail = await createThumbnail(readImage(fixture('formats/cmyk_icc_swop.jpg')), settings);
    const output = await sharp(thumbnail.data).metadata();

    expect({ width: thumbnail.width, height: thumbnail.height }).toEqual({
      width: output.width,
      height: output.height,
    });
  });
});

describe('createThumbnail encoding', () => {
  it('encodes opaque images as WebP when configured', async () => {
    const thumbnail = await createThumbnail(
      readImage(fixture('orientation/Landscape_1.jpg')),
      thumbnailSettings({ opaqueFormat: 'webp' }),
    );
    const output = await sharp(thumbnail.data).metadata();

    expect(thumbnail.format).toBe('webp');
    expect(thumbnail.contentType).toBe('image/webp');
    expect(output.format).toBe('webp');
  });

  it.each([['jpeg' as const], ['webp' as const]])('lower quality gives smaller %s', async (opaqueFormat) => {
    const input = readImage(fixture('orientation/Landscape_1.jpg'));

    const low = await createThumbnail(input, thumbnailSettings({ opaqueFormat, quality: 30 }));
    const high = await createThumbnail(input, thumbnailSettings({ opaqueFormat, quality: 95 }));

    expect(low.data.length).toBeLessThan(high.data.length);
  });

  it.each([
    ['orientation/Landscape_6.jpg', 'jpeg' as const],
    ['formats/png_rgba_cutout.png', 'png' as const],
    ['formats/webp_lossy_photo.webp', 'webp' as const],
  ])('gives identical bytes for %s as %s', async (file, format) => {
    const input = readImage(fixture(file));
    const formatSettings = thumbnailSettings({ opaqueFormat: format === 'png' ? 'jpeg' : format });

    const first = await createThumbnail(input, formatSettings);
    const second = await createThumbnail(Buffer.from(input), formatSettings);

    expect(first.format).toBe(format);
    expect(second.data.equals(first.data)).toBe(true);
  });
});

describe('createThumbnail metadata', () => {
  /** Builds a JPEG with EXIF (GPS included), XMP and an ICC profile, so that the input is known to carry them. */
  async function jpegWithPrivateMetadata(): Promise<Buffer> {
    return sharp(readImage(fixture('orientation/Landscape_1.jpg')))
      .withExif({
        IFD0: { Make: 'TestCamera', Model: 'Model 1' },
        IFD3: {
          GPSLatitudeRef: 'N',
          GPSLatitude: '43/1 28/1 2/1',
          GPSLongitudeRef: 'E',
          GPSLongitude: '11/1 53/1 6/1',
        },
      })
      .withXmp(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
          '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="43,28.03N"/>' +
          '</rdf:RDF></x:xmpmeta>',
      )
      .withIccProfile('p3')
      .jpeg()
      .toBuffer();
  }

  it('built input carries EXIF, GPS, XMP, ICC', async () => {
    const input = await jpegWithPrivateMetadata();
    const header = await sharp(input).metadata();

    expect(metadataSegments(input)).toEqual(expect.arrayContaining(['APP1 Exif', 'APP2 ICC_PROFILE']));
    expect(exifIfd0Tags(header.exif)).toContain(GPS_IFD_POINTER_TAG);
    expect(header.xmpAsString).toContain('GPSLatitude');
  });

  it.each([
    ['jpeg' as const, 'png' as const],
    ['webp' as const, 'webp' as const],
  ])('strips all metadata from %s output', async (opaqueFormat, alphaFormat) => {
    const input = await jpegWithPrivateMetadata();

    const thumbnail = await createThumbnail(input, thumbnailSettings({ opaqueFormat, alphaFormat }));
    const output = await sharp(thumbnail.data).metadata();

    expect(output.exif).toBeUndefined();
    expect(output.xmp).toBeUndefined();
    expect(output.icc).toBeUndefined();
    expect(output.iptc).toBeUndefined();
    expect(metadataSegments(thumbnail.data).filter((segment) => !DENSITY_SEGMENTS.includes(segment))).toEqual(
      [],
    );
    expect(thumbnail.data.includes(EXIF_IDENTIFIER)).toBe(false);
  });

  it.each([
    ['orientation/Landscape_6.jpg'],
    ['formats/cmyk_icc_swop.jpg'],
    ['formats/png_rgba_cutout.png'],
    ['formats/tiff_rgb16_uncompressed.tif'],
  ])('strips metadata from %s', async (file) => {
    const thumbnail = await createThumbnail(readImage(fixture(file)), settings);
    const output = await sharp(thumbnail.data).metadata();

    expect(output.exif).toBeUndefined();
    expect(output.icc).toBeUndefined();
    expect(output.orientation).toBeUndefined();
    expect(metadataSegments(thumbnail.data).filter((segment) => !DENSITY_SEGMENTS.includes(segment))).toEqual(
      [],
    );
  });
});
