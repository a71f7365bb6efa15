import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readRunningStack } from '../local/stack-file';
import { runSmoke, type StepResult } from './smoke/steps';
import { deployedTarget, localTarget, type SmokeTarget } from './smoke/target';
import { readThumbnailBox, type ThumbnailBox } from './smoke/thumbnail-box';

/** The service name in serverless.yml; the framework names each stage's stack `<service>-<stage>`. */
const SERVICE_NAME = 'image-pipeline';
const DEFAULT_SAMPLE = 'samples/dog_bicycle_truck.jpg';
const DEFAULT_TIMEOUT_SECONDS = 180;

const USAGE = `Usage: npm run smoke -- [options]

Uploads a sample photo through a stage's API, waits for its labels and its thumbnail, deletes the original from the
raw bucket and waits until its record and thumbnail are gone. Prints each step with its time and exits 1 naming the
first step that failed.

Options:
  --stage NAME            deployed stage whose CloudFormation stack (${SERVICE_NAME}-NAME) is tested (default dev);
                          "local" tests the local stack, as --local does
  --local                 test the running local stack (npm start) instead of a deployed stage
  --data-dir DIR          the local stack's data folder, which holds stack.json (default .local-data)
  --region NAME           AWS region of the stage (default $AWS_REGION, else us-east-1)
  --stack-name NAME       CloudFormation stack name (default ${SERVICE_NAME}-STAGE)
  --sample FILE           JPEG or PNG to upload (default ${DEFAULT_SAMPLE})
  --thumbnail-box WxH     box the stage's thumbnails fit inside, in pixels (default: the stage's file under
                          config/stages/, else default.yml)
  --timeout SECONDS       how long each waiting step may take (default ${DEFAULT_TIMEOUT_SECONDS})
  --json                  print the report as JSON on standard output
  -h, --help              show this help

A deployed stage is reached with the AWS SDK's default credentials. The caller needs cloudformation:DescribeStacks
on the stack, apigateway:GET on its API key and s3:DeleteObject on the raw bucket (docs/deploy.md).`;

const OPTIONS = {
  stage: { type: 'string' },
  local: { type: 'boolean' },
  'data-dir': { type: 'string' },
  region: { type: 'string' },
  'stack-name': { type: 'string' },
  sample: { type: 'string' },
  'thumbnail-box': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const CONTENT_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
};

class UsageError extends Error {
  override name = 'UsageError';
}

function readBox(value: string): ThumbnailBox {
  const match = /^(\d+)x(\d+)$/.exec(value);
  if (match === null || Number(match[1]) < 1 || Number(match[2]) < 1) {
    throw new UsageError(`--thumbnail-box must be WIDTHxHEIGHT in pixels such as 256x256, got "${value}"`);
  }
  return { maxWidth: Number(match[1]), maxHeight: Number(match[2]) };
}

function readTimeoutMs(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_SECONDS * 1000;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--timeout must be a positive number of seconds, got "${value}"`);
  }
  return seconds * 1000;
}

function readSample(file: string): { body: Buffer; contentType: string; name: string } {
  const contentType = CONTENT_TYPES[path.extname(file).toLowerCase()];
  if (contentType === undefined) {
    throw new UsageError(
      `--sample must be a .jpg, .jpeg or .png file (Rekognition reads only those), got "${file}"`,
    );
  }
  return { body: readFileSync(file), contentType, name: path.basename(file) };
}

function formatStep(result: StepResult): string {
  const status = result.ok ? 'ok  ' : 'FAIL';
  return `${status} ${result.step.padEnd(10)} ${(result.durationMs / 1000).toFixed(2).padStart(7)} s  ${result.detail}`;
}

async function main(): Promise<number> {
  const projectDir = process.cwd();
  // The AWS SDK's notice that its 2027 releases need Node.js 22 would interrupt the report on Node.js 20.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({ options: OPTIONS, allowPositionals: false });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const stage = values.local ? 'local' : (values.stage ?? 'dev');
  const sample = readSample(path.resolve(values.sample ?? DEFAULT_SAMPLE));
  const thumbnailBox =
    values['thumbnail-box'] !== undefined
      ? readBox(values['thumbnail-box'])
      : readThumbnailBox(projectDir, stage);
  const waitTimeoutMs = readTimeoutMs(values.timeout);
  // Progress goes to stderr with --json, so standard output holds only the report.
  const print = values.json ? (line: string) => console.error(line) : (line: string) => console.log(line);

  let target: SmokeTarget;
  if (stage === 'local') {
    const dataDir = path.resolve(values['data-dir'] ?? '.local-data');
    const description = readRunningStack(dataDir);
    if (description === undefined) {
      throw new UsageError(`no local stack is running with data in ${dataDir}: start one with npm start`);
    }
    target = localTarget(description);
  } else {
    target = await deployedTarget({
      stackName: values['stack-name'] ?? `${SERVICE_NAME}-${stage}`,
      region: values.region ?? process.env.AWS_REGION ?? 'us-east-1',
    });
  }

  print(`smoke test against ${target.name} (${target.apiUrl})`);
  try {
    const report = await runSmoke(target, {
      sample,
      thumbnailBox,
      waitTimeoutMs,
      onStep: (result) => print(formatStep(result)),
    });
    if (values.json) console.log(JSON.stringify({ target: target.name, ...report }, null, 2));
    if (report.failedStep !== undefined) {
      print(`smoke test failed at step ${report.failedStep} (key ${report.key})`);
      return 1;
    }
    print(`smoke test passed (key ${report.key})`);
    return 0;
  } finally {
    target.s3.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (
      error instanceof UsageError ||
      (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
    ) {
      console.error(`${(error as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    console.error(`smoke test failed before its first step: ${(error as Error).message}`);
    process.exit(1);
  },
);
