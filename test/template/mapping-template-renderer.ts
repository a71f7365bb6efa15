import { JSONPath } from 'jsonpath-plus';
import { render } from 'velocityjs';

/**
 * A minimal stand-in for API Gateway's mapping template engine, with only what resources/api.yml uses. It follows
 * the API Gateway mapping template reference (https://docs.aws.amazon.com/apigateway/latest/developerguide/
 * api-gateway-mapping-template-reference.html): `$input.path` returns the value at a JSONPath, `$input.json`
 * returns it as a JSON string, `$input.params(name)` searches path, query string and headers in that order.
 * `$util.escapeJavaScript` follows Apache Commons Lang 2 StringEscapeUtils.escapeJavaScript, which escapes `'`
 * as `\'`; `$util.urlEncode` follows java.net.URLEncoder. Strings get Java's `matches` and `replaceAll`.
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

function valueAt(body: unknown, path: string): unknown {
  const [first] = JSONPath({ path, json: body as object, wrap: true }) as unknown[];
  return first;
}

/** Commons Lang 2.6 escapeJavaScript: `"`, `'`, `\`, `/`, control characters and everything above 0x7E. */
export function escapeJavaScript(text: string): string {
  let escaped = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    const units = code > 0xffff ? [...String.fromCodePoint(code)].map((unit) => unit.charCodeAt(0)) : [code];
    // Surrogate pairs were split above, because Commons Lang walks UTF-16 code units.
    const pair = char.length === 2 ? [char.charCodeAt(0), char.charCodeAt(1)] : units;
    for (const unit of pair) escaped += escapeUnit(unit);
  }
  return escaped;
}

function escapeUnit(unit: number): string {
  const hex = unit.toString(16).toUpperCase();
  if (unit > 0xfff) return `\\u${hex}`;
  if (unit > 0xff) return `\\u0${hex}`;
  if (unit > 0x7f) return `\\u00${hex}`;
  const named: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };
  if (unit < 32) return named[unit] ?? (unit > 0xf ? `\\u00${hex}` : `\\u000${hex}`);
  const char = String.fromCharCode(unit);
  if (char === "'" || char === '"' || char === '\\' || char === '/') return `\\${char}`;
  return char;
}

/** java.net.URLEncoder with UTF-8: letters, digits and `.-*_` stay, space becomes `+`, the rest %XX. */
export function urlEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      if (/[A-Za-z0-9.\-*_]/.test(char)) return char;
      if (char === ' ') return '+';
      return `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

const javaStringMethods = [
  {
    uid: 'java-string-matches',
    match: ({ property, context }: { property: string; context: unknown }) =>
      property === 'matches' && typeof context === 'string',
    resolve: ({ context, params }: { context: string; params: unknown[] }) =>
      new RegExp(`^(?:${String(params[0])})$`, 'u').test(context),
  },
  {
    uid: 'java-string-replace-all',
    match: ({ property, context }: { property: string; context: unknown }) =>
      property === 'replaceAll' && typeof context === 'string',
    resolve: ({ context, params }: { context: string; params: unknown[] }) =>
      context.replace(new RegExp(String(params[0]), 'gu'), () => String(params[1])),
  },
];

/** Renders one mapping template against a request body (request templates) or an integration response body. */
export function renderMappingTemplate(template: string, request: MappingRequest): RenderedTemplate {
  const context = { responseOverride: {} as { status?: number } };
  const input = {
    path: (path: string) => valueAt(request.body, path),
    json: (path: string) => JSON.stringify(valueAt(request.body, path) ?? null),
    params: (name: string) =>
      request.path?.[name] ?? request.querystring?.[name] ?? request.header?.[name] ?? '',
  };
  const util = {
    escapeJavaScript,
    urlEncode,
    base64Encode: (text: string) => Buffer.from(text, 'utf8').toString('base64'),
    base64Decode: (text: string) => Buffer.from(text, 'base64').toString('utf8'),
    parseJson: (text: string) => JSON.parse(text) as unknown,
  };

  const output = render(template, { input, util, context }, {}, {
    escape: false,
    customMethodHandlers: javaStringMethods,
  } as never);
  const { status } = context.responseOverride;
  return status === undefined ? { output } : { output, statusOverride: Number(status) };
}
