import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Folder of the fake function code: handlers are `src/recorder.<name>`. */
export const FAKE_FUNCTION_ROOT = __dirname;

/** One invocation as recorded by test/local/fake-functions/src/recorder.js. */
export interface RecordedInvocation {
  handler: string;
  pid: number;
  event: unknown;
  context: {
    awsRequestId: string;
    functionName: string;
    functionVersion: string;
    invokedFunctionArn: string;
    memoryLimitInMB: string;
    logGroupName: string;
    logStreamName: string;
    remainingTimeInMillis: number;
    callbackWaitsForEmptyEventLoop: boolean;
  };
  env: Record<string, string>;
}

export function readInvocations(recordFile: string): RecordedInvocation[] {
  if (!existsSync(recordFile)) return [];
  return readFileSync(recordFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as RecordedInvocation);
}

export function fakeHandler(name: 'echo' | 'wait' | 'fail' | 'crash' | 'callback'): string {
  return `src/recorder.${name}`;
}

export function fakeCodeDirectory(): string {
  return path.resolve(FAKE_FUNCTION_ROOT);
}
