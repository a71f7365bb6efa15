/**
 * `npm run bench`: measures the thumbnail step against vipsthumbnail, ImageMagick, jimp and a naive sharp pipeline,
 * the functions' bundle sizes and cold initialisation, their peak memory, the local pipeline's throughput and the
 * list route, and writes docs/benchmarks.md.
 *
 * `npm run bench -- --quick` runs each part once on small inputs and only checks that every contender produced a
 * correct output. It writes its report to a temporary file and exits with 1 when any output is wrong.
 */
import { access, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensurePackaged, TEMPLATE_FILE } from '../local/packaging';
import { DEFAULT_MAX_INPUT_BYTES, DEFAULT_THUMBNAIL_SETTINGS } from '../src/config';
import { analyse } from './analysis';
import { benchBundles, readMemorySizes } from './bundle';
import { prepareInputsInChildProcess } from './inputs';
import { benchListRoute } from './list-route';
import { readMachineInfo } from './machine';
import { benchMemory, bundleMemoryChild } from './memory';
import type { MemoryWork } from './memory-child';
import { benchPipeline, listPhotos } from './pipeline';
import { type BenchReport, renderReport } from './report';
import { evaluateTargets } from './targets';
import { findImageMagick, thumbnailContenders, writeTinyInputs } from './thumbnail-contenders';
import { benchThumbnailInput, type ThumbnailInputResult } from './thumbnail-section';

const PROJECT_DIR = path.resolve(__dirname, '..');
const REPORT_FILE = path.join(PROJECT_DIR, 'docs', 'benchmarks.md');
const LOAD_REPORT_FILE = path.join(PROJECT_DIR, 'bench', 'results', 'load.md');

const USAGE = `Usage: npm run bench [-- --quick]

Measures the thumbnail step, bundle sizes and cold starts, peak memory, the local pipeline and the list route, and
writes ${path.relative(PROJECT_DIR, REPORT_FILE)}. Takes about 6 minutes on 2 cores.

Options:
  --quick   one repetition on small inputs; checks only that every contender's output is correct, writes the
            report to a temporary file and exits with 1 on a wrong output
  --help    print this text`;

/** Repetitions of each part. */
function roundsFor(quick: boolean): BenchReport['rounds'] {
  return quick
    ? { thumbnails: 1, warmup: 0, coldInit: 1, memory: 1, list: 1, model: 1 }
    : { thumbnails: 5, warmup: 1, coldInit: 11, memory: 3, list: 3, model: 2 };
}

/**
 * Copies the packaged template and zips, so that another `sls package` in this checkout cannot replace them while
 * the benchmark reads them.
 */
async function snapshotPackage(workDir: string): Promise<string> {
  const source = path.join(PROJECT_DIR, '.serverless');
  const target = path.join(workDir, 'package');
  await mkdir(target, { recursive: true });
  for (const name of await readdir(source)) {
    if (name === TEMPLATE_FILE || name.endsWith('.zip'))
      await copyFile(path.join(source, name), path.join(target, name));
  }
  // Throws ENOENT when the template was not there to copy.
  await access(path.join(target, TEMPLATE_FILE));
  return path.join(target, TEMPLATE_FILE);
}

const SNAPSHOT_ATTEMPTS = 5;

/**
 * Packages when the package is stale and copies it. Another `sls package` in this checkout can empty `.serverless/`
 * between the two steps, so a copy that finds files missing starts over.
 */
async function packageAndSnapshot(workDir: string, log: (line: string) => void): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    await ensurePackaged(PROJECT_DIR, 'local', log);
    try {
      return await snapshotPackage(workDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === SNAPSHOT_ATTEMPTS) throw error;
      log(`.serverless/ changed while it was copied (${(error as Error).message}); packaging again`);
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const quick = values.quick ?? false;
  // Everything talks to servers on 127.0.0.1 only. These keep the SDK from looking for instance metadata and keep its
  // notice about future Node.js versions out of the output.
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const started = performance.now();
  const log = (line: string) => console.error(line);
  const rounds = roundsFor(quick);

  const imageMagick = await findImageMagick();
  const machine = readMachineInfo(imageMagick);
  log(
    `bench${quick ? ' --quick' : ''}: ${machine.cpuModel}, ${machine.cores} cores, load ${machine.loadAverage[0].toFixed(2)}`,
  );

  const inputs = await prepareInputsInChildProcess(
    quick,
    DEFAULT_THUMBNAIL_SETTINGS.maxInputPixels,
    DEFAULT_MAX_INPUT_BYTES,
  );
  // A stopped run still deletes its generated inputs, several hundred megabytes in a full run.
  const stop = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping, deleting ${inputs.workDir}`);
    try {
      inputs.dispose();
    } catch (error) {
      log(`could not delete ${inputs.workDir}: ${(error as Error).message}; delete it by hand`);
    }
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    log('thumbnails');
    const tinyInputs = await writeTinyInputs(inputs.workDir);
    const contenders = thumbnailContenders(imageMagick, tinyInputs);
    const thumbnails: ThumbnailInputResult[] = [];
    for (const image of [inputs.camera, inputs.largeJpeg, inputs.alphaPng, inputs.png16]) {
      thumbnails.push(
        await benchThumbnailInput(image, contenders, inputs.workDir, rounds.thumbnails, rounds.warmup, log),
      );
    }

    log('packaging (sls package --stage local, when stale)');
    const templatePath = await packageAndSnapshot(inputs.workDir, log);

    log('bundles and cold initialisation');
    const bundles = await benchBundles(inputs.workDir, path.dirname(templatePath), rounds.coldInit);

    log('memory');
    const childBundle = await bundleMemoryChild(inputs.workDir);
    const works: MemoryWork[] = ['thumbnail', 'rekognition-bytes', 'full-decode'];
    const memoryImages = [inputs.camera, inputs.largeJpeg, inputs.maxPixelsJpeg, inputs.maxPixelsPng].filter(
      (image) => image !== undefined,
    );
    const memory = [];
    for (const image of memoryImages) {
      memory.push({ image, results: await benchMemory(childBundle, image.file, works, rounds.memory) });
      log(`  ${image.label} done`);
    }

    log('local pipeline');
    const photos = await listPhotos(inputs.photoFolders);
    const counts = quick ? [5] : [50, 150, 300];
    const pipeline = await benchPipeline(photos, counts, inputs.workDir, templatePath, rounds.model, log);

    log('list route');
    const list = await benchListRoute(
      quick ? [200] : [2000, 20000],
      rounds.list,
      inputs.workDir,
      templatePath,
      log,
    );

    const targets = evaluateTargets({
      inputs,
      thumbnails,
      bundles,
      memory: memory.map(({ image, results }) => ({ label: image.label, results })),
      pipeline,
    });
    const loadReport = await readFile(LOAD_REPORT_FILE, 'utf8').catch(() => undefined);
    const [one, five, fifteen] = os.loadavg();
    const report: BenchReport = {
      command: quick ? 'npm run bench -- --quick' : 'npm run bench',
      quick,
      machine,
      loadAtEnd: [one ?? 0, five ?? 0, fifteen ?? 0],
      durationSeconds: (performance.now() - started) / 1000,
      rounds,
      inputs,
      contenders,
      thumbnails,
      bundles,
      memory,
      pipeline,
      list,
      targets,
      loadReport,
      memorySizes: await readMemorySizes(),
    };
    const markdown = renderReport(report, analyse(targets, bundles, pipeline));
    const file = quick ? path.join(os.tmpdir(), `benchmarks-quick-${process.pid}.md`) : REPORT_FILE;
    await writeFile(file, markdown);
    log(`report: ${file} (${report.durationSeconds.toFixed(0)} s)`);
    if (quick) {
      log('quick mode: every contender produced a correct output (one small run decides no target)');
    } else {
      for (const target of targets) {
        log(`  ${target.met ? 'met    ' : 'NOT MET'} ${target.target}: ${target.figure}`);
      }
    }
    return 0;
  } finally {
    inputs.dispose();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`npm run bench failed: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof Error && error.name !== 'WrongOutputError') console.error(error.stack);
    process.exit(1);
  },
);
