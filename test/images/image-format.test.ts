import { detectImageFormat } from '../../src/images/image-format';
import { fixture } from '../support/shared-images';
import { ftypBox, readImage } from './image-inspection';

describe('detectImageFormat', () => {
  it.each([
    ['orientation/Landscape_1.jpg', 'jpeg'],
    ['formats/cmyk_icc_swop.jpg', 'jpeg'],
    ['formats/png_rgba_cutout.png', 'png'],
    ['formats/animated_rotating_squares.gif', 'gif'],
    ['formats/animated_rotating_squares.webp', 'webp'],
    ['formats/webp_lossy_photo.webp', 'webp'],
    ['formats/tiff_rgb16_uncompressed.tif', 'tiff'],
    ['formats/avif_hopper.avif', 'avif'],
    ['formats/svg_check.svg', 'svg'],
    ['broken/truncated.jpg', 'jpeg'],
    ['broken/png_bomb_65536x65536.png', 'png'],
  ])('detects %s as %s', (file, format) => {
    expect(detectImageFormat(readImage(fixture(file)))).toBe(format);
  });

  it.each([
    ['iPhone HEIC', ftypBox('heic', ['mif1', 'heic']), 'heic'],
    ['generic HEIF with HEIC brand', ftypBox('mif1', ['mif1', 'heic']), 'heic'],
    ['generic HEIF with AVIF brand', ftypBox('mif1', ['mif1', 'avif', 'miaf']), 'avif'],
    ['AVIF sequence', ftypBox('avis', ['avis', 'msf1']), 'avif'],
    ['generic HEIF alone', ftypBox('mif1', ['mif1']), 'heif'],
    ['MP4 video', ftypBox('isom', ['isom', 'mp41']), 'iso-media'],
  ])('detects %s', (_name, input, format) => {
    expect(detectImageFormat(input)).toBe(format);
  });

  it.each([
    ['big-endian TIFF', Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]), 'tiff'],
    ['BigTIFF', Buffer.from([0x49, 0x49, 0x2b, 0x00, 8, 0, 0, 0]), 'tiff'],
    ['PDF', Buffer.from('%PDF-1.4\n'), 'pdf'],
    ['PostScript', Buffer.from('%!PS-Adobe-3.0\n'), 'postscript'],
    ['BMP', Buffer.concat([Buffer.from('BM'), Buffer.alloc(52)]), 'bmp'],
    ['text starting with BM', Buffer.from('BMX is not a bitmap'), 'unknown'],
    ['ICO', Buffer.from([0, 0, 1, 0, 1, 0, 16, 16]), 'ico'],
    ['Photoshop', Buffer.from('8BPS\x00\x01'), 'psd'],
    ['JPEG 2000', Buffer.from([0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a]), 'jp2'],
    ['JPEG XL codestream', Buffer.from([0xff, 0x0a, 0, 0]), 'jxl'],
    ['ZIP', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]), 'zip'],
    ['gzip, as in SVGZ', Buffer.from([0x1f, 0x8b, 0x08, 0]), 'gzip'],
    [
      'SVG after BOM and whitespace',
      Buffer.from('\ufeff\n  <svg xmlns="http://www.w3.org/2000/svg"/>'),
      'svg',
    ],
    ['SVG after XML declaration', Buffer.from('<?xml version="1.0"?>\n<!-- c -->\n<svg/>'), 'svg'],
    ['HTML', Buffer.from('<!doctype html><p>hi</p>'), 'html'],
    ['other XML', Buffer.from('<?xml version="1.0"?><feed/>'), 'xml'],
    ['one byte', Buffer.from([0xff]), 'unknown'],
    ['plain text', Buffer.from('hello'), 'unknown'],
  ])('detects %s', (_name, input, format) => {
    expect(detectImageFormat(input)).toBe(format);
  });
});
