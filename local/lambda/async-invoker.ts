import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FunctionPool } from './function-pool';
import type { FunctionError, InvocationResult } from './types';

/**
 * The error document of the Node.js runtime, as Lambda puts it into an invocation record's `responsePayload`
 * ("Lambda function errors in Node.js" in the Lambda developer guide). Errors that Lambda itself detects, such as
 * a timeout or a process exit, carry no `trace`.
 */
export interface RuntimeErrorPayload {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

/**
 * Condition under which an event went to the on-failure destination. `RetriesExhausted` and `EventAgeExceeded`
 * are Lambda's. `StackStopped` exists only locally: the stack stopped while the event ran or waited for a retry.
 */
export type FailureCondition = 'RetriesExhausted' | 'EventAgeExceeded' | 'StackStopped';

/**
 * The record Lambda sends to an on-failure destination after the last retry of an asynchronous invocation
 * (the "invocation record" of Lambda's asynchronous invocation documentation).
 */
export interface InvocationRecord {
  version: '1.0';
  timestamp: string;
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FailureCondition;
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext: { statusCode: 200; executedVersion: '$LATEST'; functionError: 'Unhandled' };
  responsePayload: RuntimeErrorPayload;
}

/** Sends an invocation record to an on-failure destination (the ARN of an SQS queue). */
export type DestinationSender = (destinationArn: string, record: InvocationRecord) => Promise<void>;

/** A function's asynchronous invocation settings (the template's AWS::Lambda::EventInvokeConfig). */
export interface AsyncInvokeConfig {
  /** Retries after the first failed attempt, 0 to 2. */
  maximumRetryAttempts: number;
  /** Age in seconds after which no further attempt starts; Lambda's default is 21600. */
  maximumEventAgeSeconds?: number;
  /** ARN of the on-failure destination. */
  onFailureDestination?: string;
}

export interface AsyncInvokerOptions {
  /** Folder for invocation records of events whose retries ran out; one subfolder per function. */
  failureDirectory: string;
  /** Delivers records to on-failure destinations; without it, records are only written to the failure folder. */
  sendToDestination?: DestinationSender;
  /**
   * Wait before each retry, in milliseconds. Lambda waits about 1 and 2 minutes; locally the default is 1 and
   * 2 seconds so a failing image reaches the failure store quickly.
   */
  retryDelaysMs?: number[];
}

/** Emitted once per event with its final outcome. */
export interface AsyncOutcome {
  functionKey: string;
  requestId: string;
  event: unknown;
  attempts: number;
  result: InvocationResult;
  /** Path of the stored invocation record, set when the retries ran out. */
  failureRecordPath?: string;
  /** On-failure destination the record was sent to. */
  destinationArn?: string;
}

export const DEFAULT_RETRY_DELAYS_MS = [1000, 2000];
const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21_600;

/** An event that has not reached its outcome yet: running, or waiting for a retry. */
interface PendingEvent {
  pool: FunctionPool;
  event: unknown;
  requestId: string;
  config: AsyncInvokeConfig;
  log: (line: string) => void;
  attempts: number;
  lastError?: FunctionError;
}

/**
 * Converts the local runtime's error into the Node.js runtime's error document, whose `trace` is the lines of
 * `error.stack`: the `Type: message` line, then the indented `at` frames.
 * NOTE: the local runtime keeps only the trimmed frames, so the first line is rebuilt from the type and message.
 * A message with line breaks or a custom `toString` therefore comes out differently from Lambda's.
 */
function runtimeErrorPayload(error: FunctionError): RuntimeErrorPayload {
  if (error.stackTrace.length === 0) return { errorType: error.errorType, errorMessage: error.errorMessage };
  const heading = error.errorMessage === '' ? error.errorType : `${error.errorType}: ${error.errorMessage}`;
  return {
    errorType: error.errorType,
    errorMessage: error.errorMessage,
    trace: [heading, ...error.stackTrace.map((frame) => `    ${frame}`)],
  };
}

/**
 * Builds the record Lambda sends to an on-failure destination, in the shape of the Lambda developer guide's
 * example: `version`, `timestamp`, `requestContext`, the original event as `requestPayload`, and the error.
 */
export function invocationRecord(
  functionArn: string,
  requestId: string,
  event: unknown,
  attempts: number,
  condition: FailureCondition,
  error: FunctionError,
): InvocationRecord {
  return {
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: {
      requestId,
      functionArn: `${functionArn}:$LATEST`,
      condition,
      approximateInvokeCount: attempts,
    },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: runtimeErrorPayload(error),
  };
}

/**
 * Lambda's asynchronous invocation: the caller gets no result; a failed attempt is retried up to the function's
 * maximum retry attempts, and an event whose retries ran out is written to the failure store.
 * Emits 'outcome' with an AsyncOutcome for every event.
 */
export class AsyncInvoker extends EventEmitter<{ outcome: [AsyncOutcome] }> {
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private readonly pending = new Map<string, PendingEvent>();
  private closed = false;

  constructor(private readonly options: AsyncInvokerOptions) {
    super();
  }

  /**
   * Queues an event for a function and returns at once, like `InvocationType: Event`. `config` is the function's
   * asynchronous invocation settings, or only its maximum retry attempts.
   */
  invokeAsync(
    pool: FunctionPool,
    event: unknown,
    config: AsyncInvokeConfig | number,
    log: (line: string) => void,
  ): string {
    const requestId = randomUUID();
    const settings = typeof config === 'number' ? { maximumRetryAttempts: config } : config;
    this.inFlight += 1;
    void this.run(pool, event, requestId, settings, log).finally(() => {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    });
    return requestId;
  }

  /** Resolves when no event is running or waiting for a retry. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits `ms`, or less when the invoker closes. */
  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, resolve);
    });
  }

  private async run(
    pool: FunctionPool,
    event: unknown,
    requestId: string,
    config: AsyncInvokeConfig,
    log: (line: string) => void,
  ): Promise<void> {
    const delays = this.options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    const receivedAt = Date.now();
    const maximumAgeMs = (config.maximumEventAgeSeconds ?? DEFAULT_MAXIMUM_EVENT_AGE_SECONDS) * 1000;
    const pending: PendingEvent = { pool, event, requestId, config, log, attempts: 0 };
    if (this.closed) {
      // Accepted after close (the Invoke endpoint stops after the invoker): recorded, not run.
      await this.deliverFailure(pending, this.stoppedRecord(pending));
      return;
    }
    this.pending.set(requestId, pending);
    let attempts = 0;
    let condition: FailureCondition = 'RetriesExhausted';
    let result: InvocationResult | undefined;
    // Lambda keeps the request id of an asynchronous event across its retries.
    while (!this.closed) {
      attempts += 1;
      pending.attempts = attempts;
      try {
        result = await pool.invoke(event, requestId);
      } catch (error) {
        // Only a stopped pool rejects: the stack is shutting down, and close() has recorded the event.
        if (!this.closed) log(`async invocation ${requestId} dropped: ${(error as Error).message}`);
        return;
      }
      if (this.closed) return;
      if (!result.ok) pending.lastError = result.error;
      if (result.ok || attempts > config.maximumRetryAttempts) break;
      const wait = delays[Math.min(attempts - 1, delays.length - 1)] ?? 0;
      if (Date.now() + wait - receivedAt > maximumAgeMs) {
        condition = 'EventAgeExceeded';
        break;
      }
      log(
        `async invocation ${requestId} failed (${result.error.errorType}: ${result.error.errorMessage}); retry ${attempts} of ${config.maximumRetryAttempts} in ${wait} ms`,
      );
      await this.delay(wait);
    }
    if (result === undefined || this.closed) return;
    this.pending.delete(requestId);

    const outcome: AsyncOutcome = { functionKey: pool.config.key, requestId, event, attempts, result };
    if (!result.ok) {
      const record = invocationRecord(pool.config.arn, requestId, event, attempts, condition, result.error);
      Object.assign(outcome, await this.deliverFailure(pending, record));
    }
    this.emit('outcome', outcome);
  }

  /** Stores an invocation record in the failure folder and sends it to the on-failure destination, if any. */
  private async deliverFailure(
    pending: PendingEvent,
    record: InvocationRecord,
  ): Promise<{ failureRecordPath: string; destinationArn?: string }> {
    const { requestId, config, log } = pending;
    const { condition, approximateInvokeCount } = record.requestContext;
    const failureRecordPath = await this.storeFailure(pending.pool, record);
    log(
      `async invocation ${requestId} failed after ${approximateInvokeCount} attempts (${condition}); event stored in ${failureRecordPath}`,
    );
    if (config.onFailureDestination === undefined || this.options.sendToDestination === undefined) {
      return { failureRecordPath };
    }
    try {
      await this.options.sendToDestination(config.onFailureDestination, record);
      log(`async invocation ${requestId}: invocation record sent to ${config.onFailureDestination}`);
      return { failureRecordPath, destinationArn: config.onFailureDestination };
    } catch (error) {
      // Lambda, too, drops a record it cannot deliver; the failure folder still has it.
      log(
        `async invocation ${requestId}: sending the invocation record to ${config.onFailureDestination} failed: ${(error as Error).message}`,
      );
      return { failureRecordPath };
    }
  }

  private stoppedRecord(pending: PendingEvent): InvocationRecord {
    return invocationRecord(
      pending.pool.config.arn,
      pending.requestId,
      pending.event,
      pending.attempts,
      'StackStopped',
      pending.lastError ?? {
        errorType: 'StackStopped',
        errorMessage: 'the local stack stopped before this event finished its first attempt',
        stackTrace: [],
      },
    );
  }

  private async storeFailure(pool: FunctionPool, record: InvocationRecord): Promise<string> {
    const { timestamp, requestContext } = record;
    const requestId = requestContext.requestId;
    const directory = path.join(this.options.failureDirectory, pool.config.key);
    await mkdir(directory, { recursive: true });
    const file = path.join(directory, `${timestamp.replace(/[:.]/g, '-')}-${requestId}.json`);
    await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
    return file;
  }

  /**
   * Stops retrying. Every event that has not reached its outcome (running, or waiting for a retry) is recorded
   * like an event whose retries ran out, with the local condition `StackStopped`, so `npm run redrive` can deliver
   * it after a restart. Lambda itself never stops, so it has no such condition.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const [timer, wake] of this.timers) {
      clearTimeout(timer);
      wake();
    }
    this.timers.clear();
    const stopped = [...this.pending.values()];
    this.pending.clear();
    await Promise.all(stopped.map((pending) => this.deliverFailure(pending, this.stoppedRecord(pending))));
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}

/** A stored invocation record with the function it belongs to. */
export interface StoredFailure {
  functionKey: string;
  file: string;
  record: InvocationRecord;
}

/** Reads every invocation record under a failure store folder; unreadable files are skipped. */
export async function readFailureRecords(failureDirectory: string): Promise<StoredFailure[]> {
  let functionKeys: string[];
  try {
    functionKeys = await readdir(failureDirectory);
  } catch {
    return [];
  }
  const failures: StoredFailure[] = [];
  for (const functionKey of functionKeys) {
    const directory = path.join(failureDirectory, functionKey);
    const files = await readdir(directory).catch(() => [] as string[]);
    for (const name of files.filter((file) => file.endsWith('.json'))) {
      const file = path.join(directory, name);
      try {
        failures.push({
          functionKey,
          file,
          record: JSON.parse(await readFile(file, 'utf8')) as InvocationRecord,
        });
      } catch {
        // A record being written right now is read on the next poll.
      }
    }
  }
  return failures;
}
