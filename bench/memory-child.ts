/**
 * Child process of the memory section: runs one function's image work on one file and prints its peak resident
 * memory as JSON. bench/memory.ts bundles it with esbuild and runs it with plain Node.js, without a TypeScript
 * loader, so that the baseline is close to a Lambda function's.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_THUMBNAIL_SETTINGS } from '../src/config';
import { prepareRekognitionBytes } from '../src/images/rekognition-input';
import { sharp } from '../src/images/sharp-setup';
import { createThumbnail } from '../src/images/thumbnail';

/** The image work measured: each function's own step, and a full decode for comparison. */
export type MemoryWork = 'thumbnail' | 'rekognition-bytes' | 'full-decode';

/** Measurement the child prints as JSON, with memory in bytes. */
export interface MemoryMeasurement {
  work: MemoryWork;
  milliseconds: number;
  /** Peak resident set size before the call: Node.js, sharp and the original file already loaded. */
  baselinePeakBytes: number;
  /** Peak resident set size of the whole process, after the call. */
  peakBytes: number;
  output: string;
}

/**
 * Reads VmHWM, the peak resident set size of this process's address space, from /proc/self/status (in kB). Unlike
 * `process.resourceUsage().maxRSS`, it starts afresh at exec, so the parent's size at fork time does not leak in.
 */
function peakBytes(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (match?.[1] === undefined)
    throw new Error('/proc/self/status has no VmHWM line: run the memory benchmark on Linux');
  return Number(match[1]) * 1024;
}

async function measure(work: MemoryWork, file: string): Promise<MemoryMeasurement> {
  const input = readFileSync(file);
  const baselinePeakBytes = peakBytes();
  const started = performance.now();
  let output: string;
  if (work === 'thumbnail') {
    const thumbnail = await createThumbnail(input, DEFAULT_THUMBNAIL_SETTINGS);
    output = `${thumbnail.width}x${thumbnail.height} ${thumbnail.format}`;
  } else if (work === 'rekognition-bytes') {
    const bytes = await prepareRekognitionBytes(input, DEFAULT_THUMBNAIL_SETTINGS.maxInputPixels);
    const { width, height, format } = await sharp(bytes).metadata();
    output = `${width}x${height} ${format}, ${bytes.length} bytes`;
  } else {
    const { info } = await sharp(input, { limitInputPixels: false })
      .raw()
      .toBuffer({ resolveWithObject: true });
    output = `${info.width}x${info.height}x${info.channels} raw`;
  }
  const milliseconds = performance.now() - started;
  return { work, milliseconds, baselinePeakBytes, peakBytes: peakBytes(), output };
}

const [work, file] = process.argv.slice(2);
if ((work !== 'thumbnail' && work !== 'rekognition-bytes' && work !== 'full-decode') || file === undefined) {
  console.error(`Invalid arguments "${process.argv.slice(2).join(' ')}": expected WORK FILE`);
  process.exit(2);
}
measure(work, file).then(
  (measurement) => process.stdout.write(JSON.stringify(measurement)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
