import { ConfigError } from './errors';

/** Output formats a thumbnail can take: opaque images and images with alpha choose separately. */
export type OpaqueThumbnailFormat = 'jpeg' | 'webp';
export type AlphaThumbnailFormat = 'png' | 'webp';

export interface ThumbnailSettings {
  maxWidth: number;
  maxHeight: number;
  opaqueFormat: OpaqueThumbnailFormat;
  alphaFormat: AlphaThumbnailFormat;
  /** JPEG and WebP quality, 1 to 100. */
  quality: number;
  /** Largest width x height the decoder accepts; larger images are rejected before their pixels are decoded. */
  maxInputPixels: number;
}

export interface StorageSettings {
  rawBucket: string;
  thumbnailBucket: string;
  tableName: string;
}

export interface LabelSettings {
  maxLabels: number;
  /** Rekognition's MinConfidence, 0 to 100. */
  minConfidence: number;
}

/** Limits on the original object, checked before it is read into memory. */
export interface InputLimits {
  maxInputBytes: number;
}

export type CreateThumbnailConfig = StorageSettings & InputLimits & { thumbnail: ThumbnailSettings };
export type AnalyzeImageConfig = StorageSettings &
  InputLimits & {
    labels: LabelSettings;
    thumbnail: Pick<ThumbnailSettings, 'maxInputPixels'>;
  };

type Env = Record<string, string | undefined>;

export const DEFAULT_THUMBNAIL_SETTINGS: ThumbnailSettings = {
  maxWidth: 256,
  maxHeight: 256,
  opaqueFormat: 'jpeg',
  alphaFormat: 'png',
  quality: 80,
  maxInputPixels: 100_000_000,
};

// Large enough for any camera JPEG or PNG export; an original is held in memory once while it is processed.
export const DEFAULT_MAX_INPUT_BYTES = 50 * 1024 * 1024;

export const DEFAULT_LABEL_SETTINGS: LabelSettings = { maxLabels: 10, minConfidence: 75 };

function requireString(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(`${name} environment variable is not set`);
  }
  return value;
}

function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function readNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function readChoice<T extends string>(env: Env, name: string, fallback: T, choices: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim().toLowerCase();
  const match = choices.find((choice) => choice === value);
  if (match === undefined) {
    throw new ConfigError(`${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  }
  return match;
}

export function loadStorageSettings(env: Env = process.env): StorageSettings {
  return {
    rawBucket: requireString(env, 'RAW_BUCKET_NAME'),
    thumbnailBucket: requireString(env, 'THUMBNAIL_BUCKET_NAME'),
    tableName: requireString(env, 'IMAGES_TABLE_NAME'),
  };
}

export function loadThumbnailSettings(env: Env = process.env): ThumbnailSettings {
  const defaults = DEFAULT_THUMBNAIL_SETTINGS;
  return {
    maxWidth: readInteger(env, 'THUMBNAIL_MAX_WIDTH', defaults.maxWidth, 1, 4096),
    maxHeight: readInteger(env, 'THUMBNAIL_MAX_HEIGHT', defaults.maxHeight, 1, 4096),
    opaqueFormat: readChoice(env, 'THUMBNAIL_OPAQUE_FORMAT', defaults.opaqueFormat, [
      'jpeg',
      'webp',
    ] as const),
    alphaFormat: readChoice(env, 'THUMBNAIL_ALPHA_FORMAT', defaults.alphaFormat, ['png', 'webp'] as const),
    quality: readInteger(env, 'THUMBNAIL_QUALITY', defaults.quality, 1, 100),
    maxInputPixels: readInteger(env, 'MAX_INPUT_PIXELS', defaults.maxInputPixels, 1, 2 ** 32),
  };
}

export function loadLabelSettings(env: Env = process.env): LabelSettings {
  const defaults = DEFAULT_LABEL_SETTINGS;
  return {
    maxLabels: readInteger(env, 'LABELS_MAX_LABELS', defaults.maxLabels, 1, 1000),
    minConfidence: readNumber(env, 'LABELS_MIN_CONFIDENCE', defaults.minConfidence, 0, 100),
  };
}

export function loadInputLimits(env: Env = process.env): InputLimits {
  return { maxInputBytes: readInteger(env, 'MAX_INPUT_BYTES', DEFAULT_MAX_INPUT_BYTES, 1, 2 ** 31) };
}

export function loadCreateThumbnailConfig(env: Env = process.env): CreateThumbnailConfig {
  return { ...loadStorageSettings(env), ...loadInputLimits(env), thumbnail: loadThumbnailSettings(env) };
}

export function loadAnalyzeImageConfig(env: Env = process.env): AnalyzeImageConfig {
  return {
    ...loadStorageSettings(env),
    ...loadInputLimits(env),
    labels: loadLabelSettings(env),
    thumbnail: { maxInputPixels: loadThumbnailSettings(env).maxInputPixels },
  };
}
