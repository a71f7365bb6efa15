/**
 * Measures the wall time and peak resident memory (maxRSS) of the image work of each function, each in a fresh Node.js
 * process so that no earlier image inflates the peak: createThumbnail (createThumbnail's work) and
 * prepareRekognitionBytes (analyzeImage's work for images Rekognition cannot read from S3). For comparison it also
 * measures decoding the whole image to raw pixels with sharp, which is what a thumbnail would cost without
 * shrink-on-load.
 *
 * Usage: npx tsx bench/image-memory.ts IMAGE_FILE...
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_THUMBNAIL_SETTINGS } from '../src/config';
import { prepareRekognitionBytes } from '../src/images/rekognition-input';
import { sharp } from '../src/images/sharp-setup';
import { createThumbnail } from '../src/images/thumbnail';

type Mode = 'thumbnail' | 'rekognition-bytes' | 'full-decode';
const MODES: readonly Mode[] = ['thumbnail', 'rekognition-bytes', 'full-decode'];

interface Measurement {
  mode: Mode;
  milliseconds: number;
  /** Peak resident set size of the process before the measured call, after loading modules and the file. */
  baselineMaxRssMiB: number;
  /** Peak resident set size of the process after the call. */
  maxRssMiB: number;
  output: string;
}

function maxRssMiB(): number {
  // resourceUsage().maxRSS is in kibibytes.
  return process.resourceUsage().maxRSS / 1024;
}

async function measure(mode: Mode, file: string): Promise<Measurement> {
  const input = readFileSync(file);
  const baselineMaxRssMiB = maxRssMiB();
  const start = performance.now();
  let output: string;
  if (mode === 'thumbnail') {
    const thumbnail = await createThumbnail(input, DEFAULT_THUMBNAIL_SETTINGS);
    output = `${thumbnail.width}x${thumbnail.height} ${thumbnail.format}, ${thumbnail.data.length} bytes`;
  } else if (mode === 'rekognition-bytes') {
    const bytes = await prepareRekognitionBytes(input, DEFAULT_THUMBNAIL_SETTINGS.maxInputPixels);
    output = `JPEG, ${bytes.length} bytes`;
  } else {
    const { info } = await sharp(input).raw().toBuffer({ resolveWithObject: true });
    output = `${info.width}x${info.height}x${info.channels} raw, ${info.size} bytes`;
  }
  const milliseconds = performance.now() - start;
  return { mode, milliseconds, baselineMaxRssMiB, maxRssMiB: maxRssMiB(), output };
}

function runInFreshProcess(mode: Mode, file: string): Measurement {
  const stdout = execFileSync(process.execPath, [...process.execArgv, __filename, '--child', mode, file], {
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as Measurement;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    const mode = args[1] as Mode;
    const file = args[2];
    if (!MODES.includes(mode) || file === undefined)
      throw new Error(`Invalid child arguments: ${args.join(' ')}`);
    process.stdout.write(JSON.stringify(await measure(mode, file)));
    return;
  }

  if (args.length === 0) {
    console.error('Usage: npx tsx bench/image-memory.ts IMAGE_FILE...');
    process.exitCode = 2;
    return;
  }
  console.log(`node ${process.version}, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`);
  for (const file of args) {
    const absoluteFile = path.resolve(file);
    console.log(`file: ${absoluteFile} (${readFileSync(absoluteFile).length} bytes)`);
    for (const mode of MODES) {
      const result = runInFreshProcess(mode, absoluteFile);
      const added = result.maxRssMiB - result.baselineMaxRssMiB;
      console.log(
        `  ${result.mode.padEnd(17)} ${result.milliseconds.toFixed(0).padStart(5)} ms  ` +
          `maxRSS ${result.maxRssMiB.toFixed(1)} MiB (baseline ${result.baselineMaxRssMiB.toFixed(1)} MiB, ` +
          `+${added.toFixed(1)} MiB)  ${result.output}`,
      );
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
