import { loadAnalyzeImageConfig, loadCreateThumbnailConfig } from '../src/config';
import { ConfigError } from '../src/errors';

const required = {
  RAW_BUCKET_NAME: 'raw',
  THUMBNAIL_BUCKET_NAME: 'thumbs',
  IMAGES_TABLE_NAME: 'images',
};

describe('config', () => {
  it('applies the documented defaults', () => {
    const config = loadCreateThumbnailConfig(required);

    expect(config.thumbnail).toEqual({
      maxWidth: 256,
      maxHeight: 256,
      opaqueFormat: 'jpeg',
      alphaFormat: 'png',
      quality: 80,
      maxInputPixels: 100_000_000,
    });
    expect(loadAnalyzeImageConfig(required).labels).toEqual({ maxLabels: 10, minConfidence: 75 });
  });

  it.each(Object.keys(required))('names the missing variable %s', (name) => {
    const env = { ...required, [name]: undefined };

    expect(() => loadCreateThumbnailConfig(env)).toThrow(
      new ConfigError(`${name} environment variable is not set`),
    );
  });

  it.each([
    ['MAX_INPUT_PIXELS', 'wide', /MAX_INPUT_PIXELS must be an integer from 1 to 4294967296, got "wide"/],
    ['LABELS_MIN_CONFIDENCE', '-1', /LABELS_MIN_CONFIDENCE must be a number from 0 to 100, got "-1"/],
    ['MAX_INPUT_BYTES', '1.5', /MAX_INPUT_BYTES must be an integer/],
  ])('rejects %s=%s', (name, value, message) => {
    const env = { ...required, [name]: value };

    expect(() => loadAnalyzeImageConfig(env)).toThrow(message);
  });

  it.each([
    ['THUMBNAIL_MAX_WIDTH', '0', /THUMBNAIL_MAX_WIDTH must be an integer from 1 to 4096, got "0"/],
    ['THUMBNAIL_QUALITY', '101', /THUMBNAIL_QUALITY must be an integer from 1 to 100, got "101"/],
    ['THUMBNAIL_OPAQUE_FORMAT', 'gif', /THUMBNAIL_OPAQUE_FORMAT must be one of jpeg, webp, got "gif"/],
  ])('rejects thumbnail setting %s=%s', (name, value, message) => {
    expect(() => loadCreateThumbnailConfig({ ...required, [name]: value })).toThrow(message);
  });

  it('reads formats case-insensitively', () => {
    const config = loadCreateThumbnailConfig({ ...required, THUMBNAIL_ALPHA_FORMAT: 'WebP' });

    expect(config.thumbnail.alphaFormat).toBe('webp');
  });
});
