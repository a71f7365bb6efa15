import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { MemoryMeasurement, MemoryWork } from './memory-child';
import { type Summary, summarize } from './stats';

const execFileAsync = promisify(execFile);
const PROJECT_DIR = path.resolve(__dirname, '..');

/** Peak memory of one kind of work on one image, over repeated fresh processes. */
export interface MemoryResult {
  work: MemoryWork;
  peakMiB: Summary;
  /** Peak growth caused by the call: peak after it minus peak before it. */
  addedMiB: Summary;
  baselineMiB: Summary;
  milliseconds: Summary;
  output: string;
}

const toMiB = (bytes: number) => bytes / 1024 / 1024;

/**
 * Bundles bench/memory-child.ts into `workDir` with sharp left external, as the functions' bundles are, and returns
 * the bundle's path.
 */
export async function bundleMemoryChild(workDir: string): Promise<string> {
  const outfile = path.join(workDir, 'memory-child.js');
  await build({
    entryPoints: [path.join(__dirname, 'memory-child.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    external: ['sharp'],
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

/** Runs the child once in a fresh Node.js process; sharp resolves from the project's node_modules. */
export async function measureInFreshProcess(
  childBundle: string,
  work: MemoryWork,
  file: string,
): Promise<MemoryMeasurement> {
  const { stdout } = await execFileAsync(process.execPath, [childBundle, work, file], {
    env: { ...process.env, NODE_PATH: path.join(PROJECT_DIR, 'node_modules') },
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout) as MemoryMeasurement;
}

/** Measures each kind of work on one image `rounds` times, each in a fresh process, alternating the kinds. */
export async function benchMemory(
  childBundle: string,
  file: string,
  works: readonly MemoryWork[],
  rounds: number,
): Promise<MemoryResult[]> {
  const runs = new Map<MemoryWork, MemoryMeasurement[]>(works.map((work) => [work, []]));
  for (let round = 0; round < rounds; round++) {
    for (const work of works) runs.get(work)?.push(await measureInFreshProcess(childBundle, work, file));
  }
  return works.map((work) => {
    const measurements = runs.get(work) ?? [];
    return {
      work,
      peakMiB: summarize(measurements.map((m) => toMiB(m.peakBytes))),
      addedMiB: summarize(measurements.map((m) => toMiB(m.peakBytes - m.baselinePeakBytes))),
      baselineMiB: summarize(measurements.map((m) => toMiB(m.baselinePeakBytes))),
      milliseconds: summarize(measurements.map((m) => m.milliseconds)),
      output: measurements[0]?.output ?? '',
    };
  });
}
