import type { GatewayResponseModel } from './template-model';
import { renderTemplate } from './vtl';

/** A response API Gateway sends itself, before or instead of the integration. */
export interface GatewayResponseType {
  /** The GatewayResponse ResponseType that customises it. */
  type: string;
  statusCode: number;
  message: string;
  /** The `x-amzn-ErrorType` header value. */
  errorType: string;
}

/** The gateway responses the emulator sends, with API Gateway's default status codes and messages. */
export const GATEWAY_RESPONSES = {
  missingAuthenticationToken: {
    type: 'MISSING_AUTHENTICATION_TOKEN',
    statusCode: 403,
    message: 'Missing Authentication Token',
    errorType: 'MissingAuthenticationTokenException',
  },
  invalidApiKey: {
    type: 'INVALID_API_KEY',
    statusCode: 403,
    message: 'Forbidden',
    errorType: 'ForbiddenException',
  },
  badRequestParameters: {
    type: 'BAD_REQUEST_PARAMETERS',
    statusCode: 400,
    message: 'Missing required request parameters',
    errorType: 'BadRequestException',
  },
  badRequestBody: {
    type: 'BAD_REQUEST_BODY',
    statusCode: 400,
    message: 'Invalid request body',
    errorType: 'BadRequestException',
  },
  unsupportedMediaType: {
    type: 'UNSUPPORTED_MEDIA_TYPE',
    statusCode: 415,
    message: 'Unsupported Media Type',
    errorType: 'UnsupportedMediaTypeException',
  },
  requestTooLarge: {
    type: 'REQUEST_TOO_LARGE',
    statusCode: 413,
    message: 'Request Too Long',
    errorType: 'RequestTooLargeException',
  },
  integrationFailure: {
    type: 'INTEGRATION_FAILURE',
    statusCode: 504,
    message: 'Internal server error',
    errorType: 'InternalServerErrorException',
  },
  configurationError: {
    type: 'API_CONFIGURATION_ERROR',
    statusCode: 500,
    message: 'Internal server error',
    errorType: 'InternalServerErrorException',
  },
} as const satisfies Record<string, GatewayResponseType>;

const DEFAULT_TEMPLATE = '{"message":$context.error.messageString}';

const VALIDATION_RESPONSE_TYPES = new Set<string>(['BAD_REQUEST_PARAMETERS', 'BAD_REQUEST_BODY']);

export interface RenderedResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Builds a gateway response: the customisation of its type wins, then DEFAULT_4XX or DEFAULT_5XX, then API
 * Gateway's default body `{"message": ...}`. Header values are static strings in single quotes.
 */
export function renderGatewayResponse(
  response: GatewayResponseType,
  customisations: Record<string, GatewayResponseModel>,
  context: Record<string, unknown>,
  message: string = response.message,
): RenderedResponse {
  const fallback = response.statusCode >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX';
  const custom = customisations[response.type] ?? customisations[fallback];
  const statusCode = Number(custom?.statusCode ?? response.statusCode);
  const template = custom?.responseTemplates['application/json'] ?? DEFAULT_TEMPLATE;
  const errorContext = {
    ...context,
    error: {
      message,
      messageString: JSON.stringify(message),
      responseType: response.type,
      // The detailed validation message; API Gateway sets it for request validation failures only.
      validationErrorString: VALIDATION_RESPONSE_TYPES.has(response.type) ? message : '',
    },
  };
  const body = renderTemplate(template, {
    body: '',
    params: { path: {}, querystring: {}, header: {} },
    context: errorContext,
    stageVariables: {},
  });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-amzn-errortype': response.errorType,
  };
  for (const [key, value] of Object.entries(custom?.responseParameters ?? {})) {
    const name = /^gatewayresponse\.header\.(.+)$/.exec(key)?.[1];
    const literal = /^'(.*)'$/s.exec(value)?.[1];
    if (name !== undefined && literal !== undefined) headers[name.toLowerCase()] = literal;
  }
  return { statusCode, headers, body: Buffer.from(body) };
}
