import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AsyncInvoker, type InvocationRecord } from '../../local/lambda/async-invoker';
import { FunctionPool } from '../../local/lambda/function-pool';
import type { LocalFunctionConfig } from '../../local/lambda/types';
import { fakeCodeDirectory, fakeHandler, readInvocations } from './fake-functions/records';

let workDir: string;
let recordFile: string;
const pools: FunctionPool[] = [];

function createPool(
  handler: string,
  overrides: Partial<LocalFunctionConfig> = {},
  maxConcurrency = 2,
): FunctionPool {
  const config: LocalFunctionConfig = {
    name: 'svc-test-fake',
    key: 'fake',
    arn: 'arn:aws:lambda:eu-west-1:000000000000:function:svc-test-fake',
    codeDirectory: fakeCodeDirectory(),
    handler,
    runtime: 'nodejs22.x',
    memorySize: 256,
    timeoutSeconds: 5,
    environment: {
      RECORD_FILE: recordFile,
      AWS_REGION: 'eu-west-1',
      AWS_LAMBDA_FUNCTION_NAME: 'svc-test-fake',
    },
    ...overrides,
  };
  const pool = new FunctionPool(config, () => {}, { maxConcurrency });
  pools.push(pool);
  return pool;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeEach(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'local-invoker-'));
  recordFile = path.join(workDir, 'invocations.jsonl');
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
  rmSync(workDir, { recursive: true, force: true });
});

describe('FunctionPool', () => {
  it('passes the event to the handler', async () => {
    await createPool(fakeHandler('echo')).invoke({ hello: 'world' });
    expect(readInvocations(recordFile)[0]?.event).toEqual({ hello: 'world' });
  });

  it('returns the handler result', async () => {
    const result = await createPool(fakeHandler('echo')).invoke({});
    expect(result).toMatchObject({ ok: true, value: { ok: true } });
  });

  it('passes the configured environment', async () => {
    await createPool(fakeHandler('echo')).invoke({});
    const env = readInvocations(recordFile)[0]?.env ?? {};
    expect([env.AWS_REGION, env.AWS_LAMBDA_FUNCTION_NAME]).toEqual(['eu-west-1', 'svc-test-fake']);
  });

  it('inherits nothing else from the parent environment', async () => {
    process.env.LOCAL_INVOKER_TEST_MARKER = 'parent-only';
    try {
      await createPool(fakeHandler('echo')).invoke({});
    } finally {
      delete process.env.LOCAL_INVOKER_TEST_MARKER;
    }
    expect(readInvocations(recordFile)[0]?.env.LOCAL_INVOKER_TEST_MARKER).toBeUndefined();
  });

  it('sets LAMBDA_TASK_ROOT and _HANDLER as Lambda does', async () => {
    await createPool(fakeHandler('echo')).invoke({});
    const env = readInvocations(recordFile)[0]?.env ?? {};
    expect([env.LAMBDA_TASK_ROOT, env._HANDLER]).toEqual([fakeCodeDirectory(), 'src/recorder.echo']);
  });

  it('fills the Lambda context', async () => {
    await createPool(fakeHandler('echo')).invoke({}, '9f0c5a52-1111-4222-8333-444455556666');
    const context = readInvocations(recordFile)[0]?.context;
    expect(context).toMatchObject({
      awsRequestId: '9f0c5a52-1111-4222-8333-444455556666',
      functionName: 'svc-test-fake',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:svc-test-fake',
      memoryLimitInMB: '256',
      logGroupName: '/aws/lambda/svc-test-fake',
      callbackWaitsForEmptyEventLoop: true,
    });
  });

  it('counts the remaining time down from the timeout', async () => {
    await createPool(fakeHandler('echo'), { timeoutSeconds: 7 }).invoke({});
    const remaining = readInvocations(recordFile)[0]?.context.remainingTimeInMillis ?? -1;
    expect(remaining > 0 && remaining <= 7000).toBe(true);
  });

  it('gives each invocation a UUID request id by default', async () => {
    await createPool(fakeHandler('echo')).invoke({});
    expect(readInvocations(recordFile)[0]?.context.awsRequestId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('supports callback handlers', async () => {
    const result = await createPool(fakeHandler('callback')).invoke({});
    expect(result).toMatchObject({ ok: true, value: { viaCallback: true } });
  });

  it('reuses a warm environment', async () => {
    const pool = createPool(fakeHandler('echo'));
    await pool.invoke({});
    await pool.invoke({});
    const pids = readInvocations(recordFile).map((invocation) => invocation.pid);
    expect(pids[0]).toBe(pids[1]);
  });

  it('runs the handler outside the test process', async () => {
    await createPool(fakeHandler('echo')).invoke({});
    expect(readInvocations(recordFile)[0]?.pid).not.toBe(process.pid);
  });

  it('resolves packages only inside the code folder', async () => {
    // A folder inside the project, where Node's usual lookup would reach the project's node_modules.
    const cacheDir = path.resolve(__dirname, '..', '..', 'node_modules', '.cache');
    mkdirSync(cacheDir, { recursive: true });
    const codeDirectory = mkdtempSync(path.join(cacheDir, 'isolated-function-'));
    writeFileSync(
      path.join(codeDirectory, 'index.js'),
      "exports.handler = async () => typeof require('yaml');\n",
    );
    try {
      expect(require.resolve('yaml', { paths: [codeDirectory] })).toContain('node_modules');

      const result = await createPool('index.handler', { codeDirectory }).invoke({});

      expect(result.ok ? '' : result.error.errorMessage).toContain("Cannot find module 'yaml'");
    } finally {
      rmSync(codeDirectory, { recursive: true, force: true });
    }
  });

  it('returns a thrown error in Lambda error shape', async () => {
    const result = await createPool(fakeHandler('fail')).invoke({});
    expect(result).toMatchObject({
      ok: false,
      error: { errorType: 'TypeError', errorMessage: 'fake failure' },
    });
  });

  it('reports a process exit as Runtime.ExitError', async () => {
    const result = await createPool(fakeHandler('crash')).invoke({});
    expect(result).toMatchObject({ ok: false, error: { errorType: 'Runtime.ExitError' } });
  });

  it('reports a missing handler module at init', async () => {
    const result = await createPool('src/missing.handler').invoke({});
    expect(result).toMatchObject({ ok: false, error: { errorType: 'Runtime.ImportModuleError' } });
  });

  it('reports a missing export at init', async () => {
    const result = await createPool('src/recorder.nothing').invoke({});
    expect(result).toMatchObject({ ok: false, error: { errorType: 'Runtime.HandlerNotFound' } });
  });

  describe('timeout', () => {
    it('fails the invocation as timed out', async () => {
      const result = await createPool(fakeHandler('wait'), { timeoutSeconds: 1 }).invoke({ waitMs: 30_000 });
      expect(result).toMatchObject({ ok: false, error: { errorType: 'Sandbox.Timedout' } });
    });

    it('says after how long', async () => {
      const result = await createPool(fakeHandler('wait'), { timeoutSeconds: 1 }).invoke({ waitMs: 30_000 });
      expect(result.ok ? '' : result.error.errorMessage).toMatch(/Task timed out after 1\.00 seconds$/);
    });

    it('kills the execution environment', async () => {
      const pool = createPool(fakeHandler('wait'), { timeoutSeconds: 1 });
      await pool.invoke({ waitMs: 30_000 });
      const pid = readInvocations(recordFile)[0]?.pid ?? 0;
      // SIGKILL is sent before invoke returns; the kernel may need a moment to reap the process.
      for (let attempt = 0; attempt < 50 && isRunning(pid); attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(isRunning(pid)).toBe(false);
    });

    it('starts a fresh environment for the next invocation', async () => {
      const pool = createPool(fakeHandler('wait'), { timeoutSeconds: 1 });
      await pool.invoke({ waitMs: 30_000 });
      await pool.invoke({ waitMs: 0 });
      const [first, second] = readInvocations(recordFile).map((invocation) => invocation.pid);
      expect(second).not.toBe(first);
    });
  });

  it('runs at most maxConcurrency environments', async () => {
    const pool = createPool(fakeHandler('wait'), {}, 2);
    await Promise.all([1, 2, 3, 4, 5].map(() => pool.invoke({ waitMs: 100 })));
    const pids = new Set(readInvocations(recordFile).map((invocation) => invocation.pid));
    expect(pids.size).toBe(2);
  });

  it('runs every queued invocation', async () => {
    const pool = createPool(fakeHandler('wait'), {}, 1);
    await Promise.all([1, 2, 3].map(() => pool.invoke({ waitMs: 10 })));
    expect(readInvocations(recordFile)).toHaveLength(3);
  });
});

describe('AsyncInvoker', () => {
  function failureFiles(failureDirectory: string): string[] {
    try {
      return readdirSync(path.join(failureDirectory, 'fake')).map((name) =>
        path.join(failureDirectory, 'fake', name),
      );
    } catch {
      return [];
    }
  }

  async function invokeFailing(maximumRetryAttempts: number) {
    const failureDirectory = path.join(workDir, 'failed');
    const invoker = new AsyncInvoker({ failureDirectory, retryDelaysMs: [10, 20] });
    const requestId = invoker.invokeAsync(
      createPool(fakeHandler('fail')),
      { id: 42 },
      maximumRetryAttempts,
      () => {},
    );
    await invoker.whenIdle();
    return { failureDirectory, requestId };
  }

  it('retries a failed event twice', async () => {
    await invokeFailing(2);
    expect(readInvocations(recordFile)).toHaveLength(3);
  });

  it('keeps the request id across retries', async () => {
    const { requestId } = await invokeFailing(2);
    const ids = new Set(readInvocations(recordFile).map((invocation) => invocation.context.awsRequestId));
    expect([...ids]).toEqual([requestId]);
  });

  it('honours a lower retry limit', async () => {
    await invokeFailing(0);
    expect(readInvocations(recordFile)).toHaveLength(1);
  });

  it('stores one invocation record after the last retry', async () => {
    const { failureDirectory } = await invokeFailing(2);
    expect(failureFiles(failureDirectory)).toHaveLength(1);
  });

  it('stores the record in the shape of a Lambda on-failure destination', async () => {
    const { failureDirectory, requestId } = await invokeFailing(2);
    const file = failureFiles(failureDirectory)[0] ?? '';
    const record = JSON.parse(readFileSync(file, 'utf8')) as InvocationRecord;
    expect(record).toMatchObject({
      version: '1.0',
      requestContext: {
        requestId,
        functionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:svc-test-fake:$LATEST',
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: { id: 42 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'TypeError', errorMessage: 'fake failure' },
    });
  });

  it('stores nothing for a successful event', async () => {
    const failureDirectory = path.join(workDir, 'failed');
    const invoker = new AsyncInvoker({ failureDirectory, retryDelaysMs: [10, 20] });
    invoker.invokeAsync(createPool(fakeHandler('echo')), {}, 2, () => {});
    await invoker.whenIdle();
    expect(failureFiles(failureDirectory)).toHaveLength(0);
  });

  it('retries an event that timed out', async () => {
    const failureDirectory = path.join(workDir, 'failed');
    const invoker = new AsyncInvoker({ failureDirectory, retryDelaysMs: [10, 20] });
    const pool = createPool(fakeHandler('wait'), { timeoutSeconds: 1 });
    invoker.invokeAsync(pool, { waitMs: 30_000 }, 1, () => {});
    await invoker.whenIdle();
    expect(readInvocations(recordFile)).toHaveLength(2);
  });
});
