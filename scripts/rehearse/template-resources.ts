/** The parts of a compiled CloudFormation template that the rehearsal reads. */
export interface CompiledTemplate {
  Parameters?: Record<string, { Default?: string }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Condition?: string; Properties?: Record<string, unknown> }>;
}

/** Evaluates one condition expression with the parameters' default values. */
function evaluate(
  expression: unknown,
  template: CompiledTemplate,
  parameters: Record<string, string>,
): unknown {
  if (typeof expression !== 'object' || expression === null) return expression;
  const [[name, argument]] = Object.entries(expression) as [[string, unknown]];
  const list = () => (argument as unknown[]).map((item) => evaluate(item, template, parameters));
  switch (name) {
    case 'Ref': {
      const value = parameters[argument as string];
      if (value === undefined) {
        throw new Error(
          `condition refers to ${String(argument)}, which is missing from the parameters with a default value`,
        );
      }
      return value;
    }
    case 'Condition':
      return evaluate(template.Conditions?.[argument as string], template, parameters);
    case 'Fn::Equals': {
      const [left, right] = list();
      return String(left) === String(right);
    }
    case 'Fn::Not':
      return !list()[0];
    case 'Fn::And':
      return list().every(Boolean);
    case 'Fn::Or':
      return list().some(Boolean);
    default:
      throw new Error(
        `condition function ${name} is not supported by the rehearsal; extend template-resources.ts`,
      );
  }
}

/**
 * Returns the logical id and type of every resource that CloudFormation creates from the template when each
 * parameter keeps its default value, that is, every resource whose Condition is true.
 */
export function expectedResources(template: CompiledTemplate): Map<string, string> {
  const parameters: Record<string, string> = {};
  for (const [name, parameter] of Object.entries(template.Parameters ?? {})) {
    if (parameter.Default !== undefined) parameters[name] = parameter.Default;
  }
  const expected = new Map<string, string>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Condition !== undefined) {
      const conditionIsTrue = evaluate(template.Conditions?.[resource.Condition], template, parameters);
      if (!conditionIsTrue) continue;
    }
    expected.set(logicalId, resource.Type);
  }
  return expected;
}

/** One resource as ListStackResources reports it. */
export interface StackResource {
  LogicalResourceId?: string;
  ResourceType?: string;
  ResourceStatus?: string;
}

/** Differences between the resources a template declares and those a stack contains; all but `unmodeled` empty when they match. */
export interface ResourceComparison {
  /** Resources checked by logical id, type and status. */
  checked: number;
  /** Template resources of types the emulator accepts without creating, as `id (type)`. */
  unmodeled: string[];
  missing: string[];
  unexpected: string[];
  wrongType: string[];
  incomplete: string[];
}

/**
 * Compares the template's expected resources with a stack's, by logical id, type and status. Resources whose type
 * is in `unmodeledTypes` may be absent: moto 5.2.1 lists each of them, and each resource whose Condition is false
 * (`skippedByCondition`), as an entry without id or type, so only the number of those entries is compared.
 */
export function compareResources(
  expected: Map<string, string>,
  actual: StackResource[],
  unmodeledTypes: Set<string> = new Set(),
  skippedByCondition = 0,
): ResourceComparison {
  const named = actual.filter((resource) => (resource.LogicalResourceId ?? '') !== '');
  const anonymous = actual.length - named.length;
  const actualById = new Map(named.map((resource) => [resource.LogicalResourceId ?? '', resource]));
  const comparison: ResourceComparison = {
    checked: 0,
    unmodeled: [],
    missing: [],
    unexpected: [],
    wrongType: [],
    incomplete: [],
  };
  for (const [logicalId, type] of expected) {
    const resource = actualById.get(logicalId);
    if (resource === undefined) {
      if (unmodeledTypes.has(type)) comparison.unmodeled.push(`${logicalId} (${type})`);
      else comparison.missing.push(`${logicalId} (${type})`);
    } else if (resource.ResourceType !== type) {
      comparison.wrongType.push(`${logicalId}: ${resource.ResourceType}, expected ${type}`);
    } else {
      comparison.checked += 1;
    }
  }
  for (const resource of named) {
    const logicalId = resource.LogicalResourceId ?? '';
    if (!expected.has(logicalId)) comparison.unexpected.push(`${logicalId} (${resource.ResourceType})`);
  }
  const expectedAnonymous = comparison.unmodeled.length + skippedByCondition;
  if (anonymous !== expectedAnonymous) {
    comparison.unexpected.push(
      `${anonymous} entries without a logical id, expected ${expectedAnonymous}: one per unmodeled resource ` +
        `(${comparison.unmodeled.length}) and per resource whose Condition is false (${skippedByCondition})`,
    );
  }
  for (const resource of actual) {
    if (resource.ResourceStatus !== 'CREATE_COMPLETE' && resource.ResourceStatus !== 'UPDATE_COMPLETE')
      comparison.incomplete.push(`${resource.LogicalResourceId || '(no id)'}: ${resource.ResourceStatus}`);
  }
  return comparison;
}
