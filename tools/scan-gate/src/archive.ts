import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { ToolError } from './errors';

/** Archive extensions the gate unpacks itself before a directory scan. */
export const ZIP_EXTENSIONS = ['.zip', '.jar', '.war', '.ear'];

/** Bounds on what one archive may unpack to, so that a zip bomb fails the scan instead of filling the disk. */
export interface ZipLimits {
  maxEntries: number;
  /** Sum of the entries' uncompressed sizes, in bytes. */
  maxTotalBytes: number;
}

/**
 * Default bounds: 100,000 entries and 2 GiB unpacked. A Lambda package stays far below them, because Lambda caps
 * a function's unzipped code at 250 MB.
 * NOTE: they are not options; an archive beyond them can still be unpacked by hand and scanned as a directory.
 */
export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntries: 100_000, maxTotalBytes: 2 * 1024 ** 3 };

function openZip(archivePath: string): Promise<yauzl.ZipFile> {
  return new Promise<yauzl.ZipFile>((resolve, reject) => {
    // autoClose is off because the entries are read first and extracted afterwards.
    yauzl.open(archivePath, { lazyEntries: true, autoClose: false }, (error, file) =>
      error ? reject(error) : resolve(file),
    );
  }).catch((error: Error) => {
    throw new ToolError(`cannot open ${archivePath} as a zip archive: ${error.message}`, { cause: error });
  });
}

/** Reads every central directory entry without extracting anything. */
function readEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise<yauzl.Entry[]>((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on('error', reject);
    zip.on('end', () => resolve(entries));
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.readEntry();
  });
}

function openReadStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => (error ? reject(error) : resolve(stream)));
  });
}

/**
 * Extracts a zip archive into a directory. Entries that would land outside the directory (absolute paths or
 * `..` segments) are rejected rather than skipped, because a Lambda package should never contain one. The entry
 * count and the declared unpacked size are checked against `limits` before anything is written, and yauzl
 * rejects an entry whose data is longer than its declared size.
 */
export async function extractZip(
  archivePath: string,
  destination: string,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<void> {
  const zip = await openZip(archivePath);
  const root = path.resolve(destination);
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw new ToolError(
        `${archivePath} has ${zip.entryCount} entries, more than the limit of ${limits.maxEntries}; unpack ` +
          'it yourself and scan the directory if it is genuine',
      );
    }
    const entries = await readEntries(zip);
    let totalBytes = 0;
    for (const entry of entries) {
      const target = path.resolve(root, entry.fileName);
      if (target !== root && !target.startsWith(root + path.sep)) {
        throw new ToolError(`${archivePath} contains an entry outside the archive root: ${entry.fileName}`);
      }
      totalBytes += entry.uncompressedSize;
    }
    if (totalBytes > limits.maxTotalBytes) {
      throw new ToolError(
        `${archivePath} expands to ${totalBytes} bytes, more than the limit of ${limits.maxTotalBytes}; unpack it ` +
          'yourself and scan the directory if it is genuine',
      );
    }

    for (const entry of entries) {
      const target = path.resolve(root, entry.fileName);
      if (entry.fileName.endsWith('/')) {
        await mkdir(target, { recursive: true });
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true });
      // A symbolic link entry is written as a plain file holding the link text, so nothing is written through it.
      await pipeline(await openReadStream(zip, entry), createWriteStream(target));
    }
  } finally {
    zip.close();
  }
}
