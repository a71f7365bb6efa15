import path from 'node:path';
import { parseArgs } from 'node:util';
import { readStackOptions, runCommand, STACK_OPTIONS, STACK_OPTIONS_HELP } from './cli-options';
import { ensurePackaged } from './packaging';
import { type LocalStack, startLocalStack, tolerateRejectionsDuringShutdown } from './stack';
import { invokeLocalEnvironment } from './stack-file';

const USAGE = `Usage: npm start -- [options]

Packages the service for stage "local" when needed, then runs S3, DynamoDB, Rekognition and the functions on
127.0.0.1, wired as the compiled CloudFormation template says. Stop with Ctrl+C.

${STACK_OPTIONS_HELP}`;

function describeStack(stack: LocalStack, startSeconds: number, projectDir: string): string {
  const { description, model } = stack;
  const relative = (target: string) => path.relative(projectDir, target) || '.';
  const raw = model.buckets.find((bucket) => bucket.name === description.rawBucket);
  const notified = new Set<string>();
  for (const notification of raw?.notifications ?? []) {
    const destination = notification.destination;
    if (destination.kind === 'function') notified.add(destination.functionName);
    else {
      const topic = model.topics.find((candidate) => candidate.arn === destination.topicArn);
      for (const subscription of topic?.subscriptions ?? []) notified.add(subscription.functionName);
    }
  }
  const functionKeys = stack.functions
    .filter((fn) => notified.has(fn.model.name))
    .map((fn) => fn.model.key)
    .join(', ');
  const otherBuckets = description.buckets.filter(
    (name) => name !== description.rawBucket && name !== description.thumbnailBucket,
  );
  const environment = Object.entries(invokeLocalEnvironment(description))
    .map(([name, value]) => `${name}=${value}`)
    .join(' \\\n    ');
  const firstFunction = stack.functions[0]?.model.key ?? 'FUNCTION';
  const defaultDataDir = path.resolve(projectDir, '.local-data');
  const dataDirOption =
    path.resolve(description.dataDir) === defaultDataDir
      ? ''
      : ` --data-dir ${relative(description.dataDir)}`;

  const lines = [
    `Local stack is running (started in ${startSeconds.toFixed(1)} s). Press Ctrl+C to stop.`,
    '',
    `  S3           ${description.endpoints.s3}`,
    `    raw bucket        ${description.rawBucket}  (notifies ${functionKeys || 'no function'})`,
    `    thumbnail bucket  ${description.thumbnailBucket ?? '(none)'}`,
  ];
  if (otherBuckets.length > 0) lines.push(`    other buckets     ${otherBuckets.join(', ')}`);
  lines.push(
    `  DynamoDB     ${description.endpoints.dynamodb}`,
    `    table             ${description.tableName}`,
    `  Rekognition  ${description.endpoints.rekognition ?? '(not started)'}`,
    `  API          ${description.api?.url ?? '(the template has no RestApi)'}`,
    `    x-api-key         ${description.api?.apiKey ?? '-'}`,
    `  Web page     ${description.web?.url ?? '(no API to call)'}`,
    `  SQS          ${description.endpoints.sqs}  (failure queues; npm run redrive re-delivers their events)`,
    `  Lambda       ${description.endpoints.lambda}  (Invoke API for npm run redrive)`,
    `  Functions    ${stack.functions.map((fn) => `${fn.model.key} (${fn.model.timeoutSeconds} s, ${fn.model.memorySize} MB)`).join(', ')}`,
    `  Data         ${relative(description.dataDir)}  (logs: ${relative(description.logDirectory)}, failed events: ${relative(description.failureDirectory)})`,
    '',
    'Process images through the pipeline:',
    '  npm run process -- path/to/photos',
    '',
    'Run one function by hand against this stack, on an object already in the raw bucket:',
    `  npm run --silent event -- KEY${dataDirOption} > event.json`,
    `  env ${environment} \\`,
    `    npx sls invoke local --stage local -f ${firstFunction} -p event.json`,
    '(The samples in events/ name objects this stack does not hold, so the functions skip their created events as',
    '"skipped-object-gone", the correct outcome; use npm run event for an object you uploaded.)',
    '',
  );
  return lines.join('\n');
}

async function main(): Promise<number> {
  // The stack's own SDK clients talk only to loopback servers; the SDK's notice about future Node.js support would
  // otherwise interrupt the start-up output. The functions' environments get the same setting (see stack.ts).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const projectDir = process.cwd();
  const { values } = parseArgs({ options: STACK_OPTIONS, allowPositionals: false });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const options = readStackOptions(values, projectDir);
  const log = (line: string) => console.log(line);
  options.log = log;

  const startedAt = Date.now();
  if (options.templatePath === undefined)
    await ensurePackaged(projectDir, 'local', log, values['no-package']);
  const stack = await startLocalStack(options);
  console.log(describeStack(stack, (Date.now() - startedAt) / 1000, projectDir));

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        console.log(`${signal} again: exiting without waiting`);
        process.exit(130);
      }
      stopping = true;
      console.log(`\n${signal}: stopping the local stack`);
      tolerateRejectionsDuringShutdown((line) => console.log(line));
      void stack.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  console.log('local stack stopped');
  return 0;
}

runCommand(main, USAGE, (error) => `npm start failed: ${error.message}`);
