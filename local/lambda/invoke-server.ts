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

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
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
  const findFunction = (identifier: string) => {
    const unqualified = identifier.replace(/:\$LATEST$/, '');
    return options.functions.find(
      (fn) =>
        fn.name === unqualified || fn.arn === unqualified || fn.arn.endsWith(`:function:${unqualified}`),
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

    const identifier = decodeURIComponent(match[1] ?? '');
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
    const body = await readBody(request);
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

    let event: unknown;
    try {
      event = body === '' ? {} : JSON.parse(body);
    } catch {
      sendError(response, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
      return;
    }
    const requestId = options.invokeAsync(target.name, event);
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
