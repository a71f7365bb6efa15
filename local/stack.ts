import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startLocalApi } from './api/gateway';
import { readRestApiModel } from './api/template-model';
import { startDynamoDbServer } from './dynamodb/dynamodb-server';
import { FunctionLogs } from './function-logs';
import { AsyncInvoker, type AsyncOutcome, DEFAULT_RETRY_DELAYS_MS } from './lambda/async-invoker';
import { prepareFunctionCode } from './lambda/function-code';
import { functionEnvironment, localNodeIsOlderThan } from './lambda/function-environment';
import { FunctionPool } from './lambda/function-pool';
import { startInvokeServer } from './lambda/invoke-server';
import type { LocalFunctionConfig } from './lambda/types';
import { TEMPLATE_FILE } from './packaging';
import { PortInUseError } from './ports';
import { LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, startS3Server } from './s3/s3-server';
import { NotificationRouter } from './sns/notification-router';
import { startSqsServer } from './sqs/sqs-server';
import { readRunningStack, removeStackFile, type StackDescription, writeStackFile } from './stack-file';
import type { PseudoParameters } from './template/intrinsics';
import {
  type FunctionModel,
  loadTemplateFile,
  readServiceModel,
  type ServiceModel,
} from './template/service-model';
import { startWebServer } from './web/web-server';

/** Default ports of `npm start`. */
export const DEFAULT_PORTS = { s3: 4569, dynamodb: 4567, rekognition: 4570, api: 4571, web: 4572 } as const;

/** Account id the local ARNs carry; it is not a real account. */
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface LocalRekognition {
  url: string;
  close(): Promise<void>;
}

/** Starts the loopback Rekognition endpoint; resolves once its model is loaded. */
export type RekognitionStarter = (options: {
  port?: number;
  s3: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  log?: (line: string) => void;
}) => Promise<LocalRekognition>;

export interface LocalStackOptions {
  /** Project root: the template and zips are read from `<projectDir>/.serverless` unless `templatePath` is set. */
  projectDir: string;
  /** Folder for S3 objects, DynamoDB data, function code, logs and failures. Default `<projectDir>/.local-data`. */
  dataDir?: string;
  templatePath?: string;
  region?: string;
  /**
   * Ports on 127.0.0.1; 0 picks a free port. `web` (the page server) defaults to 0 when `api` is 0, so callers that
   * ask for a free API port do not collide on the page's fixed default.
   */
  /** SQS and Lambda (the Invoke API for `npm run redrive`) take a free port unless one is given. */
  ports?: {
    s3?: number;
    dynamodb?: number;
    rekognition?: number;
    api?: number;
    web?: number;
    sqs?: number;
    lambda?: number;
  };
  /** Most execution environments per function. */
  maxConcurrency?: number;
  retryDelaysMs?: number[];
  /** Function output on the console as well as in the log files. */
  verbose?: boolean;
  /** Stack messages (start, failures); default console.log. */
  log?: (line: string) => void;
  /** `false` starts no Rekognition endpoint (AWS_ENDPOINT_URL_REKOGNITION is then unset). */
  rekognition?: RekognitionStarter | false;
  /** Run a function from a folder instead of its packaged zip, by function key. */
  codeDirectories?: Record<string, string>;
  /** Environment variables added to every function, over the template's. */
  functionEnvironment?: Record<string, string>;
  /** When S3's s3:TestEvent is sent: when the notification configuration changed since the last start (default). */
  testEvents?: 'on-change' | 'always' | 'never';
  /** Write `<dataDir>/stack.json` so other commands find this stack (default true). */
  writeStackFile?: boolean;
}

/** A function and where its invocations go. */
export interface StackFunction {
  model: FunctionModel;
  pool: FunctionPool;
  logFile: string;
}

/** Emitted for each event handed to a function, so tests can deliver the same notification twice. */
export interface Delivery {
  functionName: string;
  event: unknown;
  requestId: string;
}

export interface LocalStack {
  description: StackDescription;
  model: ServiceModel;
  functions: StackFunction[];
  events: EventEmitter<{ delivery: [Delivery]; outcome: [AsyncOutcome] }>;
  /** Hands an event to a function for asynchronous invocation, as SNS does. Returns the request id. */
  deliver(functionName: string, event: unknown): string;
  /** Resolves when no invocation is running or waiting for a retry. */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

/** Error raised when the stack cannot start. Its message names what to change. */
export class StackStartError extends Error {
  override name = 'StackStartError';
}

async function loadDefaultRekognition(): Promise<RekognitionStarter> {
  // Loaded on demand: the model and its TensorFlow backend are only needed when the endpoint starts.
  const module = (await import('./rekognition')) as { startLocalRekognition: RekognitionStarter };
  return module.startLocalRekognition;
}

/** Serverless names functions `<service>-<stage>-<key>` and the stack `<service>-<stage>`. */
function serverlessStackName(model: ServiceModel): string | undefined {
  const named = model.functions.find((fn) => fn.name.endsWith(`-${fn.key}`));
  return named?.name.slice(0, -named.key.length - 1);
}

function pickRawBucket(model: ServiceModel): string {
  const notifying = model.buckets.filter((bucket) => bucket.notifications.length > 0);
  const fromEnvironment = model.functions.map((fn) => fn.environment.RAW_BUCKET_NAME).find(Boolean);
  const raw = fromEnvironment ?? notifying[0]?.name;
  if (raw === undefined) {
    throw new StackStartError(
      'the template has no bucket with a NotificationConfiguration, so nothing triggers the functions',
    );
  }
  return raw;
}

function notificationDigest(model: ServiceModel, bucket: string): string {
  const notifications = model.buckets.find((candidate) => candidate.name === bucket)?.notifications ?? [];
  return createHash('sha256').update(JSON.stringify(notifications)).digest('hex');
}

/** Decides whether to send s3:TestEvent for a bucket, and remembers the configuration it was sent for. */
async function shouldSendTestEvent(
  dataDir: string,
  bucket: string,
  digest: string,
  mode: NonNullable<LocalStackOptions['testEvents']>,
): Promise<boolean> {
  if (mode === 'never') return false;
  const file = path.join(dataDir, 's3-notification-configurations.json');
  const applied = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as Record<string, string>;
  const changed = applied[bucket] !== digest;
  applied[bucket] = digest;
  await writeFile(file, `${JSON.stringify(applied, null, 2)}\n`);
  return mode === 'always' || changed;
}

/**
 * Starts the local stack from a compiled template: S3 (s3rver) and DynamoDB (dynalite) with the template's buckets
 * and tables, the Rekognition endpoint, and the functions behind the raw bucket's notifications.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const dataDir = path.resolve(options.dataDir ?? path.join(options.projectDir, '.local-data'));
  const templatePath = path.resolve(
    options.templatePath ?? path.join(options.projectDir, '.serverless', TEMPLATE_FILE),
  );
  const region = options.region ?? 'us-east-1';
  const ports = { ...DEFAULT_PORTS, ...options.ports };

  const running = readRunningStack(dataDir);
  if (running !== undefined && running.pid !== process.pid) {
    throw new StackStartError(
      `a local stack is already running on ${dataDir} (pid ${running.pid}, S3 at ${running.endpoints.s3}): ` +
        'use it, stop it, or pass another data folder',
    );
  }
  await mkdir(dataDir, { recursive: true });

  const template = loadTemplateFile(templatePath);
  const packageDir = path.dirname(templatePath);
  const draft = readServiceModel(template, {
    pseudo: { region, accountId: LOCAL_ACCOUNT_ID, partition: 'aws', stackName: 'local-stack' },
    packageDir,
  });
  const pseudo: PseudoParameters = {
    region,
    accountId: LOCAL_ACCOUNT_ID,
    partition: 'aws',
    stackName: serverlessStackName(draft) ?? 'local-stack',
  };
  const model = readServiceModel(template, { pseudo, packageDir });
  for (const warning of model.warnings) log(`warning: ${warning}`);
  const newerRuntimes = [...new Set(model.functions.map((fn) => fn.runtime).filter(localNodeIsOlderThan))];
  if (newerRuntimes.length > 0) {
    log(
      `note: the template declares ${newerRuntimes.join(', ')}; functions run on this machine's Node.js ${process.version}`,
    );
  }
  const rawBucket = pickRawBucket(model);
  const table = model.tables[0];
  if (table === undefined)
    throw new StackStartError(`the template ${templatePath} defines no DynamoDB table`);
  const thumbnailBucket =
    model.functions.map((fn) => fn.environment.THUMBNAIL_BUCKET_NAME).find(Boolean) ??
    model.buckets.find((bucket) => bucket.name !== rawBucket)?.name ??
    null;

  const codeDirectories: Record<string, string> = {};
  await Promise.all(
    model.functions.map(async (fn) => {
      const override = options.codeDirectories?.[fn.key];
      if (override !== undefined) {
        codeDirectories[fn.key] = path.resolve(override);
        return;
      }
      if (fn.codeZip === undefined)
        throw new StackStartError(`${fn.logicalId} has no Code.S3Key naming its zip`);
      const directory = path.join(dataDir, 'functions', fn.key);
      if (await prepareFunctionCode(fn.codeZip, directory))
        log(`extracted ${path.basename(fn.codeZip)} for ${fn.key}`);
      codeDirectories[fn.key] = directory;
    }),
  );

  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((error: unknown) => log(`error while stopping: ${(error as Error).message}`));
    }
  };

  const logs = new FunctionLogs(path.join(dataDir, 'logs'), options.verbose ?? false);
  closers.push(() => logs.close());

  try {
    // The SDK writes into credential objects it is given, so each user gets its own copy.
    const credentials = { accessKeyId: LOCAL_ACCESS_KEY_ID, secretAccessKey: LOCAL_SECRET_ACCESS_KEY };
    const dynamodb = await startDynamoDbServer({
      port: ports.dynamodb,
      portOption: '--dynamodb-port',
      directory: path.join(dataDir, 'dynamodb'),
      region,
      tables: model.tables,
      credentials: { ...credentials },
    });
    closers.push(dynamodb.close);
    for (const name of dynamodb.createdTables) log(`created table ${name}`);

    // The template's queues, among them the functions' on-failure destination; kept between runs like S3's data.
    const sqs = await startSqsServer({
      port: options.ports?.sqs ?? 0,
      portOption: '--sqs-port',
      region,
      accountId: LOCAL_ACCOUNT_ID,
      directory: path.join(dataDir, 'sqs'),
      queues: model.queues.map((queue) => ({
        name: queue.name,
        settings: {
          ...(queue.visibilityTimeoutSeconds === undefined
            ? {}
            : { visibilityTimeoutSeconds: queue.visibilityTimeoutSeconds }),
          ...(queue.messageRetentionSeconds === undefined
            ? {}
            : { messageRetentionSeconds: queue.messageRetentionSeconds }),
        },
      })),
    });
    closers.push(sqs.close);

    // Notifications are routed once the functions exist, so S3 keeps requests waiting until then.
    let router: NotificationRouter | undefined;
    let openGate: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const s3 = await startS3Server({
      port: ports.s3,
      portOption: '--s3-port',
      directory: path.join(dataDir, 's3'),
      buckets: model.buckets.map((bucket) => bucket.name),
      beforeRequest: gate,
      onObjectChange: (change) => router?.onObjectChange(change),
    });
    closers.push(s3.close);

    // The API's requests to S3 wait behind the same start-up gate as every other S3 request.
    let api: { url: string; apiKey: string } | null = null;
    const apiModel = readRestApiModel(template, pseudo);
    if (apiModel !== undefined) {
      const localApi = await startLocalApi({
        api: apiModel,
        port: ports.api,
        portOption: '--api-port',
        endpoints: { s3: s3.endpoint, dynamodb: dynamodb.endpoint },
        region,
        credentials: { ...credentials },
        log: logs.sink('api'),
      });
      closers.push(() => localApi.close());
      for (const warning of localApi.warnings) log(`warning: ${warning}`);
      for (const method of localApi.unsupported)
        log(`warning: API method not served: ${JSON.stringify(method)}`);
      api = { url: localApi.url, apiKey: localApi.apiKey };
    }

    // The web page calls only the API, so it is served only when there is one.
    let web: { url: string } | null = null;
    if (api !== null) {
      const webPort = options.ports?.web ?? (options.ports?.api === 0 ? 0 : DEFAULT_PORTS.web);
      const webServer = await startWebServer({ api, port: webPort, portOption: '--web-port' });
      closers.push(() => webServer.close());
      web = { url: webServer.url };
    }

    let rekognitionUrl: string | null = null;
    if (options.rekognition !== false) {
      const start = options.rekognition ?? (await loadDefaultRekognition());
      const startedAt = Date.now();
      const rekognition = await start({
        port: ports.rekognition,
        s3: { endpoint: s3.endpoint, region, credentials: { ...credentials } },
        log: logs.sink('rekognition'),
      }).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
        throw new PortInUseError(
          `port ${ports.rekognition} for Rekognition is already in use on 127.0.0.1: stop the process that uses it or pass --rekognition-port with a free port`,
        );
      });
      closers.push(() => rekognition.close());
      rekognitionUrl = rekognition.url;
      log(`Rekognition model loaded in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    }

    // Serves Lambda's Invoke API for `npm run redrive`; events are accepted once `deliver` exists below.
    let deliverLater: ((functionName: string, event: unknown) => string) | undefined;
    const invokeServer = await startInvokeServer({
      port: options.ports?.lambda ?? 0,
      portOption: '--lambda-port',
      functions: model.functions.map((fn) => ({ name: fn.name, arn: fn.arn })),
      invokeAsync: (functionName, event) => {
        if (deliverLater === undefined)
          throw new Error('the local stack is still starting; retry in a moment');
        return deliverLater(functionName, event);
      },
    });
    closers.push(invokeServer.close);

    const endpoints = {
      s3: s3.endpoint,
      dynamodb: dynamodb.endpoint,
      rekognition: rekognitionUrl,
      sqs: sqs.endpoint,
      lambda: invokeServer.endpoint,
    };

    const functions: StackFunction[] = model.functions.map((fn) => {
      const config: LocalFunctionConfig = {
        name: fn.name,
        key: fn.key,
        arn: fn.arn,
        codeDirectory: codeDirectories[fn.key] ?? '',
        handler: fn.handler,
        runtime: fn.runtime,
        memorySize: fn.memorySize,
        timeoutSeconds: fn.timeoutSeconds,
        environment: functionEnvironment(fn, pseudo, endpoints, options.functionEnvironment ?? {}),
      };
      const pool = new FunctionPool(config, logs.sink(fn.key), {
        maxConcurrency: options.maxConcurrency ?? 2,
      });
      return { model: fn, pool, logFile: logs.filePath(fn.key) };
    });
    closers.push(async () => {
      await Promise.all(functions.map((fn) => fn.pool.close()));
    });

    const failureDirectory = path.join(dataDir, 'failed');
    const invoker = new AsyncInvoker({
      failureDirectory,
      retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
      sendToDestination: async (destinationArn, record) => {
        const queue = model.queues.find((candidate) => candidate.arn === destinationArn);
        if (queue === undefined) throw new Error(`${destinationArn} is not a queue of the template`);
        sqs.sendMessage(queue.name, JSON.stringify(record));
      },
    });
    closers.push(async () => invoker.close());
    const events = new EventEmitter<{ delivery: [Delivery]; outcome: [AsyncOutcome] }>();
    invoker.on('outcome', (outcome) => {
      events.emit('outcome', outcome);
      if (!outcome.result.ok) {
        const { errorType, errorMessage } = outcome.result.error;
        log(
          `${outcome.functionKey} failed after ${outcome.attempts} attempts: ${errorType}: ${errorMessage}`,
        );
        log(`  event stored in ${outcome.failureRecordPath}`);
        if (outcome.destinationArn !== undefined)
          log(`  invocation record sent to ${outcome.destinationArn}`);
      }
    });

    const deliver = (functionName: string, event: unknown): string => {
      const target = functions.find((fn) => fn.model.name === functionName);
      if (target === undefined) throw new Error(`function ${functionName} is not part of the template`);
      const sink = logs.sink(target.model.key);
      const requestId = invoker.invokeAsync(target.pool, event, target.model, sink);
      events.emit('delivery', { functionName, event, requestId });
      return requestId;
    };
    router = new NotificationRouter(model, deliver);
    deliverLater = deliver;

    const digest = notificationDigest(model, rawBucket);
    if (await shouldSendTestEvent(dataDir, rawBucket, digest, options.testEvents ?? 'on-change')) {
      const count = router.sendTestEvents(rawBucket);
      if (count > 0)
        log(
          `sent s3:TestEvent for ${rawBucket} to ${count} destination(s): its notification configuration is new`,
        );
    }

    const description: StackDescription = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      dataDir,
      region,
      endpoints,
      credentials,
      rawBucket,
      thumbnailBucket,
      tableName: table.name,
      api,
      web,
      buckets: model.buckets.map((bucket) => bucket.name),
      functions: model.functions.map((fn) => ({ key: fn.key, name: fn.name })),
      failureDirectory,
      logDirectory: path.join(dataDir, 'logs'),
    };
    if (options.writeStackFile ?? true) {
      await writeStackFile(description);
      closers.unshift(() => removeStackFile(dataDir));
    }
    openGate();

    let closing: Promise<void> | undefined;
    return {
      description,
      model,
      functions,
      events,
      deliver,
      whenIdle: () => invoker.whenIdle(),
      close: () => {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * Keeps an error from a request that was still in flight when the stack began to close (dynalite's "Database is
 * closed") from ending the process before the clean-up has run. Call it when shutdown starts.
 */
export function tolerateRejectionsDuringShutdown(log: (line: string) => void): void {
  let reported = 0;
  const report = (error: unknown) => {
    reported += 1;
    if (reported <= 3)
      log(`ignored during shutdown: ${error instanceof Error ? error.message : String(error)}`);
  };
  process.on('unhandledRejection', report);
  process.on('uncaughtException', report);
}
