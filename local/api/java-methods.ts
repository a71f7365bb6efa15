/**
 * Java methods that API Gateway templates call on strings, lists and maps, for velocityjs, which otherwise calls
 * the JavaScript method of the same name (JavaScript's `replace` replaces the first literal match, Java's replaces
 * every one, and `length()` is a property in JavaScript).
 */

interface MethodCall {
  property: string;
  context: unknown;
  params: unknown[];
}

interface MethodHandler {
  uid: string;
  match(call: MethodCall): boolean;
  resolve(call: MethodCall): unknown;
}

/** Converts a Java regular expression to a JavaScript one; the syntax used in templates is common to both. */
function javaRegex(pattern: unknown, flags = ''): RegExp {
  return new RegExp(String(pattern), flags);
}

/** Java's replacement strings use `$1` as JavaScript does, but `\$` for a literal dollar sign. */
function javaReplacement(replacement: unknown): string {
  return String(replacement).replace(/\\\$/g, '$$$$').replace(/\\\\/g, '\\');
}

const stringMethods: Record<string, (text: string, params: unknown[]) => unknown> = {
  length: (text) => text.length,
  isEmpty: (text) => text.length === 0,
  contains: (text, [part]) => text.includes(String(part)),
  equals: (text, [other]) => text === String(other),
  equalsIgnoreCase: (text, [other]) => text.toLowerCase() === String(other).toLowerCase(),
  matches: (text, [pattern]) => javaRegex(`^(?:${String(pattern)})$`).test(text),
  replace: (text, [target, replacement]) => text.split(String(target)).join(String(replacement)),
  replaceAll: (text, [pattern, replacement]) =>
    text.replace(javaRegex(pattern, 'g'), javaReplacement(replacement)),
  replaceFirst: (text, [pattern, replacement]) =>
    text.replace(javaRegex(pattern), javaReplacement(replacement)),
  split: (text, [pattern]) => text.split(javaRegex(pattern)),
  toString: (text: string) => text,
};

const listMethods: Record<string, (list: unknown[], params: unknown[]) => unknown> = {
  isEmpty: (list) => list.length === 0,
  contains: (list, [item]) => list.includes(item),
};

const mapMethods: Record<string, (map: Record<string, unknown>, params: unknown[]) => unknown> = {
  containsKey: (map, [key]) => Object.hasOwn(map, String(key)),
  isEmpty: (map) => Object.keys(map).length === 0,
};

/** Handlers for velocityjs's `customMethodHandlers` option. */
export const javaMethodHandlers: MethodHandler[] = [
  {
    uid: 'java-string',
    match: ({ property, context }) => typeof context === 'string' && Object.hasOwn(stringMethods, property),
    resolve: ({ property, context, params }) => stringMethods[property]?.(context as string, params),
  },
  {
    uid: 'java-list',
    match: ({ property, context }) => Array.isArray(context) && Object.hasOwn(listMethods, property),
    resolve: ({ property, context, params }) => listMethods[property]?.(context as unknown[], params),
  },
  {
    uid: 'java-map',
    match: ({ property, context }) =>
      typeof context === 'object' &&
      context !== null &&
      !Array.isArray(context) &&
      Object.hasOwn(mapMethods, property) &&
      !Object.hasOwn(context, property),
    resolve: ({ property, context, params }) =>
      mapMethods[property]?.(context as Record<string, unknown>, params),
  },
];
