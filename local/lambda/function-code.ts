import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

const MARKER_FILE = '.local-stack-source.json';

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

async function extractZip(zipPath: string, targetDirectory: string): Promise<void> {
  const zip = await yauzl.openPromise(zipPath, { lazyEntries: true, strictFileNames: true });
  try {
    for await (const entry of zip.eachEntry()) {
      // yauzl has already rejected absolute names and `..` segments (strictFileNames, validateFileName).
      const destination = path.join(targetDirectory, entry.fileName);
      if (entry.fileName.endsWith('/')) {
        await mkdir(destination, { recursive: true });
        continue;
      }
      await mkdir(path.dirname(destination), { recursive: true });
      // Unix permission bits sit in the upper half of externalFileAttributes; keep executables executable.
      const mode = (entry.externalFileAttributes >>> 16) & 0o777;
      await pipeline(
        await zip.openReadStreamPromise(entry),
        createWriteStream(destination, { mode: mode || 0o644 }),
      );
    }
  } finally {
    zip.close();
  }
}

/**
 * Extracts a function's zip into `targetDirectory`, unless that folder already contains this exact zip (compared by
 * SHA-256). Returns true when it extracted.
 */
export async function prepareFunctionCode(zipPath: string, targetDirectory: string): Promise<boolean> {
  try {
    await stat(zipPath);
  } catch (error) {
    throw new Error(`function package ${zipPath} not found: run "npm run package:local" first`, {
      cause: error,
    });
  }
  const digest = await hashFile(zipPath);
  const markerPath = path.join(targetDirectory, MARKER_FILE);
  const previous = await readFile(markerPath, 'utf8').catch(() => undefined);
  if (previous !== undefined && (JSON.parse(previous) as { sha256?: string }).sha256 === digest) return false;

  await rm(targetDirectory, { recursive: true, force: true });
  await mkdir(targetDirectory, { recursive: true });
  await extractZip(zipPath, targetDirectory);
  await writeFile(markerPath, JSON.stringify({ zip: zipPath, sha256: digest }));
  return true;
}
