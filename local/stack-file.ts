import { readFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Description of a running stack, written to `<data folder>/stack.json` so that other commands can find it. */
export interface StackDescription {
  pid: number;
  startedAt: string;
  dataDir: string;
  region: string;
  /** `sqs` serves the template's queues; `lambda` accepts asynchronous Invoke requests for the functions. */
  endpoints: {
    s3: string;
    dynamodb: string;
    rekognition: string | null;
    sqs: string;
    lambda: string;
  };
  credentials: { accessKeyId: string; secretAccessKey: string };
  rawBucket: string;
  thumbnailBucket: string | null;
  tableName: string;
  /** The RestApi of the template served locally, with the API key it accepts; null when the template has none. */
  api: { url: string; apiKey: string } | null;
  /** The local web page (upload and gallery) that calls the API; null when there is no API. */
  web: { url: string } | null;
  buckets: string[];
  functions: { key: string; name: string }[];
  /** Folder of invocation records of events whose retries ran out. */
  failureDirectory: string;
  logDirectory: string;
}

export function stackFilePath(dataDir: string): string {
  return path.join(dataDir, 'stack.json');
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads stack.json when it belongs to a process that is still running; undefined otherwise. */
export function readRunningStack(dataDir: string): StackDescription | undefined {
  let description: StackDescription;
  try {
    description = JSON.parse(readFileSync(stackFilePath(dataDir), 'utf8')) as StackDescription;
  } catch {
    return undefined;
  }
  return typeof description.pid === 'number' && isProcessAlive(description.pid) ? description : undefined;
}

/** Writes stack.json through a temporary file and a rename, so a reader never sees it half written. */
export async function writeStackFile(description: StackDescription): Promise<void> {
  const target = stackFilePath(description.dataDir);
  const temporary = `${target}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(description, null, 2)}\n`);
  await rename(temporary, target);
}

export async function removeStackFile(dataDir: string): Promise<void> {
  await rm(stackFilePath(dataDir), { force: true });
}

/** Returns the environment that points `sls invoke local` (and any AWS SDK or CLI) at the running stack. */
export function invokeLocalEnvironment(description: StackDescription): Record<string, string> {
  const environment: Record<string, string> = {
    AWS_ACCESS_KEY_ID: description.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: description.credentials.secretAccessKey,
    AWS_REGION: description.region,
    AWS_ENDPOINT_URL_S3: description.endpoints.s3,
    AWS_ENDPOINT_URL_DYNAMODB: description.endpoints.dynamodb,
    S3_FORCE_PATH_STYLE: 'true',
  };
  if (description.endpoints.rekognition !== null) {
    environment.AWS_ENDPOINT_URL_REKOGNITION = description.endpoints.rekognition;
  }
  return environment;
}
