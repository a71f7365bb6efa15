import path from 'node:path';
import { parseArgs } from 'node:util';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { collectInputFiles, InputPathError } from './batch/input-files';
import { ProgressDisplay } from './batch/progress-display';
import { formatReportTable, formatSummary } from './batch/report';
import { runBatch } from './batch/run-batch';
import { readStackOptions, runCommand, STACK_OPTIONS, STACK_OPTIONS_HELP, UsageError } from './cli-options';
import { ensurePackaged } from './packaging';
import { type LocalStack, startLocalStack, tolerateRejectionsDuringShutdown } from './stack';
import { readRunningStack, type StackDescription } from './stack-file';

const DEFAULT_OUT_DIR = path.join('output', 'thumbnails');
const DEFAULT_TIMEOUT_SECONDS = 120;

const USAGE = `Usage: npm run process -- [FILE|FOLDER ...] [options]

Uploads images into the local stack's raw bucket, waits for the thumbnail and label functions, downloads the
thumbnails and prints one row per image. Uses the stack of "npm start" when one is running, otherwise starts one
for this run. With no FILE or FOLDER it processes the images in samples/.

Options:
  --json                  print the report as JSON on stdout (progress goes to stderr)
  --out DIR               folder for the downloaded thumbnails (default ${DEFAULT_OUT_DIR})
  --images-only           upload only files with an image extension (non-images are uploaded by default and
                          end as recorded failures)
  --timeout SECONDS       give up when no image has finished for this long (default ${DEFAULT_TIMEOUT_SECONDS})

${STACK_OPTIONS_HELP}`;

/** Returns the stack of stack.json when its S3 endpoint responds. A stale file (a crashed stack) is ignored. */
async function findRunningStack(dataDir: string): Promise<StackDescription | undefined> {
  const description = readRunningStack(dataDir);
  if (description === undefined) return undefined;
  const s3 = new S3Client({
    endpoint: description.endpoints.s3,
    region: description.region,
    credentials: { ...description.credentials },
    forcePathStyle: true,
    maxAttempts: 1,
  });
  try {
    await s3.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(2000) });
    return description;
  } catch {
    return undefined;
  } finally {
    s3.destroy();
  }
}

async function main(): Promise<number> {
  // The stack's own SDK clients talk only to loopback servers; the SDK's notice about future Node.js support would
  // otherwise interrupt the start-up output. The functions' environments get the same setting (see stack.ts).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const projectDir = process.cwd();
  const { values, positionals } = parseArgs({
    options: {
      ...STACK_OPTIONS,
      json: { type: 'boolean' },
      out: { type: 'string' },
      'images-only': { type: 'boolean' },
      timeout: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const json = values.json ?? false;
  const timeoutSeconds = Number(values.timeout ?? DEFAULT_TIMEOUT_SECONDS);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UsageError(`--timeout must be a positive number of seconds, got "${values.timeout}"`);
  }
  const stackOptions = readStackOptions(values, projectDir);
  // Progress and stack messages go to stderr with --json, so stdout carries only the report.
  const messages = json ? process.stderr : process.stdout;
  const display = new ProgressDisplay(messages, !json && process.stdout.isTTY === true);
  const log = (line: string) => display.message(line);

  const samples = positionals.length === 0;
  const inputPaths = samples ? [path.join(projectDir, 'samples')] : positionals;
  // samples/ also contains its licence notes, which are not pipeline input.
  const inputs = await collectInputFiles(inputPaths, samples || (values['images-only'] ?? false));
  if (inputs.length === 0) {
    log(`no files to upload in ${inputPaths.join(', ')}`);
    return 1;
  }

  const startedAt = Date.now();
  let stack: LocalStack | undefined;
  let description = await findRunningStack(stackOptions.dataDir ?? path.join(projectDir, '.local-data'));
  if (description !== undefined) {
    log(`using the local stack of pid ${description.pid} (S3 at ${description.endpoints.s3})`);
  } else {
    log('no local stack is running: starting one for this run');
    // Ports not given on the command line are picked free, so this run never collides with another server.
    stackOptions.ports = {
      s3: values['s3-port'] === undefined ? 0 : stackOptions.ports?.s3,
      dynamodb: values['dynamodb-port'] === undefined ? 0 : stackOptions.ports?.dynamodb,
      rekognition: values['rekognition-port'] === undefined ? 0 : stackOptions.ports?.rekognition,
      api: values['api-port'] === undefined ? 0 : stackOptions.ports?.api,
    };
    if (stackOptions.templatePath === undefined) {
      await ensurePackaged(projectDir, 'local', log, values['no-package']);
    }
    stack = await startLocalStack({ ...stackOptions, log });
    description = stack.description;
  }

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    log(`${signal}: stopping`);
    tolerateRejectionsDuringShutdown(log);
    void (stack?.close() ?? Promise.resolve()).then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const outDir = path.resolve(values.out ?? DEFAULT_OUT_DIR);
    const route =
      description.api === null ? `s3://${description.rawBucket}` : `${description.api.url}/images`;
    log(`uploading ${inputs.length} file(s) to ${route}`);
    const reports = await runBatch({
      stack: description,
      inputs,
      outDir,
      timeoutMs: timeoutSeconds * 1000,
      display,
    });
    if (json) {
      const output = reports.map(({ timedOut: _timedOut, ...report }) => report);
      process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    } else {
      console.log(`\n${formatReportTable(reports)}\n`);
      console.log(formatSummary(reports, (Date.now() - startedAt) / 1000));
      if (reports.some((report) => report.thumbnail !== null)) {
        console.log(`thumbnails: ${path.relative(projectDir, outDir) || outDir}`);
      }
    }
    return reports.some((report) => report.timedOut) ? 1 : 0;
  } finally {
    await stack?.close();
  }
}

runCommand(main, USAGE, (error) =>
  error instanceof InputPathError
    ? `cannot read input: ${error.message}`
    : `npm run process failed: ${error.message}`,
);
