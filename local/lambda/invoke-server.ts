import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback } from '../ports';

export interface InvokeServerOptions {
  /** Port on 127.0.0.1; 0 picks a free port. */
  port: number;
  /** Command-line option that sets the port, named in the error when it is taken. */
  portOption?: string;
  /** Function names and ARNs (unqualified) the endpoint accepts. */
  functions: Array<{ name: string; arn: string }>;
  /** Hands an event to a function for asynchronous invocation; returns the request id. */
  invokeAsync(functionName: string, event: unknown): string;
}

export interface LocalInvokeServer {
  endpoint: string;
  close(): Promise<void>;
}

// Path of Lambda's Invoke API: POST /2015-03-31/functions/{FunctionName}/invocations.
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/**
 * Largest payload of an asynchronous invocation: 1 MB in the Invoke API reference since 2025 (it was 256 KB before).
 * NOTE: the reference does not say whether 1 MB means 1,000,000 or 1,048,576 bytes, so this takes the larger.
 */
export const MAX_ASYNC_PAYLOAD_BYTES = 1_048_576;

/** A request body, or only its size when it is larger than `limit` (the rest is read and dropped). */
type Body = { bytes: Buffer; size: number } | { bytes: undefined; size: number };

function readBody(request: IncomingMessage, limit: number): Promise<Body> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else chunks.length = 0;
    });
    request.on('end', () =>
      resolve(size <= limit ? { bytes: Buffer.concat(chunks), size } : { bytes: undefined, size }),
    );
    request.on('error', reject);
  });
}

/** Decodes a path segment, or returns undefined when its percent-encoding is malformed. */
function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Parses an event payload as Lambda does: UTF-8 JSON, with an empty payload read as `{}`. */
function parsePayload(bytes: Buffer): { ok: true; event: unknown } | { ok: false; reason: string } {
  if (bytes.length === 0) return { ok: true, event: {} };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, reason: 'the payload is not valid UTF-8' };
  }
  try {
    return { ok: true, event: JSON.parse(text) };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

function sendError(response: ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ Type: 'User', message });
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'x-amzn-ErrorType': type,
    'x-amzn-RequestId': randomUUID(),
  });
  response.end(body);
}

/**
 * Starts a loopback endpoint for Lambda's Invoke API with `InvocationType: Event` (and `DryRun`), so the AWS SDK's
 * LambdaClient can queue events for the stack's functions, as `npm run redrive` does. The function may be named by
 * name or ARN, with `$LATEST` as the only qualifier. Synchronous invocations are not served.
 */
export async function startInvokeServer(options: InvokeServerOptions): Promise<LocalInvokeServer> {
  // A function is named by name, ARN or partial ARN (`<account>:function:<name>`), each optionally with `:$LATEST`.
  const findFunction = (identifier: string) => {
    const unqualified = identifier.replace(/:\$LATEST$/, '');
    const partialArn = /^\d{12}:function:[^:]+$/.test(unqualified);
    return options.functions.find(
      (fn) =>
        fn.name === unqualified ||
        fn.arn === unqualified ||
        (partialArn && fn.arn.endsWith(`:${unqualified}`)),
    );
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const match = INVOKE_PATH.exec(url.pathname);
    if (request.method !== 'POST' || match === null) {
      sendError(
        response,
        404,
        'UnknownOperationException',
        `the local Lambda endpoint serves only POST /2015-03-31/functions/{name}/invocations, not ${request.method} ${url.pathname}`,
      );
      return;
    }

    const identifier = decodePathSegment(match[1] ?? '');
    if (identifier === undefined) {
      sendError(
        response,
        400,
        'InvalidParameterValueException',
        `the function name ${JSON.stringify(match[1])} in the path has malformed percent-encoding`,
      );
      return;
    }
    const qualifier = url.searchParams.get('Qualifier');
    const target = findFunction(identifier);
    if (target === undefined || (qualifier !== null && qualifier !== '$LATEST')) {
      sendError(
        response,
        404,
        'ResourceNotFoundException',
        `Function not found: ${identifier}${qualifier === null ? '' : `:${qualifier}`}`,
      );
      return;
    }

    const invocationType = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    const body = await readBody(request, MAX_ASYNC_PAYLOAD_BYTES);
    if (invocationType === 'DryRun') {
      response.writeHead(204, { 'x-amzn-RequestId': randomUUID() });
      response.end();
      return;
    }
    if (invocationType !== 'Event') {
      sendError(
        response,
        400,
        'InvalidParameterValueException',
        `the local Lambda endpoint supports InvocationType Event and DryRun, not ${invocationType}`,
      );
      return;
    }

    if (body.bytes === undefined) {
      sendError(
        response,
        413,
        'RequestTooLargeException',
        `the payload has ${body.size} bytes, over the ${MAX_ASYNC_PAYLOAD_BYTES} bytes Lambda accepts for an asynchronous invocation. Pass a reference (such as an S3 key) instead`,
      );
      return;
    }
    const payload = parsePayload(body.bytes);
    if (!payload.ok) {
      sendError(
        response,
        400,
        'InvalidRequestContentException',
        `Could not parse request body into json: ${payload.reason}`,
      );
      return;
    }
    const requestId = options.invokeAsync(target.name, payload.event);
    response.writeHead(202, { 'x-amzn-RequestId': requestId, 'Content-Length': 0 });
    response.end();
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      sendError(response, 500, 'ServiceException', (error as Error).message);
    });
  });
  const port = await listenOnLoopback(server, options.port, 'Lambda', options.portOption);
  return { endpoint: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}
