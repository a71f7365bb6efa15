import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AwsChunkedDecoder, isAwsChunked, withoutAwsChunked } from '../../local/s3/aws-chunked';
import { type LocalS3Server, startS3Server } from '../../local/s3/s3-server';

/** Frames data as S3's aws-chunked encoding documents it: hex size, optional extension, CRLF, data, CRLF. */
function frame(chunks: string[], trailer = ''): Buffer {
  const parts = chunks.map(
    (chunk) => `${Buffer.byteLength(chunk).toString(16)};chunk-signature=abc\r\n${chunk}\r\n`,
  );
  return Buffer.from(`${parts.join('')}0;chunk-signature=abc\r\n${trailer}\r\n`);
}

async function decode(body: Buffer, pieceSize: number): Promise<string> {
  const pieces: Buffer[] = [];
  for (let start = 0; start < body.length; start += pieceSize)
    pieces.push(body.subarray(start, start + pieceSize));
  return (await buffer(Readable.from(pieces).pipe(new AwsChunkedDecoder()))).toString();
}

describe('AwsChunkedDecoder', () => {
  it('joins the chunk data', async () => {
    expect(await decode(frame(['hello ', 'world']), 1024)).toBe('hello world');
  });

  it.each([1, 2, 3, 7])('decodes input split into %i-byte pieces', async (pieceSize) => {
    expect(await decode(frame(['hello ', 'world']), pieceSize)).toBe('hello world');
  });

  it('ignores trailing checksum headers', async () => {
    expect(await decode(frame(['data'], 'x-amz-checksum-crc32:AAAAAA==\r\n'), 1024)).toBe('data');
  });

  it('rejects a body without its final chunk', async () => {
    await expect(decode(Buffer.from('4\r\ndata\r\n'), 1024)).rejects.toThrow(/final zero-size chunk/);
  });

  it('rejects a size that is not hexadecimal', async () => {
    await expect(decode(Buffer.from('zz\r\ndata\r\n'), 1024)).rejects.toThrow(/chunk size "zz"/);
  });
});

describe('isAwsChunked', () => {
  it('detects streaming SigV4 payloads', () => {
    expect(isAwsChunked({ 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' })).toBe(true);
  });

  it('detects the content encoding', () => {
    expect(isAwsChunked({ 'content-encoding': 'gzip, aws-chunked' })).toBe(true);
  });

  it('leaves plain bodies alone', () => {
    expect(isAwsChunked({ 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' })).toBe(false);
  });
});

describe('withoutAwsChunked', () => {
  it('keeps other encodings', () => {
    expect(withoutAwsChunked('gzip, aws-chunked')).toBe('gzip');
  });

  it('drops an encoding of only aws-chunked', () => {
    expect(withoutAwsChunked('aws-chunked')).toBeUndefined();
  });
});

describe('local S3 with streamed uploads', () => {
  const file = path.resolve(__dirname, '..', '..', 'samples', 'coffee_cup.png');
  let directory: string;
  let server: LocalS3Server;
  let s3: S3Client;

  beforeAll(async () => {
    directory = mkdtempSync(path.join(tmpdir(), 'local-s3-chunked-'));
    server = await startS3Server({ port: 0, directory, buckets: ['bucket'], onObjectChange: () => {} });
    s3 = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });

  afterAll(async () => {
    s3.destroy();
    await server.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('stores the bytes of a stream body', async () => {
    // The SDK frames stream bodies as aws-chunked with a CRC32 trailer.
    await s3.send(
      new PutObjectCommand({
        Bucket: 'bucket',
        Key: 'streamed.png',
        Body: createReadStream(file),
        ContentLength: statSync(file).size,
      }),
    );
    const response = await s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'streamed.png' }));
    const stored = Buffer.from((await response.Body?.transformToByteArray()) ?? []);
    expect(stored.equals(readFileSync(file))).toBe(true);
  });
});
