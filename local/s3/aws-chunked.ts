import { Transform, type TransformCallback } from 'node:stream';

/**
 * True when a request body uses S3's `aws-chunked` framing: streaming SigV4 payloads
 * (`x-amz-content-sha256: STREAMING-...`) or `Content-Encoding: aws-chunked`, which the AWS SDK v3 sends for stream
 * bodies with flexible checksums.
 */
export function isAwsChunked(headers: Record<string, string | string[] | undefined>): boolean {
  const payloadHash = String(headers['x-amz-content-sha256'] ?? '');
  const encoding = String(headers['content-encoding'] ?? '');
  return (
    payloadHash.startsWith('STREAMING-') ||
    encoding.split(',').some((token) => token.trim() === 'aws-chunked')
  );
}

/**
 * Decodes an `aws-chunked` body into the object's bytes. Each chunk is `<hex size>[;chunk-signature=...]\r\n`,
 * the data, then `\r\n`; a zero-size chunk ends the data and may be followed by trailer headers (checksums).
 * Chunk signatures and trailing checksums are not verified.
 */
export class AwsChunkedDecoder extends Transform {
  private buffer: Buffer = Buffer.alloc(0);
  private remaining = -1;
  private finished = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      this.drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    callback(this.finished ? null : new Error('aws-chunked body ended before its final zero-size chunk'));
  }

  private drain(): void {
    while (!this.finished) {
      if (this.remaining < 0) {
        const lineEnd = this.buffer.indexOf('\r\n');
        if (lineEnd < 0) return;
        const sizeText = this.buffer.subarray(0, lineEnd).toString('latin1').split(';')[0]?.trim() ?? '';
        if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`invalid aws-chunked chunk size "${sizeText}"`);
        this.remaining = Number.parseInt(sizeText, 16);
        this.buffer = this.buffer.subarray(lineEnd + 2);
        if (this.remaining === 0) {
          // Trailers (x-amz-checksum-crc32 and the like) follow; the object's bytes are complete.
          this.finished = true;
          return;
        }
      }
      // Wait for the whole chunk plus its closing CRLF.
      if (this.buffer.length < this.remaining + 2) {
        if (this.buffer.length > this.remaining || this.buffer.length === 0) return;
        this.push(this.buffer);
        this.remaining -= this.buffer.length;
        this.buffer = Buffer.alloc(0);
        return;
      }
      if (this.remaining > 0) this.push(this.buffer.subarray(0, this.remaining));
      this.buffer = this.buffer.subarray(this.remaining + 2);
      this.remaining = -1;
    }
  }
}

/** Removes the `aws-chunked` token from a Content-Encoding value; S3 does not store it with the object. */
export function withoutAwsChunked(contentEncoding: string): string | undefined {
  const tokens = contentEncoding
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '' && token !== 'aws-chunked');
  return tokens.length > 0 ? tokens.join(', ') : undefined;
}
