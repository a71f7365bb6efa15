import type { MethodModel } from './template-model';

/** A method that matched a request path, with the path parameters decoded. */
export interface RouteMatch {
  method: MethodModel;
  pathParameters: Record<string, string>;
}

type Segment = { literal: string } | { parameter: string } | { greedy: string };

function parseSegments(resourcePath: string): Segment[] {
  return resourcePath
    .split('/')
    .filter((part) => part !== '')
    .map((part) => {
      const greedy = /^\{(.+)\+\}$/.exec(part);
      if (greedy?.[1] !== undefined) return { greedy: greedy[1] };
      const parameter = /^\{(.+)\}$/.exec(part);
      if (parameter?.[1] !== undefined) return { parameter: parameter[1] };
      return { literal: part };
    });
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Literal segments rank before `{name}`, which ranks before `{name+}`, as API Gateway prefers the most specific. */
function specificity(segments: Segment[]): number[] {
  return segments.map((segment) => {
    if ('literal' in segment) return 0;
    if ('parameter' in segment) return 1;
    return 2;
  });
}

function compareSpecificity(left: number[], right: number[]): number {
  for (let index = 0; index < Math.max(left.length, right.length); index += 1) {
    const difference = (left[index] ?? -1) - (right[index] ?? -1);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * The RestApi's methods by resource path, matched against raw request paths. Segments are split before decoding,
 * so `%2F` stays inside one path parameter and is decoded into it.
 */
export class RouteTable {
  private readonly resources: { path: string; segments: Segment[]; methods: MethodModel[] }[] = [];

  constructor(methods: MethodModel[]) {
    for (const method of methods) {
      let resource = this.resources.find((candidate) => candidate.path === method.resourcePath);
      if (resource === undefined) {
        resource = { path: method.resourcePath, segments: parseSegments(method.resourcePath), methods: [] };
        this.resources.push(resource);
      }
      resource.methods.push(method);
    }
    this.resources.sort((left, right) =>
      compareSpecificity(specificity(left.segments), specificity(right.segments)),
    );
  }

  /** Finds the method for a raw (still percent-encoded) path below the stage, or undefined. */
  match(httpMethod: string, rawPath: string): RouteMatch | undefined {
    // Empty segments are kept, and match no resource, because `//key` must not match `{key}` as `key`: that would
    // store a different key than the client sent.
    const parts = rawPath.replace(/^\//, '').split('/');
    if (parts.length === 1 && parts[0] === '') parts.pop();
    for (const resource of this.resources) {
      const pathParameters = matchSegments(resource.segments, parts);
      if (pathParameters === undefined) continue;
      const method =
        resource.methods.find((candidate) => candidate.httpMethod === httpMethod) ??
        resource.methods.find((candidate) => candidate.httpMethod === 'ANY');
      // API Gateway treats a method the resource lacks like an unknown path, so no other resource is tried.
      return method === undefined ? undefined : { method, pathParameters };
    }
    return undefined;
  }
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (const [index, segment] of segments.entries()) {
    if ('greedy' in segment) {
      const rest = parts.slice(index);
      if (rest.every((part) => part === '')) return undefined;
      const decoded = decodeSegment(rest.join('/'));
      if (decoded === undefined) return undefined;
      parameters[segment.greedy] = decoded;
      return parameters;
    }
    const part = parts[index];
    if (part === undefined || part === '') return undefined;
    const decoded = decodeSegment(part);
    if (decoded === undefined) return undefined;
    if ('literal' in segment) {
      if (decoded !== segment.literal) return undefined;
    } else parameters[segment.parameter] = decoded;
  }
  return parts.length === segments.length ? parameters : undefined;
}
