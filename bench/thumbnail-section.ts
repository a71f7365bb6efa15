import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sharp } from '../src/images/sharp-setup';
import type { BenchImage } from './inputs';
import { pairwiseRatios, runInterleaved, type Summary, summarize } from './stats';
import {
  type OutputFormat,
  THUMBNAIL_BOX,
  type ThumbnailContender,
  type ThumbnailJob,
  type ThumbnailRun,
} from './thumbnail-contenders';

/** The figures of one contender on one input. */
export interface ContenderResult {
  contender: ThumbnailContender;
  /** Image work: in-process time, or a command's wall time minus its start-up on a 16x16 image. */
  workMs: Summary;
  /** Command-line tools only: wall time including process start. */
  wallMs?: Summary;
  startupMs?: Summary;
  /** This contender's time divided by the project's, round by round. */
  ratioToProject: Summary;
  outputSize: string;
}

export interface ThumbnailInputResult {
  image: BenchImage;
  expected: { width: number; height: number; format: OutputFormat };
  results: ContenderResult[];
}

/** A contender whose output has the wrong size or format. Any such output fails the benchmark. */
export class WrongOutputError extends Error {
  override name = 'WrongOutputError';
}

/** Computes the size and format every thumbnail of `image` must have: fitted inside the box, never enlarged. */
async function expectedOutput(image: BenchImage): Promise<ThumbnailInputResult['expected']> {
  const metadata = await sharp(image.file).metadata();
  const quarterTurn = (metadata.orientation ?? 1) >= 5;
  const width = quarterTurn ? metadata.height : metadata.width;
  const height = quarterTurn ? metadata.width : metadata.height;
  const scale = Math.min(1, THUMBNAIL_BOX.width / width, THUMBNAIL_BOX.height / height);
  // An image with any transparent pixel keeps its alpha channel, so it needs a PNG; the inputs here are either opaque
  // or partly transparent by construction.
  const format: OutputFormat = metadata.hasAlpha ? 'png' : 'jpeg';
  return { width: Math.round(width * scale), height: Math.round(height * scale), format };
}

/**
 * Checks one output against the expected size and format. Libraries round the short side differently, so it may
 * differ by one pixel; the long side must match exactly.
 */
async function checkOutput(
  contender: ThumbnailContender,
  image: BenchImage,
  expected: ThumbnailInputResult['expected'],
  output: Buffer,
): Promise<string> {
  const metadata = await sharp(output).metadata();
  const longExpected = Math.max(expected.width, expected.height);
  const longActual = expected.width >= expected.height ? metadata.width : metadata.height;
  const shortExpected = Math.min(expected.width, expected.height);
  const shortActual = expected.width >= expected.height ? metadata.height : metadata.width;
  const problems: string[] = [];
  if (metadata.format !== expected.format) problems.push(`format ${metadata.format}`);
  if (longActual !== longExpected || Math.abs(shortActual - shortExpected) > 1) {
    problems.push(`size ${metadata.width}x${metadata.height}`);
  }
  if (problems.length > 0) {
    throw new WrongOutputError(
      `${contender.name} made a wrong thumbnail of ${image.label} (${image.file}): ${problems.join(', ')}; ` +
        `expected ${expected.width}x${expected.height} ${expected.format} (short side within 1 pixel).`,
    );
  }
  return `${metadata.width}x${metadata.height} ${metadata.format}, ${output.length} bytes`;
}

/**
 * Runs every contender on one input, interleaved, `rounds` times after `warmupRounds` untimed rounds, and checks
 * every output.
 */
export async function benchThumbnailInput(
  image: BenchImage,
  contenders: readonly ThumbnailContender[],
  workDir: string,
  rounds: number,
  warmupRounds: number,
  log: (line: string) => void,
): Promise<ThumbnailInputResult> {
  const expected = await expectedOutput(image);
  const input = await readFile(image.file);
  const extension = expected.format === 'png' ? 'png' : 'jpg';
  const jobFor = (index: number): ThumbnailJob => ({
    file: image.file,
    input,
    format: expected.format,
    outputFile: path.join(workDir, `out-${index}.${extension}`),
  });

  const outputs = new Map<ThumbnailContender, string>();
  const runChecked = async (contender: ThumbnailContender): Promise<ThumbnailRun> => {
    const run = await contender.run(jobFor(contenders.indexOf(contender)));
    outputs.set(contender, await checkOutput(contender, image, expected, run.output));
    return run;
  };

  await runInterleaved(contenders, warmupRounds, runChecked);
  const runs = await runInterleaved(contenders, rounds, runChecked);

  const workOf = (run: ThumbnailRun) => run.wallMs - (run.startupMs ?? 0);
  const projectWork = (runs.get(contenders[0] as ThumbnailContender) ?? []).map(workOf);
  const results = contenders.map((contender): ContenderResult => {
    const contenderRuns = runs.get(contender) ?? [];
    const work = contenderRuns.map(workOf);
    const result: ContenderResult = {
      contender,
      workMs: summarize(work),
      ratioToProject: summarize(pairwiseRatios(work, projectWork)),
      outputSize: outputs.get(contender) ?? '',
    };
    if (contender.commandLine) {
      result.wallMs = summarize(contenderRuns.map((run) => run.wallMs));
      result.startupMs = summarize(contenderRuns.map((run) => run.startupMs ?? 0));
    }
    log(
      `  ${image.label}: ${contender.name.padEnd(36)} ${result.workMs.median.toFixed(1).padStart(8)} ms ` +
        `(${result.ratioToProject.median.toFixed(2)}x project)`,
    );
    return result;
  });
  return { image, expected, results };
}
