// npm run redrive: re-delivers the events in a stage's failure queues into the pipeline after a fix.
// docs/operations.md describes when and how to run it.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { readRunningStack } from '../local/stack-file';
import { failureQueueNames, pipelineFunctionNames, SERVICE_NAME } from './redrive/queues';
import { RedriveError, type RedriveResult, redrive } from './redrive/redrive';

const HELP = `Usage: npm run redrive -- [options]

Re-delivers the events in the stage's failed-invocations queue (Lambda's on-failure destination) and
undelivered-events queue (the topic subscriptions' dead-letter queue) to the functions, and deletes each
message once its re-delivery was accepted. Run it after the cause of the failures is fixed.

Options:
  --stage NAME      stage to re-drive (default dev); "local" uses the local stack that npm start runs
  --region NAME     AWS region of the stage (default: AWS_REGION, then us-east-1); ignored for local
  --limit N         most messages to handle over both queues (default 100)
  --dry-run         list what would be re-driven; invokes and deletes nothing (each listed message's
                    receive count still goes up by one: SQS cannot read a message without receiving it)
  --data-dir DIR    data folder of the local stack (default .local-data)
  -h, --help        show this help`;

interface Target {
  sqs: SQSClient;
  lambda: LambdaClient;
  location: string;
  notificationFunctions: string[];
}

function localTarget(dataDir: string): Target {
  const stack = readRunningStack(dataDir);
  if (stack === undefined) {
    throw new RedriveError(
      `no local stack is running on ${dataDir}: start it with npm start, then run this again`,
    );
  }
  // The SDK writes into the credential objects it is given, so each client gets its own copy.
  const config = (endpoint: string) => ({
    region: stack.region,
    credentials: { ...stack.credentials },
    endpoint,
  });
  return {
    sqs: new SQSClient(config(stack.endpoints.sqs)),
    lambda: new LambdaClient(config(stack.endpoints.lambda)),
    location: `the local stack at ${stack.endpoints.sqs}`,
    notificationFunctions: stack.functions.map((fn) => fn.name),
  };
}

function awsTarget(stage: string, region: string): Target {
  return {
    sqs: new SQSClient({ region }),
    lambda: new LambdaClient({ region }),
    location: `AWS region ${region}`,
    notificationFunctions: pipelineFunctionNames(SERVICE_NAME, stage),
  };
}

function describe(result: RedriveResult): string {
  const status = result.status.padEnd(13);
  const keys = result.objectKeys.length > 0 ? result.objectKeys.join(', ') : '(no object key)';
  const targets = result.targets.map((target) => target.split(':').pop()).join(' + ') || '-';
  const detail = result.detail === undefined ? '' : `  (${result.detail})`;
  return `${status} ${result.queueName}  ${targets}  ${keys}${detail}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stage: { type: 'string', default: 'dev' },
      region: { type: 'string' },
      limit: { type: 'string', default: '100' },
      'dry-run': { type: 'boolean', default: false },
      'data-dir': { type: 'string', default: '.local-data' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  // Digits only: Number() would also take "1e3", "0x10" and " 7".
  const limit = /^\d+$/.test(values.limit) ? Number(values.limit) : Number.NaN;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RedriveError(
      `--limit must be a whole number of at least 1, not ${JSON.stringify(values.limit)}`,
    );
  }

  const stage = values.stage;
  const target =
    stage === 'local'
      ? localTarget(path.resolve(values['data-dir']))
      : awsTarget(stage, values.region ?? process.env.AWS_REGION ?? 'us-east-1');
  const queues = failureQueueNames(SERVICE_NAME, stage);

  try {
    const results = await redrive({
      ...target,
      queueNames: [queues.failedInvocations, queues.undeliveredEvents],
      dryRun: values['dry-run'],
      limit,
      log: (line) => console.log(line),
    });
    for (const result of results) console.log(describe(result));

    const count = (status: RedriveResult['status']) =>
      results.filter((result) => result.status === status).length;
    console.log(
      values['dry-run']
        ? `dry run: ${count('would-redrive')} would be re-driven, ${count('skipped')} skipped`
        : `${count('redriven')} re-driven, ${count('failed')} failed (still queued), ${count('skipped')} skipped (still queued)`,
    );
    return count('failed') > 0 ? 1 : 0;
  } finally {
    target.sqs.destroy();
    target.lambda.destroy();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof RedriveError ? `redrive: ${error.message}` : error);
    process.exitCode = 1;
  },
);
