import http from 'node:http';
import https from 'node:https';
import type { Clock } from '../clock';
import { ToolError } from '../errors';
import { redact } from '../redact';

/** Connection to an Anchore server; the password never leaves this object except in the Authorization header. */
export interface AnchoreConnection {
  /** Server root without the `/v1` or `/v2` prefix, for example `https://anchore.example.com:8228`. */
  rootUrl: string;
  user: string;
  password: string;
}

/** Retry budget for transient HTTP failures, separate from the analysis polling budget. */
export interface HttpRetryOptions {
  /** Retries after the first attempt for 5xx, 429 and connection errors. */
  maxRetries: number;
  /** Delay before the first retry; doubled on each further retry. */
  initialDelayMs: number;
  /** Upper bound of one delay, including a server's Retry-After. */
  maxDelayMs: number;
}

/** Default retry budget: 5 retries, 1 s doubling to at most 30 s. */
export const DEFAULT_HTTP_RETRY: HttpRetryOptions = {
  maxRetries: 5,
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
};

/** A response with its parsed JSON body (undefined when the body is empty or not JSON). */
export interface AnchoreResponse {
  status: number;
  body: unknown;
  text: string;
}

/**
 * Largest response body read, in bytes: far above a vulnerability report of a large image, and below Node's
 * maximum string length (2^29 - 24 characters on 64-bit builds), beyond which the body could not be decoded.
 */
export const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/** Connection errors worth retrying: the server or a proxy dropped or refused the connection. */
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/** Milliseconds to wait according to a Retry-After header in seconds, when it has one. */
function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/**
 * A small JSON client for the Anchore API with basic authentication and bounded retries.
 * Every error message it raises has the password removed.
 */
export class AnchoreHttpClient {
  /** Number of retries made so far, for diagnostics. */
  retries = 0;

  constructor(
    private readonly connection: AnchoreConnection,
    private readonly clock: Clock,
    private readonly retry: HttpRetryOptions = DEFAULT_HTTP_RETRY,
    private readonly requestTimeoutMs = 60_000,
    private readonly maxResponseBytes = MAX_RESPONSE_BYTES,
  ) {}

  /** Sends one request (with retries) to a path below the server root, such as `/v2/images`. */
  async request(method: string, path: string, body?: unknown): Promise<AnchoreResponse> {
    let attempt = 0;
    for (;;) {
      let response: (AnchoreResponse & { headers: http.IncomingHttpHeaders }) | undefined;
      let failure: NodeJS.ErrnoException | undefined;
      try {
        response = await this.send(method, path, body);
      } catch (error) {
        // Kept apart from responses without instanceof: errors from Node's core may come from another realm.
        failure = error as NodeJS.ErrnoException;
      }

      const retryable = response
        ? response.status >= 500 || response.status === 429
        : RETRYABLE_CODES.has(failure?.code ?? '');
      if (!retryable) {
        if (response) return response;
        throw this.connectionError(method, path, failure);
      }
      if (attempt >= this.retry.maxRetries) {
        if (!response) throw this.connectionError(method, path, failure, attempt);
        throw new ToolError(
          this.clean(
            `${method} ${path} failed with HTTP ${response.status} after ${attempt + 1} attempts: ` +
              `${response.text.slice(0, 300)}. Check the Anchore server's health (its /health endpoint and logs).`,
          ),
        );
      }

      const backoff = Math.min(this.retry.initialDelayMs * 2 ** attempt, this.retry.maxDelayMs);
      const serverDelay = response ? retryAfterMs(response.headers['retry-after']) : undefined;
      await this.clock.sleep(Math.min(serverDelay ?? backoff, this.retry.maxDelayMs));
      attempt += 1;
      this.retries += 1;
    }
  }

  private connectionError(
    method: string,
    path: string,
    error: NodeJS.ErrnoException | undefined,
    retries = 0,
  ): ToolError {
    const after = retries > 0 ? ` after ${retries + 1} attempts` : '';
    return new ToolError(
      this.clean(
        `${method} ${path} on ${this.connection.rootUrl} failed${after}: ${error?.code ?? error?.message ?? 'unknown error'}. ` +
          'Check ANCHORE_URL and that the server is reachable from this agent.',
      ),
      { cause: error },
    );
  }

  private clean(text: string): string {
    return redact(text, [this.connection.password]);
  }

  private send(
    method: string,
    path: string,
    body: unknown,
  ): Promise<AnchoreResponse & { headers: http.IncomingHttpHeaders }> {
    const url = new URL(this.connection.rootUrl.replace(/\/+$/, '') + path);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const auth = Buffer.from(`${this.connection.user}:${this.connection.password}`).toString('base64');
    const transport = url.protocol === 'https:' ? https : http;

    return new Promise((resolve, reject) => {
      // A deadline for the whole exchange: the socket's idle timeout alone never fires on a server that sends
      // one byte at a time.
      const deadline = setTimeout(() => {
        settle.reject(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' }));
        request.destroy();
      }, this.requestTimeoutMs);
      const settle = {
        resolve: (value: AnchoreResponse & { headers: http.IncomingHttpHeaders }) => {
          clearTimeout(deadline);
          resolve(value);
        },
        reject: (error: unknown) => {
          clearTimeout(deadline);
          reject(error);
        },
      };
      const request = transport.request(
        url,
        {
          method,
          headers: {
            accept: 'application/json',
            authorization: `Basic ${auth}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
          timeout: this.requestTimeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let received = 0;
          response.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received > this.maxResponseBytes) {
              settle.reject(new Error(`the response body is larger than ${this.maxResponseBytes} bytes`));
              request.destroy();
              return;
            }
            chunks.push(chunk);
          });
          response.on('error', settle.reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = undefined;
            }
            settle.resolve({
              status: response.statusCode ?? 0,
              body: parsed,
              text,
              headers: response.headers,
            });
          });
        },
      );
      request.on('timeout', () => {
        request.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' }));
      });
      request.on('error', settle.reject);
      request.end(payload);
    });
  }
}
