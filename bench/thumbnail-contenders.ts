import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Jimp } from 'jimp';
import { DEFAULT_THUMBNAIL_SETTINGS } from '../src/config';
import { sharp } from '../src/images/sharp-setup';
import { createThumbnail } from '../src/images/thumbnail';

const execFileAsync = promisify(execFile);

/** The output every contender must produce: the same box, quality and format choice as the project's defaults. */
export const THUMBNAIL_BOX = {
  width: DEFAULT_THUMBNAIL_SETTINGS.maxWidth,
  height: DEFAULT_THUMBNAIL_SETTINGS.maxHeight,
  quality: DEFAULT_THUMBNAIL_SETTINGS.quality,
};

/** Output format of a thumbnail: JPEG for opaque images, PNG for images with transparent pixels. */
export type OutputFormat = 'jpeg' | 'png';

/** One thumbnail job: the input on disk and in memory, and where a command-line tool writes its output. */
export interface ThumbnailJob {
  file: string;
  input: Buffer;
  format: OutputFormat;
  outputFile: string;
}

/**
 * One timed thumbnail. For command-line tools, `wallMs` is one call on the input and `startupMs` the part of it that
 * is not image work.
 */
export interface ThumbnailRun {
  wallMs: number;
  startupMs?: number;
  output: Buffer;
}

export interface ThumbnailContender {
  name: string;
  /** Call or command line of the contender, for the report. */
  description: string;
  commandLine: boolean;
  run(job: ThumbnailJob): Promise<ThumbnailRun>;
}

// Exposes V8's gc() without a command-line flag: `npm run bench` starts node with fixed options.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Times in-process work after a full garbage collection, so that no earlier contender's garbage is collected inside it. */
async function timeInProcess(work: () => Promise<Buffer>): Promise<ThumbnailRun> {
  collectGarbage();
  const started = performance.now();
  const output = await work();
  return { wallMs: performance.now() - started, output };
}

async function timeCommand(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  await execFileAsync(command, args, { env: { ...process.env, ...env } });
  return performance.now() - started;
}

/**
 * Times a command-line tool twice, back to back: on a 16x16 image of the same format (process start, library
 * initialisation and loading), then on the real input. The difference is the tool's image work.
 */
async function timeAfterStartup(
  command: string,
  argsFor: (inputs: string[], output: string) => string[],
  env: NodeJS.ProcessEnv,
  job: ThumbnailJob,
  tinyInputs: TinyInputs,
): Promise<ThumbnailRun> {
  const tinyInput = job.format === 'png' ? tinyInputs.png : tinyInputs.jpeg;
  const tinyOutput = `${job.outputFile}.tiny.${job.format === 'png' ? 'png' : 'jpg'}`;
  const startupMs = await timeCommand(command, argsFor([tinyInput], tinyOutput), env);
  const wallMs = await timeCommand(command, argsFor([job.file], job.outputFile), env);
  return { wallMs, startupMs, output: await readFile(job.outputFile) };
}

// Extra copies of the input per call when a tool's per-image time is taken from a batch.
const BATCH_EXTRA_IMAGES = 3;

/**
 * Times a tool that takes several input files in one call: once with the input, then with the input and three more
 * copies of it. The difference divided by three is the work per image, with the process start and everything done
 * once per process left out. A tool's start-up (about 40 ms for vipsthumbnail, which loads libvips' modules) is as
 * long as its image work here, so subtracting a separate start-up run left too much noise on a busy machine.
 */
async function timeMarginalImage(
  command: string,
  argsFor: (inputs: string[], output: string) => string[],
  env: NodeJS.ProcessEnv,
  job: ThumbnailJob,
): Promise<ThumbnailRun> {
  const wallMs = await timeCommand(command, argsFor([job.file], job.outputFile), env);
  const batch = Array.from({ length: BATCH_EXTRA_IMAGES + 1 }, () => job.file);
  const batchMs = await timeCommand(command, argsFor(batch, job.outputFile), env);
  const workMs = (batchMs - wallMs) / BATCH_EXTRA_IMAGES;
  return { wallMs, startupMs: wallMs - workMs, output: await readFile(job.outputFile) };
}

/** 16x16 images that measure a command-line tool's fixed cost. */
export interface TinyInputs {
  jpeg: string;
  png: string;
}

export async function writeTinyInputs(workDir: string): Promise<TinyInputs> {
  const tiny = sharp({ create: { width: 16, height: 16, channels: 4, background: '#80808080' } });
  const jpeg = path.join(workDir, 'tiny.jpg');
  const png = path.join(workDir, 'tiny.png');
  await tiny.clone().flatten().jpeg().toFile(jpeg);
  await tiny.clone().png().toFile(png);
  return { jpeg, png };
}

/** The project's own code: the same function the createThumbnail handler calls, on a Buffer. */
function projectContender(): ThumbnailContender {
  return {
    name: 'project (createThumbnail)',
    description:
      '`createThumbnail(buffer, DEFAULT_THUMBNAIL_SETTINGS)` from src/images/thumbnail.ts, in process',
    commandLine: false,
    run: (job) =>
      timeInProcess(async () => (await createThumbnail(job.input, DEFAULT_THUMBNAIL_SETTINGS)).data),
  };
}

/** sharp without shrink-on-load: every pixel is decoded before the resize. */
function naiveSharpContender(): ThumbnailContender {
  return {
    name: 'naive sharp (full decode)',
    description:
      '`sharp(input).autoOrient().raw().toBuffer()`, then a second sharp instance resizes and encodes the raw pixels',
    commandLine: false,
    run: (job) =>
      timeInProcess(async () => {
        const { data, info } = await sharp(job.input)
          .autoOrient()
          .raw()
          .toBuffer({ resolveWithObject: true });
        const resized = sharp(data, {
          raw: { width: info.width, height: info.height, channels: info.channels },
        }).resize(THUMBNAIL_BOX.width, THUMBNAIL_BOX.height, { fit: 'inside', withoutEnlargement: true });
        return job.format === 'png'
          ? resized.png({ compressionLevel: 9 }).toBuffer()
          : resized.jpeg({ quality: THUMBNAIL_BOX.quality }).toBuffer();
      }),
  };
}

function jimpContender(): ThumbnailContender {
  return {
    name: 'jimp',
    description: '`Jimp.read(buffer)`, `scaleToFit` when larger than the box, `getBuffer`, in process',
    commandLine: false,
    run: (job) =>
      timeInProcess(async () => {
        const image = await Jimp.read(job.input);
        if (image.width > THUMBNAIL_BOX.width || image.height > THUMBNAIL_BOX.height) {
          image.scaleToFit({ w: THUMBNAIL_BOX.width, h: THUMBNAIL_BOX.height });
        }
        return job.format === 'png'
          ? image.getBuffer('image/png', { deflateLevel: 9 })
          : image.getBuffer('image/jpeg', { quality: THUMBNAIL_BOX.quality });
      }),
  };
}

// One libvips worker thread, as sharp.concurrency(1) gives the in-process contenders.
const VIPS_ENV = { VIPS_CONCURRENCY: '1' };

function vipsthumbnailContender(): ThumbnailContender {
  const size = `${THUMBNAIL_BOX.width}x${THUMBNAIL_BOX.height}>`;
  // With several inputs, every thumbnail goes to the same output file; the last one is checked.
  const argsFor = (inputs: string[], output: string) => {
    const options = output.endsWith('.png') ? '[compression=9,strip]' : `[Q=${THUMBNAIL_BOX.quality},strip]`;
    return [...inputs, '--size', size, '-o', `${output}${options}`];
  };
  return {
    name: 'vipsthumbnail',
    description:
      `\`VIPS_CONCURRENCY=1 vipsthumbnail INPUT... --size '${size}' -o OUTPUT[Q=${THUMBNAIL_BOX.quality},strip]\`; ` +
      `image work from one input against ${BATCH_EXTRA_IMAGES + 1} copies of it`,
    commandLine: true,
    run: (job) => timeMarginalImage('vipsthumbnail', argsFor, VIPS_ENV, job),
  };
}

const MAGICK_ENV = { MAGICK_THREAD_LIMIT: '1' };

/**
 * ImageMagick's `convert -thumbnail`. With `jpegSizeHint` it also passes `-define jpeg:size`, which lets libjpeg
 * decode a JPEG at a reduced scale, as libvips does on its own.
 */
function imageMagickContender(
  command: string,
  tinyInputs: TinyInputs,
  jpegSizeHint: boolean,
): ThumbnailContender {
  const geometry = `${THUMBNAIL_BOX.width}x${THUMBNAIL_BOX.height}>`;
  const hint = `jpeg:size=${THUMBNAIL_BOX.width * 2}x${THUMBNAIL_BOX.height * 2}`;
  // convert reads every input before it runs any operator, so it gets one input per call.
  const argsFor = ([input]: string[], output: string) => [
    '-limit',
    'thread',
    '1',
    ...(jpegSizeHint ? ['-define', hint] : []),
    input as string,
    '-auto-orient',
    '-thumbnail',
    geometry,
    // For PNG, ImageMagick reads -quality 95 as zlib level 9 with adaptive filtering.
    '-quality',
    output.endsWith('.png') ? '95' : String(THUMBNAIL_BOX.quality),
    output,
  ];
  const hintText = jpegSizeHint ? ` -define ${hint}` : '';
  return {
    name: jpegSizeHint ? 'ImageMagick convert, jpeg:size hint' : 'ImageMagick convert',
    description:
      `\`MAGICK_THREAD_LIMIT=1 ${command} -limit thread 1${hintText} INPUT -auto-orient -thumbnail '${geometry}' ` +
      `-quality ${THUMBNAIL_BOX.quality} OUTPUT\`; image work after the same command on a 16x16 image`,
    commandLine: true,
    run: (job) => timeAfterStartup(command, argsFor, MAGICK_ENV, job, tinyInputs),
  };
}

/**
 * Finds ImageMagick 6's `convert` (or ImageMagick 7's `magick`). A `convert` that does not report itself as
 * ImageMagick, such as GraphicsMagick's or a stand-in script, does not count.
 */
export async function findImageMagick(): Promise<string> {
  for (const candidate of ['/usr/bin/convert', 'convert', 'magick']) {
    try {
      const { stdout } = await execFileAsync(candidate, ['-version']);
      if (stdout.includes('ImageMagick')) return candidate;
    } catch {
      // Not installed under this name.
    }
  }
  throw new Error(
    'ImageMagick was not found as /usr/bin/convert, convert or magick: install it (Debian: ' +
      'apt-get install imagemagick) and run the benchmark again.',
  );
}

/** Lists the contenders in report order. The project's own code comes first, because every ratio is taken against it. */
export function thumbnailContenders(imageMagick: string, tinyInputs: TinyInputs): ThumbnailContender[] {
  return [
    projectContender(),
    vipsthumbnailContender(),
    imageMagickContender(imageMagick, tinyInputs, false),
    imageMagickContender(imageMagick, tinyInputs, true),
    jimpContender(),
    naiveSharpContender(),
  ];
}
