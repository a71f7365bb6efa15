import { execFile } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { type BuildOptions, build } from 'esbuild';
import { parse } from 'yaml';
import yauzl from 'yauzl';
import { prepareFunctionCode } from '../local/lambda/function-code';
import { runInterleaved, type Summary, summarize } from './stats';

const execFileAsync = promisify(execFile);
const PROJECT_DIR = path.resolve(__dirname, '..');

/** A way of shipping the AWS SDK with a function, and the build options that give it. */
export interface BundleVariant {
  name: string;
  description: string;
  /** esbuild options added to serverless.yml's `custom.esbuild`. */
  overrides: BuildOptions;
  /** The serverless.yml change that gives this variant, or undefined for the configured one. */
  serverlessChange?: string;
}

export const BUNDLE_VARIANTS: readonly BundleVariant[] = [
  {
    name: 'SDK bundled (as configured)',
    description:
      "serverless.yml's `custom.esbuild` options unchanged: `mainFields: ['module', 'main']` bundles the AWS " +
      'SDK from its ES module builds, which tree-shake',
    overrides: {},
  },
  {
    name: 'SDK bundled, CommonJS builds',
    description:
      "as configured, but esbuild `mainFields: ['main']`, so the SDK comes from its CommonJS builds",
    overrides: { mainFields: ['main'] },
    serverlessChange: "custom.esbuild.mainFields: ['main']",
  },
  {
    name: "runtime's SDK (external)",
    description:
      "`@aws-sdk/*` left external: the function uses the copy in Lambda's Node.js runtime. Here it loads from the " +
      "project's node_modules, because the runtime's copy does not exist on this machine",
    overrides: {},
    serverlessChange: "custom.esbuild.exclude: ['@aws-sdk/*'] (external and left out of the zip)",
  },
];

/** A function of serverless.yml: its key and the bundle's path inside the zip. */
interface FunctionEntry {
  key: string;
  /** Handler source, such as src/handlers/create-thumbnail.ts. */
  source: string;
  /** Bundle path inside the zip, such as src/handlers/create-thumbnail.js. */
  bundlePath: string;
}

/** Sizes of one function built one way. */
export interface BundleSize {
  functionKey: string;
  variant: BundleVariant;
  handlerBytes: number;
  sourceMapBytes: number;
  /** Zip size: measured for the configured variant, estimated for the others (see `zipEstimated`). */
  zipBytes: number;
  zipEstimated: boolean;
}

/** Sizes of a packaged zip, split into the handler bundle and sharp with its binaries. */
export interface ZipContents {
  functionKey: string;
  zipBytes: number;
  handlerBytes: number;
  /** Compressed bytes of the handler bundle and its source map inside the zip. */
  handlerCompressedBytes: number;
  sharpBytes: number;
  sharpCompressedBytes: number;
  otherBytes: number;
}

export interface ColdInitResult {
  functionKey: string;
  variant: BundleVariant;
  /** Time to `require` the handler module: module loading plus the module-level initialisation. */
  requireMs: Summary;
  /** Time from process start until the handler is loaded, Node.js start-up included. */
  processMs: Summary;
  /** Peak resident memory of that process once the handler is loaded. */
  peakMiB: Summary;
}

interface ServerlessConfig {
  custom: { esbuild: Record<string, unknown> };
  functions: Record<string, { handler: string }>;
  provider: { environment?: Record<string, string> };
}

async function readServerlessConfig(): Promise<ServerlessConfig> {
  const text = await readFile(path.join(PROJECT_DIR, 'serverless.yml'), 'utf8');
  // CloudFormation tags such as !Ref are not needed here; `silent` keeps yaml from warning about them.
  return parse(text, { logLevel: 'silent' }) as ServerlessConfig;
}

function functionEntries(config: ServerlessConfig): FunctionEntry[] {
  return Object.entries(config.functions).map(([key, fn]) => {
    const modulePath = fn.handler.slice(0, fn.handler.lastIndexOf('.'));
    return { key, source: `${modulePath}.ts`, bundlePath: `${modulePath}.js` };
  });
}

/** esbuild options of serverless-esbuild, taken from `custom.esbuild`, without the plugin's own keys. */
function esbuildOptions(config: ServerlessConfig): BuildOptions {
  const { packager: _packager, exclude: _exclude, ...options } = config.custom.esbuild;
  return options as BuildOptions;
}

async function readZipContents(
  functionKey: string,
  zipPath: string,
  bundlePath: string,
): Promise<ZipContents> {
  const zip = await yauzl.openPromise(zipPath, { lazyEntries: true });
  const contents: ZipContents = {
    functionKey,
    zipBytes: (await stat(zipPath)).size,
    handlerBytes: 0,
    handlerCompressedBytes: 0,
    sharpBytes: 0,
    sharpCompressedBytes: 0,
    otherBytes: 0,
  };
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName === bundlePath) contents.handlerBytes = entry.uncompressedSize;
      if (entry.fileName === bundlePath || entry.fileName === `${bundlePath}.map`) {
        contents.handlerCompressedBytes += entry.compressedSize;
      } else if (/^node_modules\/(sharp|@img|detect-libc|semver|color|@emnapi)/.test(entry.fileName)) {
        contents.sharpBytes += entry.uncompressedSize;
        contents.sharpCompressedBytes += entry.compressedSize;
      } else {
        contents.otherBytes += entry.uncompressedSize;
      }
    }
  } finally {
    zip.close();
  }
  return contents;
}

export interface BundleSection {
  zips: ZipContents[];
  sizes: BundleSize[];
  coldInit: ColdInitResult[];
  /** NODE_OPTIONS of the functions in serverless.yml, applied to every cold start measured. */
  nodeOptions: string;
  /** Whether the configured variant built here has the packaged zip's handler size. */
  replicaMatches: boolean;
  /** `require('sharp')` alone from the packaged zip, in the same kind of fresh process. */
  sharpRequireMs: Summary;
  /** Peak resident memory of that process: Node.js with sharp loaded. */
  sharpPeakMiB: Summary;
}

/**
 * Builds each function in each variant with the esbuild options of serverless.yml and reads the packaged zips in
 * `packageDir` (a copy of `.serverless/`). Then it times cold initialisation: a fresh Node.js process that requires
 * the bundled handler, with sharp from the packaged zip.
 */
export async function benchBundles(
  workDir: string,
  packageDir: string,
  initRounds: number,
): Promise<BundleSection> {
  const config = await readServerlessConfig();
  const functions = functionEntries(config);
  const baseOptions = esbuildOptions(config);
  const nodeOptions = config.provider.environment?.NODE_OPTIONS ?? '';

  const zips: ZipContents[] = [];
  const sizes: BundleSize[] = [];
  const codeDirs = new Map<string, string>();
  const handlerFiles = new Map<string, string>();
  let replicaMatches = true;

  for (const fn of functions) {
    const zipPath = path.join(packageDir, `${fn.key}.zip`);
    const contents = await readZipContents(fn.key, zipPath, fn.bundlePath);
    zips.push(contents);
    const codeDir = path.join(workDir, 'code', fn.key);
    await prepareFunctionCode(zipPath, codeDir);
    codeDirs.set(fn.key, codeDir);

    for (const [index, variant] of BUNDLE_VARIANTS.entries()) {
      const external = [...((baseOptions.external as string[] | undefined) ?? [])];
      if (variant.serverlessChange?.includes('exclude')) external.push('@aws-sdk/*');
      const outfile = path.join(
        codeDir,
        path.dirname(fn.bundlePath),
        `variant-${index}`,
        path.basename(fn.bundlePath),
      );
      await mkdir(path.dirname(outfile), { recursive: true });
      await build({
        ...baseOptions,
        ...variant.overrides,
        external,
        entryPoints: [path.join(PROJECT_DIR, fn.source)],
        outfile,
        logLevel: 'error',
      });
      const handlerBytes = (await stat(outfile)).size;
      const map = await readFile(`${outfile}.map`);
      const configured = index === 0;
      if (configured && handlerBytes !== contents.handlerBytes) replicaMatches = false;
      // Other variants' zips: the packaged zip with its handler and map swapped for this build's, deflated at the
      // highest level. sharp's share is the same in every variant.
      const estimatedCompressed =
        deflateRawSync(await readFile(outfile), { level: 9 }).length +
        deflateRawSync(map, { level: 9 }).length;
      sizes.push({
        functionKey: fn.key,
        variant,
        handlerBytes,
        sourceMapBytes: map.length,
        zipBytes: configured
          ? contents.zipBytes
          : contents.zipBytes - contents.handlerCompressedBytes + estimatedCompressed,
        zipEstimated: !configured,
      });
      handlerFiles.set(`${fn.key}/${index}`, outfile);
    }
  }

  const initChild = path.join(workDir, 'cold-init-child.js');
  await writeFile(
    initChild,
    [
      'const started = performance.now();',
      'require(process.argv[2]);',
      'const loaded = performance.now();',
      // performance.now() counts from the process's time origin, so `loaded` includes Node.js start-up.
      // VmHWM (kB): the process's peak resident memory once the handler is loaded.
      "const peakKiB = Number(/^VmHWM:\\s+(\\d+)/m.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]);",
      'process.stdout.write(JSON.stringify({ requireMs: loaded - started, processMs: loaded, peakKiB }));',
    ].join('\n'),
  );
  // Index -1 stands for sharp alone, loaded from the first function's zip.
  const sharpTask = { fn: functions[0] as FunctionEntry, index: -1 };
  const tasks = functions.flatMap((fn) => BUNDLE_VARIANTS.map((_variant, index) => ({ fn, index })));
  const runs = await runInterleaved([...tasks, sharpTask], initRounds, async ({ fn, index }) => {
    const codeDir = codeDirs.get(fn.key) as string;
    const handlerFile =
      index === -1
        ? path.join(codeDir, 'node_modules', 'sharp')
        : (handlerFiles.get(`${fn.key}/${index}`) as string);
    const { stdout } = await execFileAsync(
      process.execPath,
      [...nodeOptions.split(' ').filter(Boolean), initChild, handlerFile],
      {
        cwd: codeDir,
        env: {
          PATH: process.env.PATH,
          // The external variant resolves @aws-sdk/* here; bundled variants never look.
          NODE_PATH: path.join(PROJECT_DIR, 'node_modules'),
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          RAW_BUCKET_NAME: 'bench-raw',
          THUMBNAIL_BUCKET_NAME: 'bench-thumbnails',
          IMAGES_TABLE_NAME: 'bench-images',
          POWERTOOLS_SERVICE_NAME: 'bench',
        },
      },
    );
    return JSON.parse(stdout) as { requireMs: number; processMs: number; peakKiB: number };
  });
  const coldInit = tasks.map((task): ColdInitResult => {
    const measurements = runs.get(task) ?? [];
    return {
      functionKey: task.fn.key,
      variant: BUNDLE_VARIANTS[task.index] as BundleVariant,
      requireMs: summarize(measurements.map((m) => m.requireMs)),
      processMs: summarize(measurements.map((m) => m.processMs)),
      peakMiB: summarize(measurements.map((m) => m.peakKiB / 1024)),
    };
  });
  const sharpRuns = runs.get(sharpTask) ?? [];
  const sharpRequireMs = summarize(sharpRuns.map((m) => m.requireMs));
  const sharpPeakMiB = summarize(sharpRuns.map((m) => m.peakKiB / 1024));
  return { zips, sizes, coldInit, nodeOptions, replicaMatches, sharpRequireMs, sharpPeakMiB };
}

/** Memory sizes of the functions in serverless.yml's default parameters, in MB. */
export async function readMemorySizes(): Promise<{ createThumbnail: number; analyzeImage: number }> {
  type MemoryParams = { createThumbnailMemoryMb: number; analyzeImageMemoryMb: number };
  const text = await readFile(path.join(PROJECT_DIR, 'serverless.yml'), 'utf8');
  const config = parse(text, { logLevel: 'silent' }) as { params: { default: MemoryParams | string } };
  let params = config.params.default;
  // The default parameters may live in their own file: `default: ${file(./config/stages/default.yml)}`.
  const fileReference = typeof params === 'string' ? /^\$\{file\((.+)\)\}$/.exec(params) : null;
  if (fileReference?.[1] !== undefined) {
    params = parse(await readFile(path.join(PROJECT_DIR, fileReference[1]), 'utf8')) as MemoryParams;
  }
  if (typeof params === 'string') {
    throw new Error(`Cannot read the memory sizes from serverless.yml's params.default (${params})`);
  }
  return {
    createThumbnail: Number(params.createThumbnailMemoryMb),
    analyzeImage: Number(params.analyzeImageMemoryMb),
  };
}
