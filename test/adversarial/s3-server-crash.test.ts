import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListBucketsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ensurePackaged } from '../../local/packaging';
import { killGroup, type ProjectCommand, runProjectCommand, waitForStackFile } from './support/child-process';
import { PROJECT_DIR } from './support/pipeline-stack';

/**
 * Keys S3 accepts (up to 1024 bytes of UTF-8, any characters) must never stop `npm start`. The stack runs in a child
 * process here, because a crash of its S3 server ends the process that hosts it.
 */

let workDir: string;
const started: ProjectCommand[] = [];

/** Starts `npm start` on free ports and returns an S3 client for it; throws when it does not start. */
async function startStack(name: string): Promise<{ command: ProjectCommand; s3: S3Client; bucket: string }> {
  const dataDir = path.join(workDir, name);
  const command = runProjectCommand('local/start.ts', [
    '--no-package',
    '--data-dir',
    dataDir,
    '--s3-port',
    '0',
    '--dynamodb-port',
    '0',
    '--rekognition-port',
    '0',
    '--api-port',
    '0',
  ]);
  started.push(command);
  const description = await waitForStackFile(command, dataDir);
  if (description === undefined) throw new Error(`npm start did not start:\n${command.output()}`);
  const s3 = new S3Client({
    endpoint: description.endpoints.s3,
    region: description.region,
    forcePathStyle: true,
    credentials: { ...description.credentials },
    maxAttempts: 1,
  });
  return { command, s3, bucket: description.rawBucket };
}

/** Sends a PUT and ignores its response, because an error response is acceptable and a dead server is not. */
async function putIgnoringErrors(s3: S3Client, bucket: string, key: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('x') })).catch(() => {});
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'adversarial-crash-'));
  await ensurePackaged(PROJECT_DIR, 'local', () => {});
}, 120_000);

afterAll(() => {
  for (const command of started) killGroup(command);
  rmSync(workDir, { recursive: true, force: true });
});

describe('local S3 server', () => {
  it('keeps serving after a PUT of a key with a 300-byte path segment', async () => {
    const { s3, bucket } = await startStack('long-segment');
    // 300 bytes is within S3's 1024-byte key limit; only the local file name would exceed 255 bytes.
    await putIgnoringErrors(s3, bucket, `${'k'.repeat(300)}.jpg`);
    await expect(s3.send(new ListBucketsCommand({}))).resolves.toMatchObject({
      $metadata: { httpStatusCode: 200 },
    });
    s3.destroy();
  }, 60_000);

  it('keeps serving after a PUT of "z" when "z._S3rver_object/y" exists', async () => {
    const { s3, bucket } = await startStack('folder-clash');
    await putIgnoringErrors(s3, bucket, 'z._S3rver_object/y');
    await putIgnoringErrors(s3, bucket, 'z');
    await expect(s3.send(new ListBucketsCommand({}))).resolves.toMatchObject({
      $metadata: { httpStatusCode: 200 },
    });
    s3.destroy();
  }, 60_000);
});
