import { type BackendResponse, type SigningCredentials, sendSignedRequest } from './aws-request';
import type { IntegrationModel } from './template-model';

/** Loopback endpoints of the services the integrations call. */
export interface ServiceEndpoints {
  s3: string;
  dynamodb: string;
}

/** The integration request after parameter mapping and template rendering. */
export interface IntegrationRequest {
  /** `integration.request.{path,querystring,header}.NAME` values. */
  path: Record<string, string>;
  querystring: Record<string, string>;
  header: Record<string, string>;
  body: Buffer;
}

export interface IntegrationCallOptions {
  endpoints: ServiceEndpoints;
  region: string;
  credentials: SigningCredentials;
}

/** Percent-encodes a path parameter value as API Gateway does when it substitutes it into the integration path. */
function encodePathValue(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Fills `{name}` placeholders of an `s3:path/...` template from `integration.request.path.name`. */
export function integrationPath(pathTemplate: string, path: Record<string, string>): string {
  return `/${pathTemplate.replace(/\{([^}]+)\}/g, (_placeholder, name: string) => {
    const value = path[name];
    if (value === undefined)
      throw new Error(
        `integration path ${pathTemplate} needs integration.request.path.${name}, which is not mapped`,
      );
    return encodePathValue(value);
  })}`;
}

/**
 * Calls the integration's backend. MOCK responds with the status code in the rendered body (`{"statusCode": 404}`),
 * 200 when it names none, and an empty body, as API Gateway's mock integration does.
 */
export async function callIntegration(
  integration: IntegrationModel,
  request: IntegrationRequest,
  options: IntegrationCallOptions,
): Promise<BackendResponse> {
  const target = integration.target;
  switch (target.kind) {
    case 'mock': {
      let statusCode = 200;
      try {
        const parsed = JSON.parse(request.body.toString('utf8')) as { statusCode?: unknown };
        if (Number.isInteger(Number(parsed.statusCode))) statusCode = Number(parsed.statusCode);
      } catch {
        // A body that is not JSON names no status code.
      }
      return { statusCode, headers: {}, body: Buffer.alloc(0) };
    }
    case 's3-path':
      return sendSignedRequest({
        endpoint: options.endpoints.s3,
        service: 's3',
        region: options.region,
        credentials: options.credentials,
        method: integration.httpMethod,
        path: integrationPath(target.pathTemplate, request.path),
        query: request.querystring,
        headers: lowerCaseKeys(request.header),
        body: request.body,
      });
    case 'dynamodb-action':
      return sendSignedRequest({
        endpoint: options.endpoints.dynamodb,
        service: 'dynamodb',
        region: options.region,
        credentials: options.credentials,
        method: 'POST',
        path: '/',
        query: request.querystring,
        headers: {
          ...lowerCaseKeys(request.header),
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `DynamoDB_20120810.${target.action}`,
        },
        body: request.body,
      });
  }
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
