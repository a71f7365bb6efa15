import type { BackendResponse } from './aws-request';
import { evaluateResponseSource } from './parameter-mapping';
import {
  convertResponsePayload,
  firstAcceptedType,
  isBinaryMediaType,
  mediaType,
  type Payload,
} from './payload-encoding';
import type { IntegrationResponseModel } from './template-model';
import { renderTemplate, type TemplateInput } from './vtl';

/**
 * Picks the integration response for a backend status code: the first whose SelectionPattern matches the whole
 * status code (AWS and HTTP integrations match the status code, Lambda the error message), else the default one
 * without a pattern. Undefined means API Gateway's configuration error (500).
 */
export function selectIntegrationResponse(
  responses: IntegrationResponseModel[],
  statusCode: number,
): IntegrationResponseModel | undefined {
  const status = String(statusCode);
  const matched = responses.find(
    (response) =>
      response.selectionPattern !== undefined &&
      new RegExp(`^(?:${response.selectionPattern})$`).test(status),
  );
  return matched ?? responses.find((response) => response.selectionPattern === undefined);
}

interface ResponseOverride {
  status?: unknown;
  header: Record<string, unknown>;
}

export interface MethodResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface MethodResponseOptions {
  accept: string | undefined;
  binaryMediaTypes: string[];
  /** `$input.params()`, `$context` and `$stageVariables` of the method request. */
  template: Omit<TemplateInput, 'body'>;
}

/** Picks the response template by the first Accept type, then `application/json`, then the first one. */
function pickResponseTemplate(
  templates: Record<string, string>,
  accept: string | undefined,
): [string, string] | undefined {
  const requestedType = firstAcceptedType(accept);
  const entries = Object.entries(templates);
  return (
    entries.find(([type]) => type.toLowerCase() === requestedType) ??
    entries.find(([type]) => type.toLowerCase() === 'application/json') ??
    entries[0]
  );
}

/**
 * Maps the backend response to the method response: header mappings, payload conversion and the response
 * template. A binary payload that stays binary goes out unchanged, without a template.
 */
export function buildMethodResponse(
  selected: IntegrationResponseModel,
  backend: BackendResponse,
  options: MethodResponseOptions,
): MethodResponse {
  const binaryIn = isBinaryMediaType(mediaType(backend.headers['content-type']), options.binaryMediaTypes);
  const acceptBinary = isBinaryMediaType(firstAcceptedType(options.accept), options.binaryMediaTypes);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  let overrides: ResponseOverride = { header: {} };
  // A text payload (or a binary one converted to text) goes through the response template. Anything else follows the
  // conversion table. NOTE: the order of templates and conversions for a text payload with a binary Accept type is
  // not documented. The template is applied first here, so error templates still apply to image requests.
  const templated = !binaryIn || selected.contentHandling === 'CONVERT_TO_TEXT';
  const template = templated ? pickResponseTemplate(selected.responseTemplates, options.accept) : undefined;
  let payload: Payload;
  if (template !== undefined && template[1] !== '') {
    const [contentType, text] = template;
    headers['content-type'] = contentType;
    const context = { ...options.template.context, responseOverride: { header: {} } };
    const input = binaryIn ? backend.body.toString('base64') : backend.body.toString('utf8');
    const rendered = Buffer.from(renderTemplate(text, { ...options.template, context, body: input }));
    overrides = context.responseOverride as ResponseOverride;
    payload =
      selected.contentHandling === 'CONVERT_TO_BINARY'
        ? { bytes: Buffer.from(rendered.toString('utf8'), 'base64'), binary: true }
        : { bytes: rendered, binary: false };
  } else {
    if (template !== undefined) headers['content-type'] = template[0];
    payload = convertResponsePayload(
      { bytes: backend.body, binary: binaryIn },
      acceptBinary,
      selected.contentHandling,
      options.binaryMediaTypes.length > 0,
    );
  }
  const body = payload.bytes;

  const bodyText = binaryIn ? '' : backend.body.toString('utf8');
  for (const [key, source] of Object.entries(selected.responseParameters)) {
    const name = /^method\.response\.header\.(.+)$/.exec(key)?.[1];
    if (name === undefined) continue;
    const value = evaluateResponseSource(source, { headers: backend.headers, body: bodyText });
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  // `#set($context.responseOverride.status = 404)` in a response template replaces the status code and headers.
  for (const [name, value] of Object.entries(overrides.header)) headers[name.toLowerCase()] = String(value);
  const status = Number(overrides.status);
  return {
    statusCode: Number.isInteger(status) && status > 0 ? status : Number(selected.statusCode),
    headers,
    body,
  };
}
