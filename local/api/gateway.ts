import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback } from '../ports';
import type { CloudFormationTemplate, PseudoParameters } from '../template/intrinsics';
import { loadTemplateFile } from '../template/service-model';
import { IntegrationRequestError, type SigningCredentials } from './aws-request';
import { GATEWAY_RESPONSES, type GatewayResponseType, renderGatewayResponse } from './gateway-responses';
import { buildMethodResponse, selectIntegrationResponse } from './integration-response';
import { callIntegration, type IntegrationRequest, type ServiceEndpoints } from './integrations';
import { evaluateRequestSource, type MappingSourceRequest } from './parameter-mapping';
import { convertRequestPayload, isBinaryMediaType, mediaType } from './payload-encoding';
import { RouteTable } from './routes';
import {
  type MethodModel,
  type RestApiModel,
  readRestApiModel,
  type UnsupportedMethod,
} from './template-model';
import { InvalidJsonPayloadError, type RequestParameters, renderTemplate } from './vtl';

/** API Gateway's payload limit for REST APIs: 10 MB. */
export const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface LocalApiOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Command-line flag that sets the port, named when the port is taken. */
  portOption?: string;
  /** The RestApi to serve: a model, a parsed compiled template, or the path of one. */
  api: RestApiModel | CloudFormationTemplate | string;
  /** Pseudo parameters for resolving a template; region and account default to the local stack's. */
  pseudo?: Partial<PseudoParameters>;
  endpoints: ServiceEndpoints;
  region: string;
  credentials: SigningCredentials;
  /** The API key clients send in `x-api-key`; default the template's ApiKey Value, else a random key. */
  apiKey?: string;
  /** One line per request and start-up notes; default console.log. */
  log?: (line: string) => void;
}

export interface LocalApi {
  /** Base URL including the stage, such as `http://127.0.0.1:4571/local`. */
  url: string;
  port: number;
  apiKey: string;
  model: RestApiModel;
  /** Methods whose integration is not emulated; they are not served (403 like an unknown path). */
  unsupported: UnsupportedMethod[];
  warnings: string[];
  close(): Promise<void>;
}

function isRestApiModel(value: unknown): value is RestApiModel {
  return typeof value === 'object' && value !== null && 'methods' in value && 'stageName' in value;
}

function loadModel(options: LocalApiOptions): RestApiModel {
  if (isRestApiModel(options.api)) return options.api;
  const template = typeof options.api === 'string' ? loadTemplateFile(options.api) : options.api;
  const model = readRestApiModel(template, {
    region: options.region,
    accountId: '000000000000',
    partition: 'aws',
    stackName: 'local-stack',
    ...options.pseudo,
  });
  if (model === undefined) throw new Error('the template defines no AWS::ApiGateway::RestApi to serve');
  return model;
}

/** Reads the request body, stopping at the payload limit. Undefined means the body was too large. */
function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    if (Number(request.headers['content-length'] ?? 0) > MAX_PAYLOAD_BYTES) {
      request.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_PAYLOAD_BYTES) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > MAX_PAYLOAD_BYTES ? undefined : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Headers with the client's spelling, as `$input.params().header` shows them; the last value wins. */
function requestHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let index = 0; index + 1 < request.rawHeaders.length; index += 2) {
    headers[request.rawHeaders[index] as string] = request.rawHeaders[index + 1] as string;
  }
  return headers;
}

/** `$context.requestTime` in the CLF format API Gateway uses: `09/Apr/2015:12:34:56 +0000`. */
function requestTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (value: number) => String(value).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

function missingParameters(method: MethodModel, params: RequestParameters): string[] {
  if (!method.validator?.validateRequestParameters) return [];
  const missing: string[] = [];
  for (const [key, required] of Object.entries(method.requestParameters)) {
    const match =
      /^method\.request\.(path|querystring|multivaluequerystring|header|multivalueheader)\.(.+)$/.exec(key);
    if (!required || match === null) continue;
    const [, location = '', name = ''] = match;
    const present =
      location === 'path'
        ? params.path[name] !== undefined
        : location.endsWith('querystring')
          ? params.querystring[name] !== undefined
          : Object.keys(params.header).some((header) => header.toLowerCase() === name.toLowerCase());
    if (!present) missing.push(name);
  }
  return missing;
}

/** Picks the request template for a content type, case-insensitively. */
function requestTemplate(templates: Record<string, string>, contentType: string): string | undefined {
  const entry = Object.entries(templates).find(([type]) => type.toLowerCase() === contentType);
  return entry?.[1];
}

function mapIntegrationParameters(
  mappings: Record<string, string>,
  source: MappingSourceRequest,
): Omit<IntegrationRequest, 'body'> {
  const mapped: Omit<IntegrationRequest, 'body'> = { path: {}, querystring: {}, header: {} };
  for (const [key, expression] of Object.entries(mappings)) {
    const match = /^integration\.request\.(path|querystring|header)\.(.+)$/.exec(key);
    if (match === null) continue;
    const [, location = 'header', name = ''] = match;
    const value = evaluateRequestSource(expression, source);
    if (value !== undefined) mapped[location as 'path' | 'querystring' | 'header'][name] = value;
  }
  return mapped;
}

/**
 * Starts a local API Gateway for the RestApi of a compiled template on 127.0.0.1. It serves the AWS integrations
 * to S3 (path) and DynamoDB (action) and MOCK integrations with their mapping templates, checks API keys and
 * required parameters, and logs one line per request.
 */
export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const model = loadModel(options);
  const log = options.log ?? ((line: string) => console.log(line));
  const apiKey = options.apiKey ?? model.apiKeyValues[0] ?? randomBytes(20).toString('hex');
  const acceptedKeys = new Set([apiKey, ...model.apiKeyValues]);
  const routes = new RouteTable(model.methods);
  const stagePrefix = `/${model.stageName}`;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<number> => {
    const started = new Date();
    const requestId = randomUUID();
    const url = new URL(request.url ?? '/', 'http://localhost');
    const httpMethod = (request.method ?? 'GET').toUpperCase();
    const headers = requestHeaders(request);
    const baseContext: Record<string, unknown> = {
      requestId,
      extendedRequestId: requestId,
      apiId: model.apiId,
      stage: model.stageName,
      httpMethod,
      path: url.pathname,
      protocol: `HTTP/${request.httpVersion}`,
      requestTime: requestTime(started),
      requestTimeEpoch: started.getTime(),
      domainName: request.headers.host ?? '127.0.0.1',
      accountId: '000000000000',
      identity: {
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: request.headers['user-agent'] ?? '',
        apiKey: request.headers['x-api-key'] ?? '',
      },
    };
    const send = (status: number, responseHeaders: Record<string, string>, body: Buffer) => {
      response.writeHead(status, {
        ...responseHeaders,
        'x-amzn-requestid': requestId,
        'content-length': String(body.length),
      });
      response.end(body);
      return status;
    };
    const sendGatewayResponse = (type: GatewayResponseType, message?: string) => {
      const rendered = renderGatewayResponse(type, model.gatewayResponses, baseContext, message);
      return send(rendered.statusCode, rendered.headers, rendered.body);
    };

    const inStage = url.pathname === stagePrefix || url.pathname.startsWith(`${stagePrefix}/`);
    const route = inStage ? routes.match(httpMethod, url.pathname.slice(stagePrefix.length)) : undefined;
    if (route === undefined) {
      request.resume();
      return sendGatewayResponse(GATEWAY_RESPONSES.missingAuthenticationToken);
    }
    const { method } = route;
    const context = { ...baseContext, resourcePath: method.resourcePath, resourceId: method.resourceId };
    const bodyBytes = await readBody(request);
    if (bodyBytes === undefined) return sendGatewayResponse(GATEWAY_RESPONSES.requestTooLarge);

    if (method.apiKeyRequired && !acceptedKeys.has(String(request.headers['x-api-key'] ?? '')))
      return sendGatewayResponse(GATEWAY_RESPONSES.invalidApiKey);

    const params: RequestParameters = {
      path: route.pathParameters,
      querystring: Object.fromEntries(url.searchParams.entries()),
      header: headers,
    };
    const missing = missingParameters(method, params);
    if (missing.length > 0)
      return sendGatewayResponse(
        GATEWAY_RESPONSES.badRequestParameters,
        `Missing required request parameters: [${missing.join(', ')}]`,
      );

    const integration = method.integration;
    const contentType = mediaType(request.headers['content-type']) ?? 'application/json';
    const payload = convertRequestPayload(
      { bytes: bodyBytes, binary: isBinaryMediaType(contentType, model.binaryMediaTypes) },
      integration.contentHandling,
    );
    const bodyText = payload.bytes.toString('utf8');
    const templateInput = { body: bodyText, params, context, stageVariables: model.stageVariables };
    const template = requestTemplate(integration.requestTemplates, contentType);
    let integrationBody = payload.bytes;
    if (template !== undefined) {
      try {
        integrationBody = Buffer.from(renderTemplate(template, templateInput));
      } catch (error) {
        if (!(error instanceof InvalidJsonPayloadError)) throw error;
        return sendGatewayResponse(GATEWAY_RESPONSES.badRequestBody, error.message);
      }
    } else {
      const hasTemplates = Object.keys(integration.requestTemplates).length > 0;
      const passthrough =
        integration.passthroughBehavior === 'WHEN_NO_MATCH' ||
        (integration.passthroughBehavior === 'WHEN_NO_TEMPLATES' && !hasTemplates);
      if (!passthrough) return sendGatewayResponse(GATEWAY_RESPONSES.unsupportedMediaType);
    }

    const mapped = mapIntegrationParameters(integration.requestParameters, templateInput);
    let backend: Awaited<ReturnType<typeof callIntegration>>;
    try {
      backend = await callIntegration(
        integration,
        { ...mapped, body: integrationBody },
        { endpoints: options.endpoints, region: options.region, credentials: options.credentials },
      );
    } catch (error) {
      log(`${httpMethod} ${url.pathname}: integration failed: ${(error as Error).message}`);
      if (error instanceof IntegrationRequestError && error.timedOut)
        return sendGatewayResponse(
          { ...GATEWAY_RESPONSES.integrationFailure, type: 'INTEGRATION_TIMEOUT' },
          'Endpoint request timed out',
        );
      return sendGatewayResponse(
        error instanceof IntegrationRequestError
          ? GATEWAY_RESPONSES.integrationFailure
          : GATEWAY_RESPONSES.configurationError,
      );
    }

    const selected = selectIntegrationResponse(integration.responses, backend.statusCode);
    if (selected === undefined) {
      log(
        `${httpMethod} ${url.pathname}: no integration response matches status ${backend.statusCode} and there is no default`,
      );
      return sendGatewayResponse(GATEWAY_RESPONSES.configurationError);
    }
    const methodResponse = buildMethodResponse(selected, backend, {
      accept: request.headers.accept,
      binaryMediaTypes: model.binaryMediaTypes,
      template: { params, context, stageVariables: model.stageVariables },
    });
    return send(methodResponse.statusCode, methodResponse.headers, methodResponse.body);
  };

  const server = createServer((request, response) => {
    const started = Date.now();
    handle(request, response)
      .then((status) => {
        log(`${request.method} ${request.url} ${status} ${Date.now() - started} ms`);
      })
      .catch((error: unknown) => {
        log(`${request.method} ${request.url} failed: ${(error as Error).stack ?? String(error)}`);
        if (!response.headersSent) {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end('{"message": "Internal server error"}');
        } else response.destroy();
      });
  });
  const port = await listenOnLoopback(server, options.port ?? 0, 'API Gateway', options.portOption);
  const unsupportedNote = model.unsupported.map(
    (method) => `${method.httpMethod} ${method.resourcePath}: ${method.reason}`,
  );
  return {
    url: `http://127.0.0.1:${port}${stagePrefix}`,
    port,
    apiKey,
    model,
    unsupported: model.unsupported,
    warnings: [...model.warnings, ...unsupportedNote.map((line) => `not emulated: ${line}`)],
    close: () => closeServer(server),
  };
}
