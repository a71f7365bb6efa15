/**
 * The `$util` functions of API Gateway mapping templates. API Gateway runs Apache Velocity on Java, so each function
 * follows the Java library it is built on (commons-lang escapeJavaScript, java.net.URLEncoder), not the browser's.
 */

function hex(code: number, width: number): string {
  return code.toString(16).toUpperCase().padStart(width, '0');
}

/**
 * Escapes a string with JavaScript string rules as commons-lang 2 `StringEscapeUtils.escapeJavaScript` does:
 * `'` becomes `\'` (not valid in JSON, as the API Gateway documentation warns), `/` becomes `\/`, and every
 * character outside ASCII becomes `\uXXXX`.
 */
export function escapeJavaScript(value: unknown): string {
  const text = String(value ?? '');
  let escaped = '';
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    const character = text.charAt(index);
    if (code > 0x7f) {
      escaped += `\\u${hex(code, 4)}`;
      continue;
    }
    if (code < 0x20) {
      const named: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };
      escaped += named[code] ?? `\\u${hex(code, 4)}`;
      continue;
    }
    switch (character) {
      case "'":
      case '"':
      case '\\':
      case '/':
        escaped += `\\${character}`;
        break;
      default:
        escaped += character;
    }
  }
  return escaped;
}

/** Encodes as `application/x-www-form-urlencoded` (java.net.URLEncoder, UTF-8): a space becomes `+`. */
export function urlEncode(value: unknown): string {
  return encodeURIComponent(String(value ?? ''))
    .replace(/%20/g, '+')
    .replace(/[!'()~]/g, (character) => `%${hex(character.charCodeAt(0), 2)}`);
}

/** Decodes `application/x-www-form-urlencoded` text (java.net.URLDecoder): `+` becomes a space. */
export function urlDecode(value: unknown): string {
  return decodeURIComponent(String(value ?? '').replace(/\+/g, ' '));
}

export function base64Encode(value: unknown): string {
  return Buffer.from(String(value ?? ''), 'utf8').toString('base64');
}

export function base64Decode(value: unknown): string {
  return Buffer.from(String(value ?? ''), 'base64').toString('utf8');
}

/** Parses a JSON string into an object that the template can walk (`$util.parseJson($input.json('$')).name`). */
export function parseJson(value: unknown): unknown {
  return JSON.parse(String(value));
}

/** The `$util` object of a mapping template. */
export const templateUtil = {
  escapeJavaScript,
  parseJson,
  urlEncode,
  urlDecode,
  base64Encode,
  base64Decode,
};
