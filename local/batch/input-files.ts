import { access, constants, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** A file to upload and the object key it gets. */
export interface InputFile {
  path: string;
  key: string;
  contentType: string;
}

/** A path given on the command line cannot be read; the message names it. */
export class InputPathError extends Error {
  override name = 'InputPathError';
}

const CONTENT_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.heic': 'image/heic',
  '.heif': 'image/heif',
  '.bmp': 'image/bmp',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.json': 'application/json',
  '.pdf': 'application/pdf',
};

/** Content-Type for a file name, from its extension; `application/octet-stream` when unknown. */
export function contentTypeFor(fileName: string): string {
  return CONTENT_TYPES[path.extname(fileName).toLowerCase()] ?? 'application/octet-stream';
}

export function isImageFile(fileName: string): boolean {
  return contentTypeFor(fileName).startsWith('image/');
}

async function walk(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    // Hidden files (.DS_Store, .gitkeep) are never meant as pipeline input.
    if (entry.name.startsWith('.')) continue;
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(full)));
    else if (entry.isFile()) files.push(full);
  }
  return files;
}

/**
 * Expands files and folders into upload inputs. A folder contributes its files (recursively, hidden ones skipped)
 * with keys relative to it, using `/`; a file is keyed by its name. Throws InputPathError for a path that does
 * not exist or cannot be read, and for two inputs that would get the same key.
 */
export async function collectInputFiles(paths: string[], imagesOnly: boolean): Promise<InputFile[]> {
  const inputs: InputFile[] = [];
  for (const given of paths) {
    const resolved = path.resolve(given);
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(resolved);
      await access(resolved, constants.R_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`;
      throw new InputPathError(`${given} ${reason}`, { cause: error });
    }
    const files = info.isDirectory()
      ? (await walk(resolved)).map((file) => ({
          file,
          key: path.relative(resolved, file).split(path.sep).join('/'),
        }))
      : [{ file: resolved, key: path.basename(resolved) }];
    for (const { file, key } of files) {
      if (imagesOnly && !isImageFile(file)) continue;
      try {
        await access(file, constants.R_OK);
      } catch (error) {
        throw new InputPathError(`${file} cannot be read`, { cause: error });
      }
      const clash = inputs.find((input) => input.key === key);
      if (clash) throw new InputPathError(`${file} and ${clash.path} would both be uploaded as "${key}"`);
      inputs.push({ path: file, key, contentType: contentTypeFor(file) });
    }
  }
  return inputs;
}
