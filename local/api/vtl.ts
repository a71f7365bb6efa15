import { JSONPath } from 'jsonpath-plus';
import { Compile, parse } from 'velocityjs';
import { javaMethodHandlers } from './java-methods';
import { templateUtil } from './vtl-util';

/** Method request parameters by location, as `$input.params()` returns them. */
export interface RequestParameters {
  path: Record<string, string>;
  querystring: Record<string, string>;
  header: Record<string, string>;
}

/** Input of a mapping template: the payload, the request parameters, `$context` and `$stageVariables`. */
export interface TemplateInput {
  /** The payload as text: the method request body, or the integration response body in a response template. */
  body: string;
  params: RequestParameters;
  context: Record<string, unknown>;
  stageVariables: Record<string, string>;
}

/** `$input.json` or `$input.path` was called on a payload that is not JSON; API Gateway responds with 400. */
export class InvalidJsonPayloadError extends Error {
  override name = 'InvalidJsonPayloadError';
}

/** Parses the payload once; an empty payload reads as `{}`, as in API Gateway. */
function payloadReader(body: string): () => unknown {
  let parsed: { value: unknown } | undefined;
  return () => {
    if (parsed === undefined) {
      if (body.trim() === '') parsed = { value: {} };
      else {
        try {
          parsed = { value: JSON.parse(body) };
        } catch (error) {
          throw new InvalidJsonPayloadError(
            `Could not parse request body into json: ${(error as Error).message}`,
            { cause: error },
          );
        }
      }
    }
    return parsed.value;
  };
}

function evaluatePath(payload: unknown, expression: unknown): unknown {
  return JSONPath({ path: String(expression), json: payload as object, wrap: false });
}

/** Finds a parameter in the path, then the query string, then the headers (headers ignore case). */
export function findParameter(params: RequestParameters, name: string): string | undefined {
  if (Object.hasOwn(params.path, name)) return params.path[name];
  if (Object.hasOwn(params.querystring, name)) return params.querystring[name];
  const header = Object.keys(params.header).find((key) => key.toLowerCase() === name.toLowerCase());
  return header === undefined ? undefined : params.header[header];
}

/** Builds the `$input` object of a template. */
function inputVariable(input: TemplateInput) {
  const payload = payloadReader(input.body);
  return {
    body: input.body,
    /** Returns the JSONPath result as a JSON string. */
    json: (expression: unknown) => {
      const result = evaluatePath(payload(), expression);
      return result === undefined ? '' : JSON.stringify(result);
    },
    /** Returns the JSONPath result as an object the template can walk. */
    path: (expression: unknown) => evaluatePath(payload(), expression),
    /** Without a name: every parameter by location. With a name: its value, or an empty string. */
    params: (name?: unknown) => {
      if (name === undefined) return input.params;
      return findParameter(input.params, String(name)) ?? '';
    },
  };
}

const compiledTemplates = new Map<string, ReturnType<typeof parse>>();

/**
 * Renders an API Gateway mapping template. A reference that resolves to nothing is written out as its own text,
 * as Apache Velocity does, unless the template uses the quiet form `$!{name}`.
 */
export function renderTemplate(template: string, input: TemplateInput): string {
  let ast = compiledTemplates.get(template);
  if (ast === undefined) {
    ast = parse(template);
    compiledTemplates.set(template, ast);
  }
  const compiler = new Compile(ast, { escape: false, customMethodHandlers: javaMethodHandlers });
  return compiler.render({
    input: inputVariable(input),
    util: templateUtil,
    context: input.context,
    stageVariables: input.stageVariables,
  });
}
