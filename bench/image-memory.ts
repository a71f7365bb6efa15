/**
 * Prints the peak resident memory and time of each function's image work on the given files, each call in a fresh
 * Node.js process (see bench/memory.ts). `npm run bench` runs the same measurement on its own inputs; this command
 * is for any other file.
 *
 * Usage: npx tsx bench/image-memory.ts IMAGE_FILE...
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sharp } from '../src/images/sharp-setup';
import { benchMemory, bundleMemoryChild } from './memory';

async function main(): Promise<number> {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('Usage: npx tsx bench/image-memory.ts IMAGE_FILE...');
    return 2;
  }
  console.log(`node ${process.version}, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`);
  const workDir = mkdtempSync(path.join(tmpdir(), 'image-memory-'));
  try {
    const child = await bundleMemoryChild(workDir);
    for (const file of files.map((name) => path.resolve(name))) {
      console.log(`file: ${file} (${statSync(file).size} bytes)`);
      for (const result of await benchMemory(
        child,
        file,
        ['thumbnail', 'rekognition-bytes', 'full-decode'],
        1,
      )) {
        console.log(
          `  ${result.work.padEnd(17)} ${result.milliseconds.median.toFixed(0).padStart(5)} ms  ` +
            `peak ${result.peakMiB.median.toFixed(1)} MiB (baseline ${result.baselineMiB.median.toFixed(1)} MiB, ` +
            `+${result.addedMiB.median.toFixed(1)} MiB)  ${result.output}`,
        );
      }
    }
    return 0;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
