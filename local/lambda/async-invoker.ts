import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FunctionPool } from './function-pool';
import type { FunctionError, InvocationResult } from './types';

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
    condition: 'RetriesExhausted';
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext: { statusCode: 200; executedVersion: '$LATEST'; functionError: 'Unhandled' };
  responsePayload: FunctionError;
}

export interface AsyncInvokerOptions {
  /** Folder for invocation records of events whose retries ran out; one subfolder per function. */
  failureDirectory: string;
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
}

export const DEFAULT_RETRY_DELAYS_MS = [1000, 2000];

/**
 * Lambda's asynchronous invocation: the caller gets no result; a failed attempt is retried up to the function's
 * maximum retry attempts, and an event whose retries ran out is written to the failure store.
 * Emits 'outcome' with an AsyncOutcome for every event.
 */
export class AsyncInvoker extends EventEmitter<{ outcome: [AsyncOutcome] }> {
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: AsyncInvokerOptions) {
    super();
  }

  /** Queues an event for a function and returns at once, like `InvocationType: Event`. */
  invokeAsync(
    pool: FunctionPool,
    event: unknown,
    maximumRetryAttempts: number,
    log: (line: string) => void,
  ): string {
    const requestId = randomUUID();
    this.inFlight += 1;
    void this.run(pool, event, requestId, maximumRetryAttempts, log).finally(() => {
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

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private async run(
    pool: FunctionPool,
    event: unknown,
    requestId: string,
    maximumRetryAttempts: number,
    log: (line: string) => void,
  ): Promise<void> {
    const delays = this.options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    let attempts = 0;
    let result: InvocationResult | undefined;
    // Lambda keeps the request id of an asynchronous event across its retries.
    while (!this.closed) {
      attempts += 1;
      try {
        result = await pool.invoke(event, requestId);
      } catch (error) {
        // Only a stopped pool rejects; the stack is shutting down.
        log(`async invocation ${requestId} dropped: ${(error as Error).message}`);
        return;
      }
      if (result.ok || attempts > maximumRetryAttempts) break;
      const wait = delays[Math.min(attempts - 1, delays.length - 1)] ?? 0;
      log(
        `async invocation ${requestId} failed (${result.error.errorType}: ${result.error.errorMessage}); retry ${attempts} of ${maximumRetryAttempts} in ${wait} ms`,
      );
      await this.delay(wait);
    }
    if (result === undefined || this.closed) return;

    const outcome: AsyncOutcome = { functionKey: pool.config.key, requestId, event, attempts, result };
    if (!result.ok) {
      outcome.failureRecordPath = await this.storeFailure(pool, requestId, event, attempts, result.error);
      log(
        `async invocation ${requestId} failed after ${attempts} attempts; event stored in ${outcome.failureRecordPath}`,
      );
    }
    this.emit('outcome', outcome);
  }

  private async storeFailure(
    pool: FunctionPool,
    requestId: string,
    event: unknown,
    attempts: number,
    error: FunctionError,
  ): Promise<string> {
    const timestamp = new Date().toISOString();
    const record: InvocationRecord = {
      version: '1.0',
      timestamp,
      requestContext: {
        requestId,
        functionArn: `${pool.config.arn}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: attempts,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: error,
    };
    const directory = path.join(this.options.failureDirectory, pool.config.key);
    await mkdir(directory, { recursive: true });
    const file = path.join(directory, `${timestamp.replace(/[:.]/g, '-')}-${requestId}.json`);
    await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
    return file;
  }

  /** Drops pending retries; events still running end with their pools. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
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
