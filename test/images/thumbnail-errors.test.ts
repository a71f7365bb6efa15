import sharp from 'sharp';
import { InvalidImageError } from '../../src/errors';
import { createThumbnail } from '../../src/images/thumbnail';
import { fixture } from '../support/shared-images';
import { ftypBox, readImage, thumbnailSettings } from './image-inspection';

const settings = thumbnailSettings();
const ACCEPTED_FORMATS_HINT = 'Upload a JPEG, PNG, WebP, GIF, AVIF or TIFF image instead';

/** sharp's own error message for decoding the whole input, as the oracle for libvips' reason. */
async function decoderErrorMessage(input: Buffer): Promise<string> {
  return sharp(input)
    .raw()
    .toBuffer()
    .then(
      () => 'decoded without error',
      (error: Error) => error.message,
    );
}

/** Takes the first line of a libvips message, without sharp's "Input buffer has corrupt header: " prefix. */
function firstReason(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/^.*?: (?=Vips|vips)/, '');
}

/** Width and height from a PNG's IHDR chunk, read directly from the bytes. */
function pngHeaderSize(input: Buffer): { width: number; height: number } {
  return { width: input.readUInt32BE(16), height: input.readUInt32BE(20) };
}

describe('createThumbnail broken input', () => {
  it.each([
    ['broken/empty.jpg', 'empty'],
    ['broken/corrupt_header.jpg', 'corrupt'],
    ['broken/truncated.jpg', 'corrupt'],
    ['broken/truncated.png', 'corrupt'],
    ['broken/png_bad_idat_crc_pngsuite.png', 'corrupt'],
    ['broken/png_bomb_65536x65536.png', 'too-many-pixels'],
  ])('rejects %s as %s', async (file, reason) => {
    const result = createThumbnail(readImage(fixture(file)), settings);

    await expect(result).rejects.toBeInstanceOf(InvalidImageError);
    await expect(result).rejects.toMatchObject({ reason });
  });

  it('rejects an empty buffer with an actionable message', async () => {
    await expect(createThumbnail(Buffer.alloc(0), settings)).rejects.toThrow(
      'Image is empty (0 bytes). Upload the image file again.',
    );
  });

  it.each([
    ['broken/corrupt_header.jpg'],
    ['broken/truncated.jpg'],
    ['broken/truncated.png'],
    ['broken/png_bad_idat_crc_pngsuite.png'],
  ])('names the decoder reason for %s', async (file) => {
    const input = readImage(fixture(file));
    const reason = firstReason(await decoderErrorMessage(input));

    const result = createThumbnail(input, settings);

    await expect(result).rejects.toThrow(reason);
    await expect(result).rejects.toThrow(/^Invalid (JPEG|PNG) image: the file is corrupt or truncated/);
  });

  it('rejects a truncated JPEG that lenient decoding accepts', async () => {
    const input = readImage(fixture('broken/truncated.jpg'));
    // With failOn 'none' libvips fills the missing rows with grey and reports success.
    const lenient = await sharp(input, { failOn: 'none' }).resize(64).toBuffer();

    expect(lenient.length).toBeGreaterThan(0);
    await expect(createThumbnail(input, settings)).rejects.toMatchObject({ reason: 'corrupt' });
  });

  it('rejects a JPEG with damaged scan data', async () => {
    const input = Buffer.from(readImage(fixture('orientation/Landscape_1.jpg')));
    // Invert 40 bytes of entropy-coded data. libjpeg only notices damage that breaks the Huffman code or the segment
    // structure, and only as a warning ("premature end of data segment" here), which failOn 'error' would let through.
    for (let offset = 40_000; offset < 40_040; offset++) {
      input[offset] = (input[offset] ?? 0) ^ 0xff;
    }
    const lenient = await sharp(input, { failOn: 'error' }).resize(64).toBuffer();

    expect(lenient.length).toBeGreaterThan(0);
    await expect(createThumbnail(input, settings)).rejects.toMatchObject({ reason: 'corrupt' });
  });
});

describe('createThumbnail pixel limit', () => {
  it('rejects the PNG bomb from its header', async () => {
    const input = readImage(fixture('broken/png_bomb_65536x65536.png'));
    const { width, height } = pngHeaderSize(input);

    const result = createThumbnail(input, settings);

    await expect(result).rejects.toMatchObject({ reason: 'too-many-pixels' });
    await expect(result).rejects.toThrow(
      `Image too large: its PNG header declares ${width}x${height} = ${width * height} pixels, ` +
        `more than the limit of ${settings.maxInputPixels}`,
    );
  });

  it('rejects the PNG bomb before decoding', async () => {
    // Every pixel decode in sharp goes through toBuffer or a stream, while metadata() reads the header only.
    const sharpPrototype = Object.getPrototypeOf(sharp()) as {
      toBuffer: () => unknown;
      metadata: () => unknown;
    };
    const toBuffer = jest.spyOn(sharpPrototype, 'toBuffer');
    const metadata = jest.spyOn(sharpPrototype, 'metadata');

    const result = createThumbnail(readImage(fixture('broken/png_bomb_65536x65536.png')), settings);

    await expect(result).rejects.toMatchObject({ reason: 'too-many-pixels' });
    await expect(result).rejects.not.toHaveProperty('cause');
    expect(metadata).toHaveBeenCalledTimes(1);
    expect(toBuffer).not.toHaveBeenCalled();
    toBuffer.mockRestore();
    metadata.mockRestore();
  });

  it('rejects an image one pixel over the limit', async () => {
    const input = readImage(fixture('orientation/Landscape_1.jpg'));
    const header = await sharp(input).metadata();

    const result = createThumbnail(
      input,
      thumbnailSettings({ maxInputPixels: header.width * header.height - 1 }),
    );

    await expect(result).rejects.toMatchObject({ reason: 'too-many-pixels' });
    await expect(result).rejects.toThrow(`${header.width}x${header.height}`);
  });

  it('accepts an image exactly at the limit', async () => {
    const input = readImage(fixture('orientation/Landscape_1.jpg'));
    const header = await sharp(input).metadata();

    const thumbnail = await createThumbnail(
      input,
      thumbnailSettings({ maxInputPixels: header.width * header.height }),
    );

    expect(thumbnail.source.width).toBe(header.width);
  });

  it('counts only the first frame of an animation', async () => {
    const input = readImage(fixture('formats/animated_rotating_squares.gif'));
    const header = await sharp(input).metadata();
    const framePixels = header.width * (header.pageHeight ?? header.height);

    const thumbnail = await createThumbnail(input, thumbnailSettings({ maxInputPixels: framePixels }));

    expect(thumbnail.source.pages).toBeGreaterThan(1);
  });
});

describe('createThumbnail unsupported formats', () => {
  it('rejects SVG without rendering it', async () => {
    const result = createThumbnail(readImage(fixture('formats/svg_check.svg')), settings);

    await expect(result).rejects.toMatchObject({ reason: 'unsupported-format' });
    await expect(result).rejects.toThrow('Unsupported image format: SVG.');
    await expect(result).rejects.toThrow(ACCEPTED_FORMATS_HINT);
  });

  it('rejects SVG that references an external file', async () => {
    const svg = Buffer.from(
      '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ' +
        'width="10" height="10"><image xlink:href="file:///etc/passwd" width="10" height="10"/></svg>',
    );

    await expect(createThumbnail(svg, settings)).rejects.toMatchObject({ reason: 'unsupported-format' });
  });

  it('rejects HEIC by its brand', async () => {
    const result = createThumbnail(ftypBox('heic', ['mif1', 'heic']), settings);

    await expect(result).rejects.toMatchObject({ reason: 'unsupported-format' });
    await expect(result).rejects.toThrow('Unsupported image format: HEIC.');
    await expect(result).rejects.toThrow(ACCEPTED_FORMATS_HINT);
  });

  it('prebuilt sharp lists no HEIC suffix', () => {
    expect(sharp.format.heif.input.fileSuffix).not.toContain('.heic');
  });

  it.each([
    ['PDF', Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n', 'latin1')],
    ['BMP', Buffer.concat([Buffer.from('BM'), Buffer.alloc(52)])],
    ['JPEG XL', Buffer.from([0xff, 0x0a, 0x00, 0x00])],
    ['HTML', Buffer.from('<!DOCTYPE html><html><body>not an image</body></html>')],
  ])('rejects %s', async (label, input) => {
    const result = createThumbnail(input, settings);

    await expect(result).rejects.toMatchObject({ reason: 'unsupported-format' });
    await expect(result).rejects.toThrow(`Unsupported image format: ${label}.`);
  });

  it('rejects unknown bytes and shows the first bytes', async () => {
    const result = createThumbnail(Buffer.from('hello, world'), settings);

    await expect(result).rejects.toMatchObject({ reason: 'unsupported-format' });
    await expect(result).rejects.toThrow('(first bytes: 68 65 6c 6c 6f 2c 20 77)');
    await expect(result).rejects.toThrow(ACCEPTED_FORMATS_HINT);
  });
});
