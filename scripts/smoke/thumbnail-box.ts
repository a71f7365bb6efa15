import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { parse } from 'yaml';

/** Box a stage's thumbnails fit inside, in pixels. */
export interface ThumbnailBox {
  maxWidth: number;
  maxHeight: number;
}

function readStageFile(projectDir: string, name: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(projectDir, 'config', 'stages', `${name}.yml`), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return (parse(text) as Record<string, unknown> | null) ?? {};
}

function readDimension(value: unknown, key: string, stage: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new Error(`${key} of stage ${stage} must be a whole number of pixels, got "${String(value)}"`);
  }
  return number;
}

/**
 * Reads a stage's thumbnail box from its file under config/stages/, falling back to default.yml key by key, as
 * serverless.yml's `params` does.
 * NOTE: a value overridden with --param at deploy time is not seen here; pass the box on the command line then.
 */
export function readThumbnailBox(projectDir: string, stage: string): ThumbnailBox {
  const defaults = readStageFile(projectDir, 'default') ?? {};
  const stageFile = readStageFile(projectDir, stage) ?? {};
  const value = (key: string) => stageFile[key] ?? defaults[key];
  return {
    maxWidth: readDimension(value('thumbnailMaxWidth'), 'thumbnailMaxWidth', stage),
    maxHeight: readDimension(value('thumbnailMaxHeight'), 'thumbnailMaxHeight', stage),
  };
}

/**
 * Returns the size of a thumbnail of `image` that fits inside `box` without being enlarged, computed from the
 * image's displayed size (after EXIF orientation) as read by sharp.
 */
export async function expectedThumbnailSize(
  image: Buffer,
  box: ThumbnailBox,
): Promise<{ width: number; height: number }> {
  const metadata = await sharp(image).metadata();
  const { width, height } = metadata.autoOrient;
  const scale = Math.min(1, box.maxWidth / width, box.maxHeight / height);
  return { width: Math.round(width * scale), height: Math.round(height * scale) };
}
