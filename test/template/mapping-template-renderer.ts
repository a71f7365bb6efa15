import { renderTemplate } from '../../local/api/vtl';

export { escapeJavaScript } from '../../local/api/vtl-util';

/**
 * Renders the compiled template's mapping templates with the local API Gateway emulator's VTL engine, so that these
 * tests check the same rendering `npm start` serves. The engine follows the API Gateway mapping template reference
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html).
 */

export interface MappingRequest {
  body?: unknown;
  path?: Record<string, string>;
  querystring?: Record<string, string>;
  header?: Record<string, string>;
}

export interface RenderedTemplate {
  output: string;
  /** `$context.responseOverride.status` when the template set it. */
  statusOverride?: number;
}

/** Renders one mapping template against a request body (request templates) or an integration response body. */
export function renderMappingTemplate(template: string, request: MappingRequest): RenderedTemplate {
  const context: Record<string, unknown> = { responseOverride: { header: {} } };
  const output = renderTemplate(template, {
    body: request.body === undefined ? '' : JSON.stringify(request.body),
    params: {
      path: request.path ?? {},
      querystring: request.querystring ?? {},
      header: request.header ?? {},
    },
    context,
    stageVariables: {},
  });
  const status = (context.responseOverride as { status?: unknown }).status;
  return status === undefined ? { output } : { output, statusOverride: Number(status) };
}
