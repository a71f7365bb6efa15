import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const execFileAsync = promisify(execFile);

const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const STAGES_DIR = path.join(PROJECT_DIR, 'config', 'stages');
const BUCKET_PREFIX = 'stagecheck';
/** A stage with no file under config/stages, so it must get default.yml's values. */
const UNKNOWN_STAGE = 'featurezz';
const PRINT_TIMEOUT_MS = 60_000;

type StageParameters = Record<string, unknown>;

/** The parts of `sls print --format json` that the parameters reach. */
interface PrintedService {
  provider: Record<string, unknown> & { environment: Record<string, string> };
  custom: { names: Record<string, string> };
  functions: Record<
    string,
    {
      memorySize: number;
      maximumRetryAttempts?: number;
      maximumEventAge?: number;
      environment: Record<string, string>;
    }
  >;
  resources: {
    Parameters: Record<string, { Default?: unknown }>;
    Resources: Record<string, { DeletionPolicy?: string; Properties: Record<string, unknown> }>;
  };
}

function readStageFile(name: string): StageParameters {
  return parse(readFileSync(path.join(STAGES_DIR, `${name}.yml`), 'utf8')) as StageParameters;
}

async function printService(stage: string): Promise<PrintedService> {
  const cli = path.join(PROJECT_DIR, 'node_modules', 'osls', 'bin', 'serverless.js');
  const { stdout } = await execFileAsync(
    process.execPath,
    [cli, 'print', '--stage', stage, '--format', 'json'],
    {
      cwd: PROJECT_DIR,
      env: {
        ...process.env,
        IMAGE_PIPELINE_BUCKET_PREFIX: BUCKET_PREFIX,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return JSON.parse(stdout) as PrintedService;
}

function resourceProperties(printed: PrintedService, logicalId: string): Record<string, unknown> {
  const resource = printed.resources.Resources[logicalId];
  if (resource === undefined) throw new Error(`sls print has no resource ${logicalId}`);
  return resource.Properties;
}

/** Where each parameter ends up in the printed service. Environment values print as strings. */
const READERS: Record<string, (printed: PrintedService) => unknown> = {
  architecture: (printed) => printed.provider.architecture,
  bucketPrefix: (printed) => printed.custom.names.rawBucket?.split('-image-pipeline-')[0],
  thumbnailMaxWidth: (printed) => printed.functions.createThumbnail?.environment.THUMBNAIL_MAX_WIDTH,
  thumbnailMaxHeight: (printed) => printed.functions.createThumbnail?.environment.THUMBNAIL_MAX_HEIGHT,
  thumbnailOpaqueFormat: (printed) => printed.functions.createThumbnail?.environment.THUMBNAIL_OPAQUE_FORMAT,
  thumbnailAlphaFormat: (printed) => printed.functions.createThumbnail?.environment.THUMBNAIL_ALPHA_FORMAT,
  thumbnailQuality: (printed) => printed.functions.createThumbnail?.environment.THUMBNAIL_QUALITY,
  maxInputPixels: (printed) => printed.functions.createThumbnail?.environment.MAX_INPUT_PIXELS,
  maxInputBytes: (printed) => printed.provider.environment.MAX_INPUT_BYTES,
  labelsMaxLabels: (printed) => printed.functions.analyzeImage?.environment.LABELS_MAX_LABELS,
  labelsMinConfidence: (printed) => printed.functions.analyzeImage?.environment.LABELS_MIN_CONFIDENCE,
  createThumbnailMemoryMb: (printed) => printed.functions.createThumbnail?.memorySize,
  analyzeImageMemoryMb: (printed) => printed.functions.analyzeImage?.memorySize,
  functionTimeoutSeconds: (printed) => printed.provider.timeout,
  asyncMaximumRetryAttempts: (printed) => printed.functions.createThumbnail?.maximumRetryAttempts,
  asyncMaximumEventAgeSeconds: (printed) => printed.functions.analyzeImage?.maximumEventAge,
  accessLogRetentionDays: (printed) => {
    const lifecycle = resourceProperties(printed, 'AccessLogBucket').LifecycleConfiguration as {
      Rules: { ExpirationInDays?: unknown }[];
    };
    return lifecycle.Rules[0]?.ExpirationInDays;
  },
  logRetentionDays: (printed) => printed.provider.logRetentionInDays,
  logLevel: (printed) => printed.provider.environment.POWERTOOLS_LOG_LEVEL,
  retainOnDelete: (printed) => printed.resources.Resources.ImagesTable?.DeletionPolicy,
  tableDeletionProtection: (printed) => resourceProperties(printed, 'ImagesTable').DeletionProtectionEnabled,
  apiAuth: (printed) => printed.resources.Parameters.ApiAuth?.Default,
  alarmEmail: (printed) => printed.resources.Parameters.AlarmEmail?.Default,
  apiCorsOrigin: (printed) => {
    const responses = resourceProperties(printed, 'ImagesApiDefault4xxResponse').ResponseParameters as Record<
      string,
      string
    >;
    return responses['gatewayresponse.header.Access-Control-Allow-Origin']?.slice(1, -1);
  },
  apiThrottleRateLimit: (printed) =>
    (resourceProperties(printed, 'ImagesApiUsagePlan').Throttle as Record<string, unknown>).RateLimit,
  apiThrottleBurstLimit: (printed) =>
    (resourceProperties(printed, 'ImagesApiUsagePlan').Throttle as Record<string, unknown>).BurstLimit,
  apiQuotaLimit: (printed) =>
    (resourceProperties(printed, 'ImagesApiUsagePlan').Quota as Record<string, unknown>).Limit,
  apiQuotaPeriod: (printed) =>
    (resourceProperties(printed, 'ImagesApiUsagePlan').Quota as Record<string, unknown>).Period,
};

/** Settings the stage files of deployed stages must state, so that each stage's file shows them in one place. */
const STAGE_FILE_KEYS = [
  'createThumbnailMemoryMb',
  'analyzeImageMemoryMb',
  'thumbnailMaxWidth',
  'thumbnailMaxHeight',
  'thumbnailOpaqueFormat',
  'thumbnailAlphaFormat',
  'labelsMinConfidence',
  'apiThrottleRateLimit',
  'apiThrottleBurstLimit',
  'apiQuotaLimit',
  'apiQuotaPeriod',
  'logRetentionDays',
  'alarmEmail',
];

const defaults = readStageFile('default');

/** Lists every `${param:NAME}` that serverless.yml and resources/ read, with whether the reference has a default. */
function referencedParameters(): { name: string; hasDefault: boolean }[] {
  const files = [
    path.join(PROJECT_DIR, 'serverless.yml'),
    ...readdirSync(path.join(PROJECT_DIR, 'resources')).map((name) =>
      path.join(PROJECT_DIR, 'resources', name),
    ),
  ];
  return files.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/\$\{param:(\w+)(\s*,[^}]*)?\}/g)].map((match) => ({
      name: match[1] ?? '',
      hasDefault: match[2] !== undefined,
    })),
  );
}

/** Expected value of each readable parameter of a stage: its file's value, else default.yml's. */
function expectedValues(stageFile: StageParameters): [string, unknown][] {
  return Object.keys(READERS)
    .map((key): [string, unknown] => [key, stageFile[key] ?? defaults[key]])
    .filter(([, value]) => !(typeof value === 'string' && value.startsWith('${')));
}

function printedValue(printed: PrintedService, key: string): unknown {
  const reader = READERS[key];
  if (reader === undefined) throw new Error(`no reader for parameter ${key}`);
  const value = reader(printed);
  // Values in `environment` print as strings, and the files hold numbers.
  return typeof value === 'string' ? value : String(value);
}

describe('stage files', () => {
  const stageNames = readdirSync(STAGES_DIR)
    .filter((name) => name.endsWith('.yml'))
    .map((name) => name.slice(0, -'.yml'.length));

  it('exist for default, dev, prod and local', () => {
    expect(stageNames.sort()).toEqual(['default', 'dev', 'local', 'prod']);
  });

  it.each(['dev', 'prod', 'local'])('%s sets only parameters the service reads', (stage) => {
    const known = new Set([
      ...Object.keys(defaults),
      ...referencedParameters().map((reference) => reference.name),
    ]);
    const unknown = Object.keys(readStageFile(stage)).filter((key) => !known.has(key));

    expect(unknown).toEqual([]);
  });

  it('default.yml defines every parameter read without a default', () => {
    const undefinedParameters = referencedParameters()
      .filter((reference) => !reference.hasDefault && !(reference.name in defaults))
      .map((reference) => reference.name);

    expect(undefinedParameters).toEqual([]);
  });

  it.each(['dev', 'prod', 'local'])('%s states every stage setting', (stage) => {
    const missing = STAGE_FILE_KEYS.filter((key) => !(key in readStageFile(stage)));

    expect(missing).toEqual([]);
  });

  it('default.yml has a check for every key', () => {
    const unchecked = Object.keys(defaults).filter((key) => !(key in READERS));

    expect(unchecked).toEqual([]);
  });
});

describe.each([
  ['dev', 'dev'],
  ['prod', 'prod'],
  ['local', 'local'],
  [UNKNOWN_STAGE, 'default'],
])('sls print --stage %s', (stage, fileName) => {
  const stageFile = fileName === 'default' ? {} : readStageFile(fileName);
  let printed: PrintedService;

  beforeAll(async () => {
    printed = await printService(stage);
  }, PRINT_TIMEOUT_MS);

  it.each(expectedValues(stageFile))(`carries ${fileName}.yml's %s`, (key, expected) => {
    expect(printedValue(printed, key)).toBe(String(expected));
  });
});

describe('stage parameters from outside the files', () => {
  it(
    'bucket prefix comes from IMAGE_PIPELINE_BUCKET_PREFIX',
    async () => {
      const printed = await printService('prod');

      expect(printed.custom.names.rawBucket).toBe(`${BUCKET_PREFIX}-image-pipeline-prod-raw`);
    },
    PRINT_TIMEOUT_MS,
  );

  it(
    'local architecture is the host CPU',
    async () => {
      const printed = await printService('local');
      // Lambda names the architectures x86_64 and arm64; Node names them x64 and arm64.
      const expected = process.arch === 'x64' ? 'x86_64' : process.arch;

      expect(printed.provider.architecture).toBe(expected);
    },
    PRINT_TIMEOUT_MS,
  );
});
