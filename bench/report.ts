import type { BundleSection } from './bundle';
import type { BenchImage, BenchInputs } from './inputs';
import type { ListSection } from './list-route';
import type { MachineInfo } from './machine';
import type { MemoryResult } from './memory';
import type { PipelineSection } from './pipeline';
import { formatKiB, formatMs, formatRatio, formatSummary, type Summary, summarize } from './stats';
import type { TargetResult } from './targets';
import type { ThumbnailContender } from './thumbnail-contenders';
import type { ThumbnailInputResult } from './thumbnail-section';

/** Everything one run measured, for the markdown page. */
export interface BenchReport {
  command: string;
  quick: boolean;
  machine: MachineInfo;
  loadAtEnd: [number, number, number];
  durationSeconds: number;
  rounds: {
    thumbnails: number;
    warmup: number;
    coldInit: number;
    memory: number;
    list: number;
    model: number;
  };
  inputs: BenchInputs;
  contenders: ThumbnailContender[];
  thumbnails: ThumbnailInputResult[];
  bundles: BundleSection;
  memory: { image: BenchImage; results: MemoryResult[] }[];
  pipeline: PipelineSection;
  list: ListSection;
  targets: TargetResult[];
  /** bench/results/load.md, written by the load test, when it exists. */
  loadReport: string | undefined;
  memorySizes: { createThumbnail: number; analyzeImage: number };
}

const mib = (value: number) => `${value.toFixed(1)} MiB`;
const seconds = (value: number) => `${value.toFixed(2)} s`;

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

function machineSection(report: BenchReport): string {
  const { machine } = report;
  const load = (values: [number, number, number]) => values.map((value) => value.toFixed(2)).join(', ');
  return [
    `Command: \`${report.command}\`. Generated ${machine.date}; the whole run took ${report.durationSeconds.toFixed(0)} s.`,
    '',
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB memory. Load average ` +
      `(1, 5, 15 min) at the start: ${load(machine.loadAverage)}; at the end: ${load(report.loadAtEnd)}. Other jobs ` +
      'may share these cores, which is why contenders run interleaved and ratios are taken round by round.',
    '',
    `Software: Node.js ${machine.node}, sharp ${machine.sharp} with libvips ${machine.sharpLibvips}, ` +
      `vipsthumbnail from libvips ${machine.vipsthumbnail} (Debian's libvips-tools, an older libvips than sharp's), ` +
      `ImageMagick ${machine.imageMagick}, jimp ${machine.jimp}.`,
    '',
    `Repetitions: thumbnails ${report.rounds.thumbnails} rounds after ${report.rounds.warmup} untimed warm-up ` +
      `round${report.rounds.warmup === 1 ? '' : 's'}; cold initialisation ${report.rounds.coldInit}; memory ${report.rounds.memory} fresh processes per ` +
      `row; label model ${report.rounds.model} per photo; list route ${report.rounds.list} passes per size. Figures ` +
      'are medians with the minimum and maximum in brackets.',
  ].join('\n');
}

function targetsSection(report: BenchReport): string {
  return table(
    ['target', 'measured', 'met'],
    report.targets.map((target) => [target.target, target.figure, target.met ? 'met' : '**not met**']),
  );
}

function inputsTable(images: BenchImage[]): string {
  return table(
    ['input', 'pixels', 'file size', 'origin'],
    images.map((image) => [
      image.label,
      `${image.width}x${image.height}`,
      formatKiB(image.bytes),
      image.origin,
    ]),
  );
}

function thumbnailSection(report: BenchReport): string {
  const parts = [
    'Each contender makes a thumbnail that fits inside 256x256 without enlargement: JPEG at quality 80 for opaque ' +
      'inputs, PNG at zlib level 9 for the input with transparent pixels. Every output is read back with sharp and ' +
      'must have the expected format and size (the short side may differ by one pixel, because libraries round ' +
      'differently), or the run fails. Everything uses one thread: `sharp.concurrency(1)` in process, ' +
      '`VIPS_CONCURRENCY=1` and `MAGICK_THREAD_LIMIT=1` with `-limit thread 1` for the commands.',
    '',
    'Command-line tools pay for a process start and library initialisation on every call, which the in-process ' +
      'contenders have behind them. So the "image work" of a command leaves that out, and its wall time for one ' +
      'image and the part left out ("start-up") are shown separately. vipsthumbnail takes several files per call, ' +
      'so its image work is the time of a call with four copies of the input minus a call with one, divided by ' +
      "three. ImageMagick's convert reads all its inputs before it processes any, so its image work is the wall " +
      'time minus that of the same command on a 16x16 image of the same format, run just before it. ' +
      'In-process contenders start with their module loaded, ' +
      "and a garbage collection runs before each of their calls so that one contender's garbage is not collected " +
      "during another's timing.",
    '',
    inputsTable([report.inputs.camera, report.inputs.largeJpeg, report.inputs.alphaPng, report.inputs.png16]),
    '',
    table(
      ['contender', 'how it is called'],
      report.contenders.map((contender) => [contender.name, contender.description]),
    ),
  ];
  for (const result of report.thumbnails) {
    parts.push(
      '',
      `### ${result.image.label} (${result.image.width}x${result.image.height}) to ` +
        `${result.expected.width}x${result.expected.height} ${result.expected.format.toUpperCase()}`,
      '',
      table(
        ['contender', 'image work', 'contender ÷ project, round by round', 'wall time', 'start-up', 'output'],
        result.results.map((entry) => [
          entry.contender.name,
          formatSummary(entry.workMs),
          formatSummary(entry.ratioToProject, formatRatio),
          entry.wallMs === undefined ? '' : formatSummary(entry.wallMs),
          entry.startupMs === undefined ? '' : formatSummary(entry.startupMs),
          entry.outputSize,
        ]),
      ),
    );
  }
  return parts.join('\n');
}

function bundleSection(report: BenchReport): string {
  const { bundles } = report;
  const zipRows = bundles.zips.map((zip) => [
    zip.functionKey,
    formatKiB(zip.handlerBytes),
    formatKiB(zip.zipBytes),
    `${formatKiB(zip.sharpBytes)} (${formatKiB(zip.sharpCompressedBytes)} compressed)`,
  ]);
  const sizeRows = bundles.sizes.map((size) => {
    const init = bundles.coldInit.find(
      (result) => result.functionKey === size.functionKey && result.variant === size.variant,
    );
    return [
      size.functionKey,
      size.variant.name,
      formatKiB(size.handlerBytes),
      formatKiB(size.sourceMapBytes),
      `${formatKiB(size.zipBytes)}${size.zipEstimated ? ' (estimate)' : ''}`,
      init === undefined ? '' : formatSummary(init.requireMs),
      init === undefined ? '' : formatSummary(init.processMs),
    ];
  });
  return [
    'The packaged zips are `.serverless/*.zip` of `sls package --stage local` (x86_64 here; the arm64 zips of other ' +
      'stages carry the arm64 build of sharp, of a similar size). sharp with its libvips binary is installed into ' +
      'every zip, because it cannot be bundled.',
    '',
    table(['function', 'handler .js in the zip', 'zip', 'sharp in the zip, uncompressed'], zipRows),
    '',
    'Each variant below is built with esbuild and the `custom.esbuild` options of serverless.yml, changed as the ' +
      `variant says. The configured variant built here ${bundles.replicaMatches ? 'has exactly' : 'does NOT have'} ` +
      "the packaged handler's size. Zip sizes of the other variants are estimates: the packaged zip with its handler " +
      'and source map replaced by this build, deflated at level 9.',
    '',
    table(
      ['variant', 'how'],
      [...new Set(bundles.sizes.map((size) => size.variant))].map((variant) => [
        variant.name,
        `${variant.description}${variant.serverlessChange === undefined ? '' : `; serverless.yml: \`${variant.serverlessChange}\``}`,
      ]),
    ),
    '',
    "Cold initialisation is a fresh `node` process, with the functions' `NODE_OPTIONS` from serverless.yml " +
      `(\`${bundles.nodeOptions}\`), that requires the bundled handler from the unzipped package: "require" is the ` +
      'module load with its module-level set-up (config, logger, SDK clients, sharp), "process" adds Node.js\'s own ' +
      `start-up. Lambda adds its runtime's start-up to both. \`require('sharp')\` alone takes ` +
      `${formatSummary(bundles.sharpRequireMs)}.`,
    '',
    table(
      ['function', 'variant', 'handler .js', 'source map', 'zip', 'cold init: require', 'cold init: process'],
      sizeRows,
    ),
  ].join('\n');
}

function memorySection(report: BenchReport): string {
  const rows: string[][] = [];
  for (const { image, results } of report.memory) {
    for (const [index, result] of results.entries()) {
      rows.push([
        index === 0 ? `${image.label} (${image.width}x${image.height}, ${formatKiB(image.bytes)})` : '',
        result.work,
        formatSummary(result.peakMiB, mib),
        formatSummary(result.addedMiB, mib),
        formatSummary(result.baselineMiB, mib),
        formatSummary(result.milliseconds),
        result.output,
      ]);
    }
  }
  return [
    'Each row runs one call in a fresh Node.js process (bench/memory-child.ts, bundled by esbuild and run without a ' +
      'TypeScript loader) and reads VmHWM from /proc/self/status: the peak resident memory of the process ' +
      'since it started, which is what Lambda reports as Max Memory Used. The baseline is that peak before the call, with ' +
      "Node.js, sharp and the original file loaded. `thumbnail` is createThumbnail's image work; " +
      "`rekognition-bytes` is analyzeImage's conversion, which runs only for images Rekognition cannot read from " +
      'S3 (not JPEG or PNG, over 15 MB, or a side over 10,000 pixels, as the largest image here); `full-decode` ' +
      "decodes every pixel, for comparison. The time includes libvips' first-call set-up in a fresh process.",
    '',
    table(['original', 'work', 'peak RSS', 'added by the call', 'baseline', 'time', 'output'], rows),
    '',
    'The conversion sends at most 2048 pixels on the long side, so that libjpeg can shrink a camera JPEG on load. ' +
      'At 4096 the 12 MP JPEG took 406 ms and added 83.1 MiB instead of about 37 MiB (measured with ' +
      '`npx tsx bench/image-memory.ts` on 2026-12-04 on this machine type; this command does not rerun it).',
    '',
    memorySizing(report),
  ].join('\n');
}

function peakOf(report: BenchReport, work: string): { peak: number; label: string } {
  let best = { peak: 0, label: '' };
  for (const { image, results } of report.memory) {
    for (const result of results) {
      if (result.work === work && result.peakMiB.max > best.peak)
        best = { peak: result.peakMiB.max, label: image.label };
    }
  }
  return best;
}

/** Size in MiB of the original that gave a memory peak. */
function originalMiB(report: BenchReport, label: string): number {
  return (report.memory.find(({ image }) => image.label === label)?.image.bytes ?? 0) / 1024 / 1024;
}

function memorySizing(report: BenchReport): string {
  const thumbnail = peakOf(report, 'thumbnail');
  const conversion = peakOf(report, 'rekognition-bytes');
  const { createThumbnail, analyzeImage } = report.memorySizes;
  const { bundles } = report;

  const handler = bundles.coldInit.find(
    (result) => result.functionKey === 'createThumbnail' && result.variant === bundles.sizes[0]?.variant,
  );
  // The handler's modules, logger and SDK clients, beyond Node.js with sharp, which the rows above already include.
  const handlerMiB = Math.max(0, (handler?.peakMiB.median ?? 0) - bundles.sharpPeakMiB.median);
  // Reading an object builds the body from its chunks, and s3-objects.ts copies that into a Buffer.
  const estimate = (peak: number, label: string) => peak + handlerMiB + 2 * originalMiB(report, label);
  const thumbnailEstimate = estimate(thumbnail.peak, thumbnail.label);
  const conversionEstimate = estimate(conversion.peak, conversion.label);
  const share = (peak: number, size: number) => `${((100 * peak) / size).toFixed(0)}%`;

  // Lambda memory sizes are in MB as Lambda counts them, which are MiB.
  const smallerSize = analyzeImage / 2;
  let analyzeVerdict: string;
  if (conversionEstimate > smallerSize) {
    analyzeVerdict = `Half of that, ${smallerSize} MB, is less than this estimate, so ${analyzeImage} MB stays.`;
  } else if (conversionEstimate > smallerSize * 0.9) {
    analyzeVerdict =
      `Half of that, ${smallerSize} MB, would leave less than 10% headroom over this estimate, so ` +
      `${analyzeImage} MB stays.`;
  } else {
    analyzeVerdict =
      `Half of that, ${smallerSize} MB, would also hold this estimate, with ` +
      `${mib(smallerSize - conversionEstimate)} to spare.`;
  }

  return [
    'What follows for the memory sizes in serverless.yml (`params.default`). The processes above load sharp but ' +
      "not the handlers' other modules: a fresh process that requires createThumbnail's bundle peaks at " +
      `${mib(handler?.peakMiB.median ?? 0)}, against ${mib(bundles.sharpPeakMiB.median)} for Node.js with sharp ` +
      `alone, so a function carries about ${mib(handlerMiB)} more. Reading the original from S3 holds it up to ` +
      'twice more while the body is assembled and copied into a Buffer. Each estimate below adds both to the ' +
      'measured peak.',
    '',
    `- createThumbnail (${createThumbnail} MB): its highest peak is ${mib(thumbnail.peak)} (${thumbnail.label}), ` +
      `an estimated ${mib(thumbnailEstimate)} for the function, ${share(thumbnailEstimate, createThumbnail)} of ` +
      'its memory. The size is chosen for CPU, not memory: Lambda allots CPU in proportion to memory (a full vCPU ' +
      'at 1,769 MB), and the thumbnail is CPU-bound.',
    `- analyzeImage (${analyzeImage} MB): the conversion peaks at ${mib(conversion.peak)} (${conversion.label}), ` +
      `an estimated ${mib(conversionEstimate)} for the function, ${share(conversionEstimate, analyzeImage)} of its ` +
      `memory. ${analyzeVerdict} JPEG and PNG originals within Rekognition's limits never reach the conversion.`,
  ].join('\n');
}

function pipelineSection(report: BenchReport): string {
  const { pipeline } = report;
  const runs = pipeline.runs;
  const rows = runs.map((run) => [
    String(run.count),
    seconds(run.seconds),
    run.imagesPerSecond.toFixed(2),
    seconds(run.modelSeconds),
    seconds(run.inferenceSeconds),
    (run.count / run.modelSeconds).toFixed(2),
    `${(run.modelShare * 100).toFixed(0)}%`,
    `${(run.mainThreadBusy * 100).toFixed(0)}%`,
  ]);
  const growth: string[] = [];
  for (const run of runs) {
    const double = runs.find((other) => other.count === run.count * 2);
    if (double !== undefined) {
      growth.push(
        `From N = ${run.count} to ${double.count} the time grew ${(double.seconds / run.seconds).toFixed(2)}-fold ` +
          `(2.00 would be linear).`,
      );
    }
  }
  const decode = summarize(pipeline.models.map((model) => model.decodeMs.median));
  const inference = summarize(pipeline.models.map((model) => model.inferenceMs.median));
  return [
    `N photos go through the local stack in one process, as \`npm run process\` does it: \`runBatch\` from ` +
      'local/batch uploads them through the local API (four uploads in flight), waits until both functions have ' +
      'recorded each photo, and downloads the thumbnails. The stack runs with at most ' +
      `${pipeline.maxConcurrency} execution environments per function and the local Rekognition endpoint, whose ` +
      `label model runs in a worker thread of the same process. The photos cycle through ${pipeline.photoCount} JPEG and PNG photos ` +
      `(${formatKiB(pipeline.photoBytes)} in all, listed by bench/pipeline.ts). Two photos go through first, ` +
      'untimed, to start the execution environments and the model.',
    '',
    'The label model alone is then timed on each distinct photo in the same process: decoding for the detector ' +
      '(`loadRequestImage` from bytes) plus inference (`detectObjects`), without HTTP, S3 or the functions. Its ' +
      "time for a run is the sum over that run's photos. Per photo, decoding took a median of " +
      `${formatMs(decode.median)} (${formatMs(decode.min)} to ${formatMs(decode.max)} across photos) and inference ` +
      `${formatMs(inference.median)} (${formatMs(inference.min)} to ${formatMs(inference.max)}).`,
    '',
    table(
      [
        'N',
        'pipeline time',
        'images/s',
        'model alone',
        'inference only',
        'model alone, images/s',
        'pipeline ÷ model throughput',
        'stack thread busy',
      ],
      rows,
    ),
    '',
    '"Stack thread busy" is the event-loop utilisation of the process that runs the stack. It is the share of the ' +
      'run its main JavaScript thread spent running code (the local servers, the image decoding for the model, the batch ' +
      'loop) rather than waiting. Inference runs in the worker thread and is not counted.',
    '',
    growth.length > 0 ? growth.join(' ') : 'No run here has twice the photos of another.',
    '',
    pipelineMargin(runs),
  ].join('\n');
}

/** Warns when the largest run lands near the 80% target, where other load on the machine decides the verdict. */
function pipelineMargin(runs: BenchReport['pipeline']['runs']): string {
  if (runs.length === 0) return '';
  const largest = runs.reduce((a, b) => (b.count > a.count ? b : a));
  if (Math.abs(largest.modelShare - 0.8) >= 0.1) return '';
  return (
    `At N = ${largest.count} the pipeline is within ten points of the 80% target. With the stack's thread busy ` +
    `${(largest.mainThreadBusy * 100).toFixed(0)}% of the time, other jobs on the machine move this figure by ` +
    'several points from run to run, so one run can land on either side of the target.'
  );
}

function listSection(report: BenchReport): string {
  const { list } = report;
  return [
    `The table is seeded straight into the local stack's DynamoDB (dynalite) with BatchWriteItem, four requests ` +
      `in flight, with items shaped like those the functions write (source, thumbnail, three labels; ` +
      `${list.itemBytes} bytes of JSON each). Then \`GET /images?limit=${list.pageLimit}\` is read page by page ` +
      'through the local API Gateway emulator with the API key, following `next` until it is absent; every id ' +
      'must come back exactly once. One untimed request first compiles the mapping templates.',
    '',
    table(
      ['items', 'pages', 'time to page through', 'per page', 'seeding time'],
      list.runs.map((run) => [
        String(run.items),
        String(run.pages),
        formatSummary(run.seconds, seconds),
        formatMs((run.seconds.median * 1000) / run.pages),
        seconds(run.seedSeconds),
      ]),
    ),
  ].join('\n');
}

/** Renders the whole page. `analysis` contains the sections whose text depends on the figures. */
export function renderReport(
  report: BenchReport,
  analysis: { limits: string; recommendation: string },
): string {
  const sections = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (bench/run.ts); rerun it instead of editing this page.${report.quick ? ' QUICK MODE: one repetition on small inputs, only checks that every contender produces correct output; the figures mean nothing.' : ''}`,
    '',
    machineSection(report),
    '',
    '## Targets',
    '',
    report.quick ? 'Quick mode decides no target.' : `${targetsSection(report)}\n\n${analysis.limits}`,
    '',
    '## Thumbnail step, one core',
    '',
    thumbnailSection(report),
    '',
    '## Bundle size and cold initialisation',
    '',
    bundleSection(report),
    '',
    analysis.recommendation,
    '',
    "## Peak memory of each function's image work",
    '',
    memorySection(report),
    '',
    '## Local pipeline',
    '',
    pipelineSection(report),
  ];
  if (report.loadReport !== undefined) {
    sections.push(
      '',
      'The next section is bench/results/load.md, written by the load test (`bench/load.ts`), included as it is.',
      '',
      report.loadReport.trim(),
    );
  }
  sections.push('', '## List route', '', listSection(report), '');
  return sections.join('\n');
}

export type { Summary };
