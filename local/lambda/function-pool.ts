import { randomUUID } from 'node:crypto';
import { DEFAULT_INIT_TIMEOUT_MS, ExecutionEnvironment, type LogSink } from './execution-environment';
import type { InvocationResult, LocalFunctionConfig } from './types';

export interface FunctionPoolOptions {
  /** Most execution environments that run at once; further invocations wait in order. */
  maxConcurrency: number;
  initTimeoutMs?: number;
}

/**
 * The execution environments of one function. Warm environments are reused. A new one starts only when all are busy
 * and the concurrency limit allows it, as Lambda scales within a reserved concurrency.
 */
export class FunctionPool {
  private readonly environments: ExecutionEnvironment[] = [];
  private readonly waiting: (() => void)[] = [];
  // Environments handed out but not yet released; `isBusy` alone misses the gap before `invoke` starts.
  private readonly reserved = new Set<ExecutionEnvironment>();
  private closed = false;

  constructor(
    readonly config: LocalFunctionConfig,
    private readonly log: LogSink,
    private readonly options: FunctionPoolOptions,
  ) {
    if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1) {
      throw new Error(`maxConcurrency must be a positive integer, got ${options.maxConcurrency}`);
    }
  }

  /** Number of running execution environments (busy or idle). */
  get size(): number {
    return this.environments.length;
  }

  /** Runs one synchronous invocation; waits for a free environment first. */
  async invoke(event: unknown, requestId: string = randomUUID()): Promise<InvocationResult> {
    const environment = await this.acquire();
    try {
      return await environment.invoke(event, requestId);
    } finally {
      this.release(environment);
    }
  }

  private async acquire(): Promise<ExecutionEnvironment> {
    for (;;) {
      if (this.closed) throw new Error(`function ${this.config.name} is stopped`);
      this.prune();
      const idle = this.environments.find(
        (environment) => !environment.isBusy && !this.reserved.has(environment),
      );
      if (idle) {
        this.reserved.add(idle);
        return idle;
      }
      if (this.environments.length < this.options.maxConcurrency) {
        const environment = new ExecutionEnvironment(
          this.config,
          this.log,
          this.options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS,
        );
        this.environments.push(environment);
        this.reserved.add(environment);
        return environment;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(environment: ExecutionEnvironment): void {
    this.reserved.delete(environment);
    this.prune();
    this.waiting.shift()?.();
  }

  private prune(): void {
    for (let index = this.environments.length - 1; index >= 0; index -= 1) {
      const environment = this.environments[index];
      if (environment && !environment.isAlive && !this.reserved.has(environment))
        this.environments.splice(index, 1);
    }
  }

  /** Stops every environment; invocations still waiting for one are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.waiting.splice(0)) wake();
    await Promise.all(this.environments.map((environment) => environment.stop()));
    this.environments.length = 0;
  }
}
