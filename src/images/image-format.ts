/**
 * Container formats recognised from a file's leading bytes. Only some of them are decoded (see `thumbnail.ts`), and
 * the others are named so that a rejection message can tell the uploader what the file was.
 */
export type DetectedFormat =
  | 'jpeg'
  | 'png'
  | 'gif'
  | 'webp'
  | 'tiff'
  | 'avif'
  | 'heic'
  | 'heif'
  | 'svg'
  | 'pdf'
  | 'postscript'
  | 'bmp'
  | 'ico'
  | 'psd'
  | 'jp2'
  | 'jxl'
  | 'iso-media'
  | 'html'
  | 'xml'
  | 'zip'
  | 'gzip'
  | 'unknown';

/** Output formats a thumbnail is encoded in. */
export type ThumbnailFormat = 'jpeg' | 'png' | 'webp';

/** Content-Type of each thumbnail format, as stored on the S3 object. */
export const THUMBNAIL_CONTENT_TYPES: Readonly<Record<ThumbnailFormat, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
};

/** Names used in error messages, in the spelling people see in file dialogs and on phones. */
export const FORMAT_LABELS: Readonly<Record<DetectedFormat, string>> = {
  jpeg: 'JPEG',
  png: 'PNG',
  gif: 'GIF',
  webp: 'WebP',
  tiff: 'TIFF',
  avif: 'AVIF',
  heic: 'HEIC',
  heif: 'HEIF',
  svg: 'SVG',
  pdf: 'PDF',
  postscript: 'PostScript',
  bmp: 'BMP',
  ico: 'ICO',
  psd: 'Photoshop PSD',
  jp2: 'JPEG 2000',
  jxl: 'JPEG XL',
  'iso-media': 'ISO media (MP4/MOV family)',
  html: 'HTML',
  xml: 'XML',
  zip: 'ZIP',
  gzip: 'gzip',
  unknown: 'unknown',
};

// ISO base media file ("ftyp" box) brands, from the HEIF (ISO/IEC 23008-12) and AVIF specifications.
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs']);
const GENERIC_HEIF_BRANDS = new Set(['mif1', 'msf1', 'mif2', 'miaf']);

function startsWith(input: Buffer, signature: readonly number[], offset = 0): boolean {
  if (input.length < offset + signature.length) return false;
  return signature.every((byte, index) => input[offset + index] === byte);
}

function ascii(input: Buffer, start: number, end: number): string {
  return input.subarray(start, Math.min(end, input.length)).toString('latin1');
}

/**
 * Classifies an ISO base media file by its ftyp brands. The major brand decides, unless it is a generic HEIF brand
 * such as "mif1". Then the compatible brands decide: AVIF files list "avif" and iPhone HEIC files list "heic".
 */
function detectIsoMediaFormat(input: Buffer): DetectedFormat {
  const boxSize = input.readUInt32BE(0);
  const boxEnd = Math.min(Math.max(boxSize, 16), input.length, 4096);
  const majorBrand = ascii(input, 8, 12);
  const compatibleBrands: string[] = [];
  for (let offset = 16; offset + 4 <= boxEnd; offset += 4) {
    compatibleBrands.push(ascii(input, offset, offset + 4));
  }

  if (AVIF_BRANDS.has(majorBrand)) return 'avif';
  if (HEIC_BRANDS.has(majorBrand)) return 'heic';
  if (GENERIC_HEIF_BRANDS.has(majorBrand)) {
    if (compatibleBrands.some((brand) => AVIF_BRANDS.has(brand))) return 'avif';
    if (compatibleBrands.some((brand) => HEIC_BRANDS.has(brand))) return 'heic';
    return 'heif';
  }
  return 'iso-media';
}

/** Classifies text that starts with "<", looking at the first 4 KiB only. */
function detectMarkupFormat(input: Buffer): DetectedFormat {
  const head = ascii(input, 0, 4096).toLowerCase();
  if (head.includes('<svg')) return 'svg';
  if (head.includes('<html') || head.includes('<!doctype html')) return 'html';
  return 'xml';
}

/**
 * Detects an image container from its signature (magic bytes), without decoding anything. The result decides which
 * bytes are handed to the decoder at all, so that formats this service rejects, such as SVG, never reach libvips.
 */
export function detectImageFormat(input: Buffer): DetectedFormat {
  if (startsWith(input, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(input, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(input, 0, 6) === 'GIF87a' || ascii(input, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(input, 0, 4) === 'RIFF' && ascii(input, 8, 12) === 'WEBP') return 'webp';
  // Classic TIFF ("*" = 42) and BigTIFF ("+" = 43), little- and big-endian.
  if (['II*\0', 'MM\0*', 'II+\0', 'MM\0+'].includes(ascii(input, 0, 4))) return 'tiff';
  if (input.length >= 12 && ascii(input, 4, 8) === 'ftyp') return detectIsoMediaFormat(input);
  if (startsWith(input, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20])) return 'jp2';
  if (startsWith(input, [0xff, 0x4f, 0xff, 0x51])) return 'jp2';
  if (startsWith(input, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) return 'jxl';
  if (startsWith(input, [0xff, 0x0a])) return 'jxl';
  if (ascii(input, 0, 5) === '%PDF-') return 'pdf';
  if (ascii(input, 0, 2) === '%!') return 'postscript';
  // BMP: "BM", the file size, then four reserved zero bytes. The zeros keep out text that starts with "BM".
  if (ascii(input, 0, 2) === 'BM' && startsWith(input, [0, 0, 0, 0], 6)) return 'bmp';
  if (startsWith(input, [0x00, 0x00, 0x01, 0x00])) return 'ico';
  if (ascii(input, 0, 4) === '8BPS') return 'psd';
  if (startsWith(input, [0x50, 0x4b, 0x03, 0x04])) return 'zip';
  if (startsWith(input, [0x1f, 0x8b])) return 'gzip';

  // Text formats may start with a UTF-8 byte order mark and whitespace before the first tag.
  const text = ascii(input, 0, 64)
    .replace(/^\xef\xbb\xbf/, '')
    .trimStart();
  if (text.startsWith('<')) return detectMarkupFormat(input);
  return 'unknown';
}
