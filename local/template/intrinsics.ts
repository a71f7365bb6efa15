/** A CloudFormation template, reduced to the sections the local stack reads. */
export interface CloudFormationTemplate {
  Parameters?: Record<string, { Default?: unknown } | undefined>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<string, unknown>;
}

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
}

/** Values the pseudo parameters take on the local stack. */
export interface PseudoParameters {
  region: string;
  accountId: string;
  partition: string;
  stackName: string;
}

/** The template uses something the local stack cannot resolve; the message names the resource and the value. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Marker for `Ref: AWS::NoValue`: the property is removed, as CloudFormation does. */
const NO_VALUE = Symbol('AWS::NoValue');

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Physical names and attributes of the template's resources. Names come from the resource's name property, or a
 * name derived from the stack and logical id when the template leaves it to CloudFormation.
 */
export class ResourceDirectory {
  constructor(
    readonly template: CloudFormationTemplate,
    readonly pseudo: PseudoParameters,
  ) {}

  resource(logicalId: string, where: string): TemplateResource {
    const resource = this.template.Resources[logicalId];
    if (resource === undefined) {
      throw new TemplateError(`${where} refers to "${logicalId}", which is not a resource of the template`);
    }
    return resource;
  }

  /** Builds the name CloudFormation would generate, minus its random suffix. */
  generatedName(logicalId: string, maxLength: number, lowerCase = false): string {
    const name = `${this.pseudo.stackName}-${logicalId}`.slice(0, maxLength);
    return lowerCase ? name.toLowerCase() : name;
  }

  physicalName(logicalId: string, where: string): string {
    const resource = this.resource(logicalId, where);
    const properties = resource.Properties ?? {};
    const nameProperty: Record<string, [string, number, boolean]> = {
      'AWS::S3::Bucket': ['BucketName', 63, true],
      'AWS::SNS::Topic': ['TopicName', 256, false],
      'AWS::Lambda::Function': ['FunctionName', 64, false],
      'AWS::DynamoDB::Table': ['TableName', 255, false],
      'AWS::SQS::Queue': ['QueueName', 80, false],
      'AWS::IAM::Role': ['RoleName', 64, false],
    };
    const entry = nameProperty[resource.Type];
    if (entry === undefined) return this.generatedName(logicalId, 128);
    const [property, maxLength, lowerCase] = entry;
    const value = properties[property];
    if (value === undefined) return this.generatedName(logicalId, maxLength, lowerCase);
    const resolved = resolveIntrinsics(value, this, `${logicalId}.Properties.${property}`);
    if (typeof resolved !== 'string') {
      throw new TemplateError(`${logicalId}.Properties.${property} does not resolve to a string`);
    }
    return resolved;
  }

  arn(service: string, resourcePath: string, regional = true): string {
    const { partition, region, accountId } = this.pseudo;
    return regional
      ? `arn:${partition}:${service}:${region}:${accountId}:${resourcePath}`
      : `arn:${partition}:${service}:::${resourcePath}`;
  }

  ref(logicalId: string, where: string): unknown {
    switch (logicalId) {
      case 'AWS::Region':
        return this.pseudo.region;
      case 'AWS::AccountId':
        return this.pseudo.accountId;
      case 'AWS::Partition':
        return this.pseudo.partition;
      case 'AWS::StackName':
        return this.pseudo.stackName;
      case 'AWS::StackId':
        return this.arn(
          'cloudformation',
          `stack/${this.pseudo.stackName}/00000000-0000-0000-0000-000000000000`,
        );
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    const parameter = this.template.Parameters?.[logicalId];
    if (parameter !== undefined) {
      if (parameter.Default === undefined) {
        throw new TemplateError(`${where} refers to parameter "${logicalId}", which has no Default value`);
      }
      return parameter.Default;
    }
    const resource = this.resource(logicalId, where);
    const name = this.physicalName(logicalId, where);
    switch (resource.Type) {
      case 'AWS::SNS::Topic':
        return this.arn('sns', name);
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.pseudo.region}.amazonaws.com/${this.pseudo.accountId}/${name}`;
      default:
        return name;
    }
  }

  getAtt(logicalId: string, attribute: string, where: string): string {
    const resource = this.resource(logicalId, where);
    const name = this.physicalName(logicalId, where);
    const { region } = this.pseudo;
    const attributes: Record<string, Record<string, () => string>> = {
      'AWS::S3::Bucket': {
        Arn: () => this.arn('s3', name, false),
        DomainName: () => `${name}.s3.amazonaws.com`,
        RegionalDomainName: () => `${name}.s3.${region}.amazonaws.com`,
      },
      'AWS::SNS::Topic': { TopicArn: () => this.arn('sns', name), TopicName: () => name },
      'AWS::Lambda::Function': { Arn: () => this.arn('lambda', `function:${name}`) },
      'AWS::DynamoDB::Table': {
        Arn: () => this.arn('dynamodb', `table/${name}`),
        StreamArn: () => this.arn('dynamodb', `table/${name}/stream/1970-01-01T00:00:00.000`),
      },
      'AWS::SQS::Queue': {
        Arn: () => this.arn('sqs', name),
        QueueName: () => name,
        QueueUrl: () => `https://sqs.${region}.amazonaws.com/${this.pseudo.accountId}/${name}`,
      },
      'AWS::IAM::Role': {
        Arn: () => `arn:${this.pseudo.partition}:iam::${this.pseudo.accountId}:role/${name}`,
      },
    };
    const read = attributes[resource.Type]?.[attribute];
    if (read === undefined) {
      throw new TemplateError(
        `${where} uses Fn::GetAtt ${logicalId}.${attribute}, which the local stack cannot resolve for ${resource.Type}`,
      );
    }
    return read();
  }
}

function resolveSub(
  template: string,
  variables: Record<string, unknown>,
  directory: ResourceDirectory,
  where: string,
) {
  return template.replace(/\$\{([^}]+)\}/g, (match, expression: string) => {
    if (expression.startsWith('!')) return `\${${expression.slice(1)}}`;
    const name = expression.trim();
    let value: unknown;
    if (name in variables) value = resolveIntrinsics(variables[name], directory, where);
    else if (name.includes('.') && !name.startsWith('AWS::')) {
      const [logicalId = '', ...rest] = name.split('.');
      value = directory.getAtt(logicalId, rest.join('.'), where);
    } else value = directory.ref(name, where);
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new TemplateError(`${where} uses ${match} in Fn::Sub, which does not resolve to a string`);
    }
    return String(value);
  });
}

/** Evaluates a condition of the template's Conditions section; parameters take their Default values. */
export function evaluateCondition(name: string, directory: ResourceDirectory, where: string): boolean {
  const condition = directory.template.Conditions?.[name];
  if (condition === undefined)
    throw new TemplateError(`${where} uses condition "${name}", which is not defined`);
  const value = resolveIntrinsics(condition, directory, `Conditions.${name}`);
  if (typeof value !== 'boolean')
    throw new TemplateError(`condition "${name}" does not evaluate to true or false`);
  return value;
}

function resolveFunction(
  name: string,
  argument: unknown,
  directory: ResourceDirectory,
  where: string,
): unknown {
  const resolve = (value: unknown) => resolveIntrinsics(value, directory, where);
  switch (name) {
    case 'Ref':
      if (typeof argument !== 'string') throw new TemplateError(`${where} has a Ref that is not a string`);
      return directory.ref(argument, where);
    case 'Fn::GetAtt': {
      const parts = typeof argument === 'string' ? argument.split('.') : argument;
      if (!Array.isArray(parts) || parts.length < 2) {
        throw new TemplateError(`${where} has a malformed Fn::GetAtt: ${JSON.stringify(argument)}`);
      }
      const [logicalId, ...attribute] = parts.map((part) => resolve(part));
      return directory.getAtt(String(logicalId), attribute.join('.'), where);
    }
    case 'Fn::Join': {
      if (!Array.isArray(argument) || argument.length !== 2 || !Array.isArray(argument[1])) {
        throw new TemplateError(`${where} has a malformed Fn::Join: ${JSON.stringify(argument)}`);
      }
      const items = resolve(argument[1]);
      return (items as unknown[]).map((item) => String(item)).join(String(argument[0]));
    }
    case 'Fn::Sub': {
      if (typeof argument === 'string') return resolveSub(argument, {}, directory, where);
      if (Array.isArray(argument) && typeof argument[0] === 'string' && isObject(argument[1])) {
        return resolveSub(argument[0], argument[1], directory, where);
      }
      throw new TemplateError(`${where} has a malformed Fn::Sub: ${JSON.stringify(argument)}`);
    }
    case 'Fn::Select': {
      const [index, list] = Array.isArray(argument) ? argument : [];
      const items = resolve(list);
      const position = Number(resolve(index));
      if (!Array.isArray(items) || !Number.isInteger(position) || position < 0 || position >= items.length) {
        throw new TemplateError(`${where} has an Fn::Select whose index is out of range`);
      }
      return items[position];
    }
    case 'Fn::Split': {
      const [delimiter, source] = Array.isArray(argument) ? argument : [];
      return String(resolve(source)).split(String(delimiter));
    }
    case 'Fn::FindInMap': {
      const [map, first, second] = (Array.isArray(argument) ? argument : []).map((part) =>
        String(resolve(part)),
      );
      const value = directory.template.Mappings?.[map ?? '']?.[first ?? '']?.[second ?? ''];
      if (value === undefined)
        throw new TemplateError(`${where} has an Fn::FindInMap with no matching entry`);
      return value;
    }
    case 'Fn::If': {
      const [conditionName, whenTrue, whenFalse] = Array.isArray(argument) ? argument : [];
      return resolve(evaluateCondition(String(conditionName), directory, where) ? whenTrue : whenFalse);
    }
    case 'Fn::Equals': {
      const [left, right] = Array.isArray(argument) ? argument.map(resolve) : [];
      return JSON.stringify(left) === JSON.stringify(right);
    }
    case 'Fn::Not':
      return !(Array.isArray(argument) && resolve(argument[0]) === true);
    case 'Fn::And':
      return Array.isArray(argument) && argument.every((item) => resolve(item) === true);
    case 'Fn::Or':
      return Array.isArray(argument) && argument.some((item) => resolve(item) === true);
    case 'Condition':
      return evaluateCondition(String(argument), directory, where);
    default:
      throw new TemplateError(`${where} uses ${name}, which the local stack cannot resolve`);
  }
}

/**
 * Resolves the intrinsic functions in a template value against local values. Throws TemplateError, naming
 * `where` (such as `RawBucket.Properties.BucketName`), for anything it cannot resolve.
 */
export function resolveIntrinsics(value: unknown, directory: ResourceDirectory, where: string): unknown {
  if (Array.isArray(value)) {
    return value
      .map((item, index) => resolveIntrinsics(item, directory, `${where}[${index}]`))
      .filter((item) => item !== NO_VALUE);
  }
  if (!isObject(value)) return value;

  const keys = Object.keys(value);
  const onlyKey = keys.length === 1 ? keys[0] : undefined;
  // `Condition` is a function only with a condition name; IAM statements use the same key for an object.
  const isFunction =
    onlyKey !== undefined &&
    (onlyKey === 'Ref' ||
      onlyKey.startsWith('Fn::') ||
      (onlyKey === 'Condition' && typeof value[onlyKey] === 'string'));
  if (onlyKey !== undefined && isFunction) {
    return resolveFunction(onlyKey, value[onlyKey], directory, where);
  }

  const resolved: Record<string, unknown> = {};
  for (const key of keys) {
    const item = resolveIntrinsics(value[key], directory, `${where}.${key}`);
    if (item !== NO_VALUE) resolved[key] = item;
  }
  return resolved;
}
