import type { CloudFormationResource, CloudFormationTemplate } from './compiled-template';

type Json = unknown;

function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Renders a CloudFormation value as the string it becomes at deploy time. Values that exist only in a deployment
 * are written as Fn::Sub placeholders: `{"Ref": "AWS::Partition"}` becomes `${AWS::Partition}`,
 * `{"Fn::GetAtt": ["ImagesTable", "Arn"]}` becomes `${ImagesTable.Arn}`. Fn::Join and Fn::Sub (with or without a
 * variable map) are expanded, so equal ARNs compare equal however the template spells them.
 */
export function renderString(value: Json): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (!isRecord(value)) throw new Error(`cannot render ${JSON.stringify(value)} as a string`);

  if (typeof value.Ref === 'string') return `\${${value.Ref}}`;

  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `\${${getAtt.join('.')}}`;
  if (typeof getAtt === 'string') return `\${${getAtt}}`;

  const join = value['Fn::Join'];
  if (Array.isArray(join)) {
    const [separator, parts] = join;
    if (typeof separator !== 'string' || !Array.isArray(parts)) {
      throw new Error(`malformed Fn::Join ${JSON.stringify(join)}`);
    }
    return parts.map(renderString).join(separator);
  }

  const sub = value['Fn::Sub'];
  if (typeof sub === 'string') return sub;
  if (Array.isArray(sub)) {
    const [template, variables] = sub;
    if (typeof template !== 'string' || !isRecord(variables)) {
      throw new Error(`malformed Fn::Sub ${JSON.stringify(sub)}`);
    }
    return template.replace(/\$\{([^}!]+)\}/g, (placeholder, name: string) =>
      name in variables ? renderString(variables[name]) : placeholder,
    );
  }

  throw new Error(`cannot render ${JSON.stringify(value)} as a string`);
}

/** Renders a value that may be one item or a list as a list of strings (IAM's Action and Resource). */
export function renderList(value: Json): string[] {
  return (Array.isArray(value) ? value : [value]).map(renderString);
}

/** Logical IDs of the template's resources of one type. */
export function resourcesOfType(template: CloudFormationTemplate, type: string): string[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId]) => logicalId);
}

/** Returns a resource, failing the test with its name when the template lacks it. */
export function resource(template: CloudFormationTemplate, logicalId: string): CloudFormationResource {
  const found = template.Resources[logicalId];
  if (found === undefined) throw new Error(`template has no resource ${logicalId}`);
  return found;
}

/** Reads a property path such as `BucketEncryption.ServerSideEncryptionConfiguration` of a resource. */
export function property(template: CloudFormationTemplate, logicalId: string, propertyPath: string): Json {
  let current: Json = resource(template, logicalId).Properties;
  for (const key of propertyPath.split('.')) {
    current = isRecord(current) ? current[key] : undefined;
  }
  return current;
}

/**
 * Lists the names a resource refers to: targets of Ref, Fn::GetAtt and Fn::Sub placeholders, and DependsOn.
 * Pseudo parameters (AWS::...) and Fn::Sub's own variable names are left out; parameters would remain.
 */
export function referencedNames(resourceDefinition: CloudFormationResource): Set<string> {
  const found = new Set<string>();
  const add = (name: string) => {
    if (!name.startsWith('AWS::')) found.add(name);
  };

  const visit = (node: Json) => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (!isRecord(node)) return;

    for (const [key, value] of Object.entries(node)) {
      if (key === 'Ref' && typeof value === 'string') add(value);
      else if (key === 'Fn::GetAtt') {
        const target = Array.isArray(value) ? value[0] : String(value).split('.')[0];
        if (typeof target === 'string') add(target);
      } else if (key === 'Fn::Sub') {
        const [template, variables] = Array.isArray(value) ? value : [value, {}];
        const localNames = new Set(isRecord(variables) ? Object.keys(variables) : []);
        if (typeof template === 'string') {
          for (const match of template.matchAll(/\$\{([^}!]+)\}/g)) {
            const name = (match[1] ?? '').split('.')[0] ?? '';
            if (!localNames.has(name)) add(name);
          }
        }
        visit(variables);
      } else visit(value);
    }
  };

  visit(resourceDefinition.Properties);
  for (const name of [resourceDefinition.DependsOn ?? []].flat()) add(name);
  return found;
}

/** Builds the template's dependency graph: each logical ID maps to the logical IDs it needs first. */
export function dependencyGraph(template: CloudFormationTemplate): Map<string, Set<string>> {
  const logicalIds = new Set(Object.keys(template.Resources));
  const graph = new Map<string, Set<string>>();
  for (const [logicalId, definition] of Object.entries(template.Resources)) {
    const names = [...referencedNames(definition)];
    graph.set(logicalId, new Set(names.filter((name) => logicalIds.has(name))));
  }
  return graph;
}

/** Returns one dependency cycle as a path that starts and ends on the same node, or undefined when acyclic. */
export function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];

  const visit = (node: string): string[] | undefined => {
    const seen = state.get(node);
    if (seen === 'done') return undefined;
    if (seen === 'visiting') return [...stack.slice(stack.indexOf(node)), node];

    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };

  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}
