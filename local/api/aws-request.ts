import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

/** Credentials the integration signs with; locally the stack's single key pair. */
export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** An integration's HTTP response, with header names in lower case. */
export interface BackendResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** API Gateway's integration timeout for REST APIs (29 seconds by default). */
export const INTEGRATION_TIMEOUT_MS = 29_000;

/** The integration endpoint could not be reached or did not respond in time. */
export class IntegrationRequestError extends Error {
  override name = 'IntegrationRequestError';
  constructor(
    message: string,
    readonly timedOut: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** SHA-256 (or HMAC-SHA-256 with a secret) in the shape the Smithy signer expects. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

export interface SignedRequest {
  endpoint: string;
  service: 's3' | 'dynamodb';
  region: string;
  credentials: SigningCredentials;
  method: string;
  /** Path already percent-encoded, as it goes on the wire. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends a SigV4-signed request to a loopback AWS endpoint, as API Gateway signs with the integration's role. */
export async function sendSignedRequest(options: SignedRequest): Promise<BackendResponse> {
  const url = new URL(options.endpoint);
  const signer = new SignatureV4({
    service: options.service,
    region: options.region,
    credentials: { ...options.credentials },
    sha256: NodeSha256,
    // S3 signs the path as sent; every other service signs it escaped once more.
    uriEscapePath: options.service !== 's3',
  });
  const headers: Record<string, string> = { ...options.headers, host: url.host };
  if (options.body.length > 0 || ['PUT', 'POST', 'PATCH'].includes(options.method))
    headers['content-length'] = String(options.body.length);
  const signed = await signer.sign({
    method: options.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: options.path,
    query: options.query,
    headers,
    body: options.body,
  });
  const search = new URLSearchParams(options.query).toString();
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: search === '' ? options.path : `${options.path}?${search}`,
        headers: signed.headers,
        timeout: INTEGRATION_TIMEOUT_MS,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const responseHeaders: Record<string, string> = {};
          for (const [name, value] of Object.entries(response.headers)) {
            if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(',') : value;
          }
          resolve({
            statusCode: response.statusCode ?? 502,
            headers: responseHeaders,
            body: Buffer.concat(chunks),
          });
        });
      },
    );
    outgoing.on('timeout', () => {
      outgoing.destroy(new IntegrationRequestError(`${options.service} did not respond within 29 s`, true));
    });
    outgoing.on('error', (error) => {
      reject(
        error instanceof IntegrationRequestError
          ? error
          : new IntegrationRequestError(
              `${options.service} at ${options.endpoint} failed: ${error.message}`,
              false,
              {
                cause: error,
              },
            ),
      );
    });
    outgoing.end(options.body);
  });
}
