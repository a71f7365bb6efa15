import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  LOCAL_ACCESS_KEY_ID,
  LOCAL_SECRET_ACCESS_KEY,
  type LocalS3Server,
  startS3Server,
} from '../../local/s3/s3-server';

describe('local S3 conditional and ranged reads', () => {
  let directory: string;
  let server: LocalS3Server;
  let client: S3Client;
  // For a single-part upload, S3's ETag is the MD5 of the content (S3 API reference, Common Response Headers).
  const content = Buffer.from('first upload');
  const eTag = createHash('md5').update(content).digest('hex');

  beforeAll(async () => {
    directory = mkdtempSync(path.join(tmpdir(), 's3-conditional-'));
    server = await startS3Server({ port: 0, directory, buckets: ['bucket'], onObjectChange: () => {} });
    client = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: LOCAL_ACCESS_KEY_ID, secretAccessKey: LOCAL_SECRET_ACCESS_KEY },
    });
    await client.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'photo.jpg', Body: content }));
    await client.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'empty.jpg', Body: Buffer.alloc(0) }));
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('returns the object when If-Match names its ETag', async () => {
    const response = await client.send(
      new GetObjectCommand({ Bucket: 'bucket', Key: 'photo.jpg', IfMatch: `"${eTag}"` }),
    );

    expect(await response.Body?.transformToString()).toBe('first upload');
  });

  it('answers 412 when If-Match names another ETag', async () => {
    const read = client.send(
      new GetObjectCommand({ Bucket: 'bucket', Key: 'photo.jpg', IfMatch: '"0123456789abcdef"' }),
    );

    await expect(read).rejects.toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
  });

  it('applies If-Match to HEAD too', async () => {
    const head = client.send(
      new HeadObjectCommand({ Bucket: 'bucket', Key: 'photo.jpg', IfMatch: '"0123456789abcdef"' }),
    );

    await expect(head).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
  });

  it('answers NoSuchKey for a missing key whatever If-Match says', async () => {
    const read = client.send(
      new GetObjectCommand({ Bucket: 'bucket', Key: 'gone.jpg', IfMatch: `"${eTag}"` }),
    );

    await expect(read).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  // S3 answers a byte range of an empty object with 416 InvalidRange (S3 API reference, GetObject).
  it('answers 416 for a range of an empty object', async () => {
    const read = client.send(
      new GetObjectCommand({ Bucket: 'bucket', Key: 'empty.jpg', Range: 'bytes=0-63' }),
    );

    await expect(read).rejects.toMatchObject({ name: 'InvalidRange', $metadata: { httpStatusCode: 416 } });
  });

  it('returns the first bytes for a range of a non-empty object', async () => {
    const response = await client.send(
      new GetObjectCommand({ Bucket: 'bucket', Key: 'photo.jpg', Range: 'bytes=0-4' }),
    );

    expect(await response.Body?.transformToString()).toBe('first');
  });
});
