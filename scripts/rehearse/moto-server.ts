import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

/** A moto_server child process listening on 127.0.0.1. */
export interface MotoServer {
  /** Endpoint for every AWS service, such as http://127.0.0.1:43155. */
  url: string;
  /** Resource types that moto reported it cannot model ("No Moto CloudFormation support for TYPE"). */
  unsupportedTypes: Set<string>;
  /** Stops the server and waits for its process to exit. */
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** Returns whether `moto_server` (Python moto's standalone server) runs on this machine. */
export function motoServerInstalled(): boolean {
  const result = spawnSync('moto_server', ['--help'], { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts moto_server on 127.0.0.1 with port 0, so the operating system picks a free port, and reads the port from
 * the "Running on http://127.0.0.1:PORT" line that its web server prints.
 */
export function startMotoServer(): Promise<MotoServer> {
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // The last lines of output, for the error message when the server fails to start. Reading the pipes also keeps
  // them drained, because moto logs every request and a full pipe would block it.
  const recent: string[] = [];
  const unsupportedTypes = new Set<string>();

  const close = async () => {
    child.kill('SIGTERM');
    if (!(await waitForExit(child, STOP_TIMEOUT_MS))) {
      child.kill('SIGKILL');
      await waitForExit(child, STOP_TIMEOUT_MS);
    }
  };

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void close().then(() => reject(new Error(`${message}; its last output:\n${recent.join('\n')}`)));
    };
    const timer = setTimeout(
      () => fail(`moto_server did not report its port within ${START_TIMEOUT_MS / 1000} s`),
      START_TIMEOUT_MS,
    );

    const onOutput = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        recent.push(line);
        if (recent.length > 20) recent.shift();
        const unsupported = /No Moto CloudFormation support for (\S+)/.exec(line);
        if (unsupported?.[1] !== undefined) unsupportedTypes.add(unsupported[1]);
        const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (match?.[1] !== undefined && !settled) {
          settled = true;
          clearTimeout(timer);
          resolve({ url: match[1], unsupportedTypes, close });
        }
      }
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    child.on('error', (error) => fail(`cannot run moto_server: ${error.message}`));
    child.on('exit', (code, signal) =>
      fail(`moto_server exited during start-up (${signal ?? `exit code ${code}`})`),
    );
  });
}
