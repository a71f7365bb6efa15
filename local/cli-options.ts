import path from 'node:path';
import type { parseArgs } from 'node:util';
import { DEFAULT_RETRY_DELAYS_MS } from './lambda/async-invoker';
import { DEFAULT_PORTS, type LocalStackOptions } from './stack';

/** Options that `npm start` and `npm run process` share: where the stack listens and keeps its data. */
export const STACK_OPTIONS = {
  'data-dir': { type: 'string' },
  template: { type: 'string' },
  'no-package': { type: 'boolean' },
  region: { type: 'string' },
  's3-port': { type: 'string' },
  'dynamodb-port': { type: 'string' },
  'rekognition-port': { type: 'string' },
  'api-port': { type: 'string' },
  'web-port': { type: 'string' },
  'sqs-port': { type: 'string' },
  'lambda-port': { type: 'string' },
  concurrency: { type: 'string' },
  'retry-delays': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const STACK_OPTIONS_HELP = `Stack options:
  --data-dir DIR          folder for S3 objects, DynamoDB data, function code, logs and failed events
                          (default .local-data)
  --template FILE         use this compiled CloudFormation template and the zips beside it; skips packaging
  --no-package            do not run "sls package --stage local", even when serverless.yml or src/ changed
  --region NAME           region the stack pretends to be in (default us-east-1)
  --s3-port N             S3 port on 127.0.0.1 (default ${DEFAULT_PORTS.s3}; 0 picks a free port)
  --dynamodb-port N       DynamoDB port (default ${DEFAULT_PORTS.dynamodb})
  --rekognition-port N    Rekognition port (default ${DEFAULT_PORTS.rekognition})
  --api-port N            local API Gateway port (default ${DEFAULT_PORTS.api})
  --web-port N            web page port (default ${DEFAULT_PORTS.web}; 0 when --api-port is 0)
  --sqs-port N            SQS port for the failure queues (default: a free port)
  --lambda-port N         Lambda Invoke port, used by npm run redrive (default: a free port)
  --concurrency N         execution environments per function (default 2)
  --retry-delays MS,MS    wait before the 1st and 2nd retry of a failed event (default ${DEFAULT_RETRY_DELAYS_MS.join(',')})
  -v, --verbose           print function log lines too (they always go to DATA_DIR/logs/FUNCTION.log)
  -h, --help              show this help`;

/** An invalid command-line value; the message names the option and what it expects. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Runs a command's main function and exits with the code it returns. A usage error (ours or parseArgs') prints the
 * message and the usage and exits 2; any other error prints `describeFailure(error)` and exits 1.
 */
export function runCommand(
  main: () => Promise<number>,
  usage: string,
  describeFailure: (error: Error) => string,
): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const parseError = (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ?? false;
      if (error instanceof UsageError || parseError) {
        console.error(`${(error as Error).message}\n\n${usage}`);
        process.exit(2);
      }
      console.error(describeFailure(error instanceof Error ? error : new Error(String(error))));
      process.exit(1);
    },
  );
}

function readPort(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--${option} must be a port number from 0 to 65535, got "${value}"`);
  }
  return port;
}

type StackValues = ReturnType<typeof parseArgs<{ options: typeof STACK_OPTIONS }>>['values'];

/** Turns the shared options into stack settings; packaging is decided by the caller. */
export function readStackOptions(values: Partial<StackValues>, projectDir: string): LocalStackOptions {
  const options: LocalStackOptions = { projectDir, verbose: values.verbose ?? false };
  if (values['data-dir'] !== undefined) options.dataDir = path.resolve(values['data-dir']);
  if (values.template !== undefined) options.templatePath = path.resolve(values.template);
  if (values.region !== undefined) options.region = values.region;
  options.ports = {
    s3: readPort(values['s3-port'], 's3-port') ?? DEFAULT_PORTS.s3,
    dynamodb: readPort(values['dynamodb-port'], 'dynamodb-port') ?? DEFAULT_PORTS.dynamodb,
    rekognition: readPort(values['rekognition-port'], 'rekognition-port') ?? DEFAULT_PORTS.rekognition,
    api: readPort(values['api-port'], 'api-port') ?? DEFAULT_PORTS.api,
    web: readPort(values['web-port'], 'web-port'),
    sqs: readPort(values['sqs-port'], 'sqs-port'),
    lambda: readPort(values['lambda-port'], 'lambda-port'),
  };
  if (values.concurrency !== undefined) {
    const concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw new UsageError(`--concurrency must be an integer from 1 to 64, got "${values.concurrency}"`);
    }
    options.maxConcurrency = concurrency;
  }
  if (values['retry-delays'] !== undefined) {
    const delays = values['retry-delays'].split(',').map((part) => Number(part.trim()));
    if (delays.length === 0 || delays.some((delay) => !Number.isInteger(delay) || delay < 0)) {
      throw new UsageError(
        `--retry-delays must be comma-separated milliseconds such as 1000,2000, got "${values['retry-delays']}"`,
      );
    }
    options.retryDelaysMs = delays;
  }
  return options;
}
