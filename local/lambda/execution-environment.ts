import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { FunctionError, InvocationResult, LocalFunctionConfig } from './types';

const BOOTSTRAP = path.join(__dirname, 'runtime-bootstrap.cjs');

/** Lambda allows 10 seconds for the init phase of an on-demand function. */
export const DEFAULT_INIT_TIMEOUT_MS = 10_000;

/** Receives the environment's output, one line at a time. */
export type LogSink = (line: string) => void;

/** Every message also carries the child's peak resident memory so far, in MB. */
type ChildMessage = { maxMemoryUsedMb?: number } & (
  | { type: 'ready' }
  | { type: 'init-error'; error: FunctionError }
  | { type: 'result'; requestId: string; ok: true; value: unknown }
  | { type: 'result'; requestId: string; ok: false; error: FunctionError }
);

interface PendingInvocation {
  requestId: string;
  startedAt: number;
  timer: NodeJS.Timeout;
  resolve: (result: InvocationResult) => void;
}

/**
 * One execution environment: a child process that loads the handler once and runs one invocation at a time.
 * A timeout, a crash or an unhandled error ends the process, as Lambda discards such an environment.
 */
export class ExecutionEnvironment {
  readonly id = randomUUID().replaceAll('-', '');
  readonly logStreamName =
    `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${this.id}`;
  private readonly child: ChildProcess;
  private readonly ready: Promise<FunctionError | undefined>;
  private pending: PendingInvocation | undefined;
  private maxMemoryUsedMb: number | undefined;
  private exited = false;

  constructor(
    private readonly config: LocalFunctionConfig,
    private readonly log: LogSink,
    initTimeoutMs = DEFAULT_INIT_TIMEOUT_MS,
  ) {
    this.child = fork(BOOTSTRAP, [], {
      cwd: config.codeDirectory,
      env: {
        ...config.environment,
        LAMBDA_TASK_ROOT: config.codeDirectory,
        _HANDLER: config.handler,
        AWS_LAMBDA_LOG_STREAM_NAME: this.logStreamName,
      },
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream) createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', log);
    }

    this.ready = new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.kill();
        resolve({
          errorType: 'Runtime.InitTimeout',
          errorMessage: `Init phase of ${config.name} timed out after ${initTimeoutMs / 1000} seconds`,
          stackTrace: [],
        });
      }, initTimeoutMs);
      this.child.on('message', (message: ChildMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(undefined);
        } else if (message.type === 'init-error') {
          clearTimeout(timer);
          resolve(message.error);
        } else if (message.type === 'result') {
          this.maxMemoryUsedMb = message.maxMemoryUsedMb;
          this.settle(message.requestId, message.ok ? { ok: true, value: message.value } : message);
        }
      });
      this.child.on('exit', (code, signal) => {
        this.exited = true;
        clearTimeout(timer);
        const status = signal ? `signal ${signal}` : `exit status ${code}`;
        const error: FunctionError = {
          errorType: 'Runtime.ExitError',
          errorMessage: `Runtime exited with error: ${status}`,
          stackTrace: [],
        };
        resolve(error);
        if (this.pending) this.settle(this.pending.requestId, { ok: false, error });
      });
      this.child.on('error', (error) => log(`execution environment error: ${error.message}`));
    });
  }

  get isAlive(): boolean {
    return !this.exited;
  }

  get isBusy(): boolean {
    return this.pending !== undefined;
  }

  /** Runs one invocation; never rejects: failures come back as `ok: false` results with Lambda's error shape. */
  async invoke(event: unknown, requestId: string = randomUUID()): Promise<InvocationResult> {
    const startedAt = Date.now();
    const initError = await this.ready;
    if (initError !== undefined) return { ok: false, requestId, error: initError, durationMs: 0 };
    if (this.exited) {
      return {
        ok: false,
        requestId,
        error: {
          errorType: 'Runtime.ExitError',
          errorMessage: 'Runtime exited before the invocation',
          stackTrace: [],
        },
        durationMs: 0,
      };
    }
    if (this.pending) throw new Error(`execution environment ${this.id} is already running an invocation`);

    const timeoutMs = this.config.timeoutSeconds * 1000;
    const deadlineMs = Date.now() + timeoutMs;
    this.log(`START RequestId: ${requestId} Version: $LATEST`);
    const result = await new Promise<InvocationResult>((resolve) => {
      const timer = setTimeout(() => {
        // Lambda stops a timed-out environment; a new invocation gets a fresh one.
        this.settle(requestId, {
          ok: false,
          error: {
            errorType: 'Sandbox.Timedout',
            errorMessage: `${new Date().toISOString()} ${requestId} Task timed out after ${this.config.timeoutSeconds.toFixed(2)} seconds`,
            stackTrace: [],
          },
        });
        this.kill();
      }, timeoutMs);
      this.pending = { requestId, startedAt, timer, resolve };
      this.child.send({
        type: 'invoke',
        requestId,
        event,
        deadlineMs,
        context: this.contextFields(requestId),
      });
    });
    this.log(`END RequestId: ${requestId}`);
    const status = result.ok ? '' : `\tStatus: ${result.error.errorType}`;
    const maxMemory =
      this.maxMemoryUsedMb === undefined ? '' : `\tMax Memory Used: ${this.maxMemoryUsedMb} MB`;
    this.log(
      `REPORT RequestId: ${requestId}\tDuration: ${result.durationMs} ms\tMemory Size: ${this.config.memorySize} MB` +
        `${maxMemory}${status}`,
    );
    return result;
  }

  private contextFields(requestId: string): Record<string, unknown> {
    return {
      awsRequestId: requestId,
      functionName: this.config.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: this.config.arn,
      memoryLimitInMB: String(this.config.memorySize),
      logGroupName: `/aws/lambda/${this.config.name}`,
      logStreamName: this.logStreamName,
    };
  }

  private settle(
    requestId: string,
    outcome: { ok: true; value: unknown } | { ok: false; error: FunctionError },
  ): void {
    const pending = this.pending;
    if (pending === undefined || pending.requestId !== requestId) return;
    clearTimeout(pending.timer);
    this.pending = undefined;
    const durationMs = Date.now() - pending.startedAt;
    pending.resolve(
      outcome.ok
        ? { ok: true, requestId, value: outcome.value, durationMs }
        : { ok: false, requestId, error: outcome.error, durationMs },
    );
  }

  /** Ends the child process at once (SIGKILL), as Lambda does on timeout or shutdown. */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** Resolves once the child process has exited. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.kill();
    await exited;
  }
}
