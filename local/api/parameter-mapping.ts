import { JSONPath } from 'jsonpath-plus';
import type { RequestParameters } from './vtl';

/** The method request as parameter mappings read it. */
export interface MappingSourceRequest {
  params: RequestParameters;
  body: string;
  context: Record<string, unknown>;
  stageVariables: Record<string, string>;
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
}

function bodyPath(body: string, expression: string): string | undefined {
  try {
    const result = JSONPath({ path: `$.${expression}`, json: JSON.parse(body) as object, wrap: false });
    if (result === undefined) return undefined;
    return typeof result === 'string' ? result : JSON.stringify(result);
  } catch {
    return undefined;
  }
}

function dottedValue(root: Record<string, unknown>, path: string): string | undefined {
  let value: unknown = root;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value === undefined || value === null ? undefined : String(value);
}

/** A static value in single quotes, or undefined. */
export function staticValue(source: string): string | undefined {
  return /^'(.*)'$/s.exec(source)?.[1];
}

/**
 * Evaluates the source of an integration request parameter mapping: `'static'`, `method.request.path|querystring|
 * header.NAME`, `method.request.body` or `method.request.body.JSONPATH`, `context.NAME` or `stageVariables.NAME`.
 * Returns undefined when the source has no value, so the parameter is left out.
 */
export function evaluateRequestSource(source: string, request: MappingSourceRequest): string | undefined {
  const literal = staticValue(source);
  if (literal !== undefined) return literal;
  const parameter =
    /^method\.request\.(path|querystring|multivaluequerystring|header|multivalueheader)\.(.+)$/.exec(source);
  if (parameter !== null) {
    const [, location = '', name = ''] = parameter;
    if (location === 'path') return request.params.path[name];
    if (location.endsWith('querystring')) return request.params.querystring[name];
    return headerValue(request.params.header, name);
  }
  if (source === 'method.request.body') return request.body;
  if (source.startsWith('method.request.body.')) return bodyPath(request.body, source.slice(20));
  if (source.startsWith('context.')) return dottedValue(request.context, source.slice(8));
  if (source.startsWith('stageVariables.')) return request.stageVariables[source.slice(15)];
  return undefined;
}

/**
 * Evaluates the source of a method response header mapping: `'static'`, `integration.response.header.NAME`,
 * `integration.response.body` or `integration.response.body.JSONPATH`.
 */
export function evaluateResponseSource(
  source: string,
  response: { headers: Record<string, string>; body: string },
): string | undefined {
  const literal = staticValue(source);
  if (literal !== undefined) return literal;
  if (source.startsWith('integration.response.header.'))
    return headerValue(response.headers, source.slice('integration.response.header.'.length));
  if (source.startsWith('integration.response.multivalueheader.'))
    return headerValue(response.headers, source.slice('integration.response.multivalueheader.'.length));
  if (source === 'integration.response.body') return response.body;
  if (source.startsWith('integration.response.body.'))
    return bodyPath(response.body, source.slice('integration.response.body.'.length));
  return undefined;
}
