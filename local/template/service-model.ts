import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  type CloudFormationTemplate,
  evaluateCondition,
  type PseudoParameters,
  ResourceDirectory,
  resolveIntrinsics,
  TemplateError,
  type TemplateResource,
} from './intrinsics';

/** A prefix or suffix rule of an S3 notification filter. */
export interface KeyFilterRule {
  name: 'prefix' | 'suffix';
  value: string;
}

/** One entry of a bucket's NotificationConfiguration that the local stack delivers. */
export interface BucketNotification {
  id: string;
  /** S3 event type patterns, such as `s3:ObjectCreated:*`. */
  events: string[];
  filterRules: KeyFilterRule[];
  destination: { kind: 'topic'; topicArn: string } | { kind: 'function'; functionName: string };
}

export interface BucketModel {
  logicalId: string;
  name: string;
  notifications: BucketNotification[];
}

export interface SubscriptionModel {
  functionName: string;
  subscriptionArn: string;
}

export interface TopicModel {
  logicalId: string;
  name: string;
  arn: string;
  subscriptions: SubscriptionModel[];
}

export interface FunctionModel {
  logicalId: string;
  /** The function's key in serverless.yml (`sls invoke local -f KEY`). */
  key: string;
  name: string;
  arn: string;
  /** `path/to/module.export`, relative to the code root. */
  handler: string;
  runtime: string;
  memorySize: number;
  timeoutSeconds: number;
  environment: Record<string, string>;
  /** Absolute path of the packaged zip, when the template names one. */
  codeZip: string | undefined;
  /** Retries after a failed asynchronous invocation, 0 to 2 (Lambda's default is 2). */
  maximumRetryAttempts: number;
  /** Age after which Lambda stops retrying an asynchronous event, 60 to 21600 seconds (the default). */
  maximumEventAgeSeconds: number;
  /** ARN of the on-failure destination of asynchronous invocations (an SQS queue of the template), if any. */
  onFailureDestination?: string;
}

export interface QueueModel {
  logicalId: string;
  name: string;
  arn: string;
  visibilityTimeoutSeconds?: number;
  messageRetentionSeconds?: number;
}

export interface TableModel {
  logicalId: string;
  name: string;
  /** CreateTable input fields, copied from the template. */
  definition: Record<string, unknown>;
}

/** Everything the local stack builds, read from the compiled template. */
export interface ServiceModel {
  pseudo: PseudoParameters;
  buckets: BucketModel[];
  topics: TopicModel[];
  functions: FunctionModel[];
  tables: TableModel[];
  queues: QueueModel[];
  /** Template features the local stack ignores, one sentence each. */
  warnings: string[];
}

export interface ReadTemplateOptions {
  pseudo: PseudoParameters;
  /** Folder the function zips are in (the template names them by their deployment-bucket key). */
  packageDir: string;
}

// Lambda's defaults when the template leaves MemorySize or Timeout out.
const DEFAULT_MEMORY_MB = 128;
const DEFAULT_TIMEOUT_SECONDS = 3;
const DEFAULT_RETRY_ATTEMPTS = 2;
const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21_600;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resources of one type that the template creates: a resource whose Condition is false is left out. */
function resourcesOfType(
  template: CloudFormationTemplate,
  type: string,
  directory?: ResourceDirectory,
): [string, TemplateResource][] {
  return Object.entries(template.Resources).filter(
    ([logicalId, resource]) =>
      resource.Type === type &&
      (resource.Condition === undefined ||
        directory === undefined ||
        evaluateCondition(resource.Condition, directory, `${logicalId}.Condition`)),
  );
}

/**
 * Recovers a function's serverless.yml key from its logical id `<Key>LambdaFunction`. Serverless spells `-` as
 * `Dash` and `_` as `Underscore` there, which cannot be undone for every name (`myDashboard`), so the spelling that
 * ends the function's physical name (`<service>-<stage>-<key>`) wins.
 */
export function functionKeyFromLogicalId(logicalId: string, functionName?: string): string {
  const base = logicalId.replace(/LambdaFunction$/, '');
  const lowerFirst = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);
  const plain = lowerFirst(base);
  const unescaped = lowerFirst(base.replace(/Dash/g, '-').replace(/Underscore/g, '_'));
  if (functionName?.endsWith(`-${plain}`)) return plain;
  if (functionName?.endsWith(`-${unescaped}`)) return unescaped;
  return plain === unescaped || functionName !== undefined ? plain : unescaped;
}

function readString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '')
    throw new TemplateError(`${where} is missing or not a string`);
  return value;
}

function readFunction(
  logicalId: string,
  resource: TemplateResource,
  directory: ResourceDirectory,
  options: ReadTemplateOptions,
): FunctionModel {
  const where = `${logicalId}.Properties`;
  const properties = resource.Properties ?? {};
  const name = directory.physicalName(logicalId, logicalId);
  const environment: Record<string, string> = {};
  const variables = resolveIntrinsics(
    (properties.Environment as Record<string, unknown> | undefined)?.Variables ?? {},
    directory,
    `${where}.Environment.Variables`,
  );
  for (const [variable, value] of Object.entries(variables as Record<string, unknown>)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new TemplateError(`${where}.Environment.Variables.${variable} does not resolve to a string`);
    }
    environment[variable] = String(value);
  }

  let codeZip: string | undefined;
  const code = properties.Code;
  if (isObject(code) && typeof code.S3Key === 'string') {
    codeZip = path.join(options.packageDir, path.posix.basename(code.S3Key));
  }

  return {
    logicalId,
    key: functionKeyFromLogicalId(logicalId, name),
    name,
    arn: directory.getAtt(logicalId, 'Arn', logicalId),
    handler: readString(
      resolveIntrinsics(properties.Handler, directory, `${where}.Handler`),
      `${where}.Handler`,
    ),
    runtime: String(resolveIntrinsics(properties.Runtime ?? 'nodejs22.x', directory, `${where}.Runtime`)),
    memorySize: Number(resolveIntrinsics(properties.MemorySize ?? DEFAULT_MEMORY_MB, directory, where)),
    timeoutSeconds: Number(
      resolveIntrinsics(properties.Timeout ?? DEFAULT_TIMEOUT_SECONDS, directory, where),
    ),
    environment,
    codeZip,
    maximumRetryAttempts: DEFAULT_RETRY_ATTEMPTS,
    maximumEventAgeSeconds: DEFAULT_MAXIMUM_EVENT_AGE_SECONDS,
  };
}

/** Finds the function an ARN names; the ARN may carry a version or alias qualifier. */
function functionForArn(functions: FunctionModel[], arn: string, where: string): FunctionModel {
  const match = functions.find((candidate) => arn === candidate.arn || arn.startsWith(`${candidate.arn}:`));
  if (match === undefined) {
    throw new TemplateError(`${where} points at ${arn}, which is not a function of the template`);
  }
  return match;
}

function readFilterRules(filter: unknown, where: string): KeyFilterRule[] {
  if (filter === undefined) return [];
  const rules = isObject(filter) && isObject(filter.S3Key) ? filter.S3Key.Rules : undefined;
  if (!Array.isArray(rules)) throw new TemplateError(`${where}.Filter has no S3Key.Rules list`);
  return rules.map((rule, index) => {
    const name = isObject(rule) ? String(rule.Name).toLowerCase() : '';
    if ((name !== 'prefix' && name !== 'suffix') || !isObject(rule) || typeof rule.Value !== 'string') {
      throw new TemplateError(`${where}.Filter.S3Key.Rules[${index}] is not a prefix or suffix rule`);
    }
    return { name, value: rule.Value };
  });
}

function readBucket(
  logicalId: string,
  resource: TemplateResource,
  directory: ResourceDirectory,
  functions: FunctionModel[],
  warnings: string[],
): BucketModel {
  const name = directory.physicalName(logicalId, logicalId);
  const where = `${logicalId}.Properties.NotificationConfiguration`;
  const configuration = resolveIntrinsics(
    resource.Properties?.NotificationConfiguration ?? {},
    directory,
    where,
  );
  const notifications: BucketNotification[] = [];
  if (!isObject(configuration)) return { logicalId, name, notifications };

  const entries: [string, unknown][] = [
    ['TopicConfigurations', configuration.TopicConfigurations],
    ['LambdaConfigurations', configuration.LambdaConfigurations],
    ['QueueConfigurations', configuration.QueueConfigurations],
  ];
  for (const [section, list] of entries) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new TemplateError(`${where}.${section} is not a list`);
    list.forEach((entry: unknown, index) => {
      const entryWhere = `${where}.${section}[${index}]`;
      if (!isObject(entry)) throw new TemplateError(`${entryWhere} is not an object`);
      if (section === 'QueueConfigurations') {
        warnings.push(`${entryWhere}: S3 notifications to SQS queues are not delivered locally.`);
        return;
      }
      const events = [readString(entry.Event, `${entryWhere}.Event`)];
      const id = typeof entry.Id === 'string' ? entry.Id : `${logicalId}-${section}-${index}`;
      const filterRules = readFilterRules(entry.Filter, entryWhere);
      const destination: BucketNotification['destination'] =
        section === 'TopicConfigurations'
          ? { kind: 'topic', topicArn: readString(entry.Topic, `${entryWhere}.Topic`) }
          : {
              kind: 'function',
              functionName: functionForArn(
                functions,
                readString(entry.Function, `${entryWhere}.Function`),
                entryWhere,
              ).name,
            };
      notifications.push({ id, events, filterRules, destination });
    });
  }
  return { logicalId, name, notifications };
}

/** Derives a stable UUID-shaped id from a name. AWS gives each subscription a random one. */
function stableUuid(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function readSubscription(
  logicalId: string,
  properties: Record<string, unknown>,
  directory: ResourceDirectory,
  functions: FunctionModel[],
  warnings: string[],
): { topicArn: string; subscription: SubscriptionModel } | undefined {
  const where = `${logicalId}.Properties`;
  const resolved = resolveIntrinsics(properties, directory, where) as Record<string, unknown>;
  const protocol = String(resolved.Protocol);
  if (protocol !== 'lambda') {
    warnings.push(`${logicalId}: SNS subscriptions with protocol "${protocol}" are not delivered locally.`);
    return undefined;
  }
  if (resolved.FilterPolicy !== undefined) {
    warnings.push(
      `${logicalId}: the subscription's FilterPolicy is ignored locally; every message is delivered.`,
    );
  }
  const topicArn = readString(resolved.TopicArn, `${where}.TopicArn`);
  const target = functionForArn(functions, readString(resolved.Endpoint, `${where}.Endpoint`), where);
  return {
    topicArn,
    subscription: { functionName: target.name, subscriptionArn: `${topicArn}:${stableUuid(logicalId)}` },
  };
}

function readTable(logicalId: string, resource: TemplateResource, directory: ResourceDirectory): TableModel {
  const where = `${logicalId}.Properties`;
  const properties = resource.Properties ?? {};
  const definition: Record<string, unknown> = {};
  const copied = [
    'KeySchema',
    'AttributeDefinitions',
    'BillingMode',
    'ProvisionedThroughput',
    'GlobalSecondaryIndexes',
    'LocalSecondaryIndexes',
    'StreamSpecification',
  ];
  for (const field of copied) {
    if (properties[field] !== undefined) {
      definition[field] = resolveIntrinsics(properties[field], directory, `${where}.${field}`);
    }
  }
  if (!Array.isArray(definition.KeySchema) || !Array.isArray(definition.AttributeDefinitions)) {
    throw new TemplateError(`${where} needs KeySchema and AttributeDefinitions`);
  }
  return { logicalId, name: directory.physicalName(logicalId, logicalId), definition };
}

/** Reads the resources the local stack builds out of a compiled CloudFormation template. */
export function readServiceModel(
  template: CloudFormationTemplate,
  options: ReadTemplateOptions,
): ServiceModel {
  if (!isObject(template) || !isObject(template.Resources)) {
    throw new TemplateError('the template has no Resources section');
  }
  const directory = new ResourceDirectory(template, options.pseudo);
  const warnings: string[] = [];

  const functions = resourcesOfType(template, 'AWS::Lambda::Function', directory).map(
    ([logicalId, resource]) => readFunction(logicalId, resource, directory, options),
  );

  const queues: QueueModel[] = resourcesOfType(template, 'AWS::SQS::Queue', directory).map(
    ([logicalId, resource]) => {
      const properties = resolveIntrinsics(resource.Properties ?? {}, directory, `${logicalId}.Properties`);
      const queue: QueueModel = {
        logicalId,
        name: directory.physicalName(logicalId, logicalId),
        arn: directory.getAtt(logicalId, 'Arn', logicalId),
      };
      if (isObject(properties) && typeof properties.VisibilityTimeout === 'number')
        queue.visibilityTimeoutSeconds = properties.VisibilityTimeout;
      if (isObject(properties) && typeof properties.MessageRetentionPeriod === 'number')
        queue.messageRetentionSeconds = properties.MessageRetentionPeriod;
      return queue;
    },
  );

  for (const [logicalId, resource] of resourcesOfType(
    template,
    'AWS::Lambda::EventInvokeConfig',
    directory,
  )) {
    const properties = resolveIntrinsics(resource.Properties ?? {}, directory, `${logicalId}.Properties`);
    if (!isObject(properties)) continue;
    const target = functions.find((candidate) => candidate.name === properties.FunctionName);
    if (target === undefined) {
      throw new TemplateError(
        `${logicalId}.Properties.FunctionName does not name a function of the template`,
      );
    }
    if (typeof properties.MaximumRetryAttempts === 'number') {
      target.maximumRetryAttempts = properties.MaximumRetryAttempts;
    }
    if (typeof properties.MaximumEventAgeInSeconds === 'number') {
      target.maximumEventAgeSeconds = properties.MaximumEventAgeInSeconds;
    }
    const destinations = isObject(properties.DestinationConfig) ? properties.DestinationConfig : {};
    const onFailure = isObject(destinations.OnFailure) ? destinations.OnFailure.Destination : undefined;
    if (typeof onFailure === 'string') {
      if (queues.some((queue) => queue.arn === onFailure)) target.onFailureDestination = onFailure;
      else
        warnings.push(
          `${logicalId}: the on-failure destination ${onFailure} is not an SQS queue of the template; failed events are only written to the failure folder locally.`,
        );
    }
    if (isObject(destinations.OnSuccess)) {
      warnings.push(`${logicalId}: on-success destinations are not delivered locally.`);
    }
  }

  const topics: TopicModel[] = resourcesOfType(template, 'AWS::SNS::Topic', directory).map(([logicalId]) => ({
    logicalId,
    name: directory.physicalName(logicalId, logicalId),
    arn: String(directory.ref(logicalId, logicalId)),
    subscriptions: [],
  }));
  const topicForArn = (arn: string, where: string): TopicModel => {
    const topic = topics.find((candidate) => candidate.arn === arn);
    if (topic === undefined)
      throw new TemplateError(`${where} points at ${arn}, which is not a topic of the template`);
    return topic;
  };

  // Subscriptions come either inline on the topic or as AWS::SNS::Subscription resources.
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::SNS::Topic', directory)) {
    const inline = resource.Properties?.Subscription;
    if (!Array.isArray(inline)) continue;
    inline.forEach((entry, index) => {
      const found = readSubscription(
        `${logicalId}.Subscription[${index}]`,
        { ...(entry as Record<string, unknown>), TopicArn: { Ref: logicalId } },
        directory,
        functions,
        warnings,
      );
      if (found) topicForArn(found.topicArn, logicalId).subscriptions.push(found.subscription);
    });
  }
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::SNS::Subscription', directory)) {
    const found = readSubscription(logicalId, resource.Properties ?? {}, directory, functions, warnings);
    if (found) topicForArn(found.topicArn, logicalId).subscriptions.push(found.subscription);
  }

  const buckets = resourcesOfType(template, 'AWS::S3::Bucket', directory).map(([logicalId, resource]) =>
    readBucket(logicalId, resource, directory, functions, warnings),
  );
  for (const bucket of buckets) {
    for (const notification of bucket.notifications) {
      if (notification.destination.kind === 'topic') {
        topicForArn(
          notification.destination.topicArn,
          `${bucket.logicalId}.Properties.NotificationConfiguration`,
        );
      }
    }
  }

  const tables = resourcesOfType(template, 'AWS::DynamoDB::Table', directory).map(([logicalId, resource]) =>
    readTable(logicalId, resource, directory),
  );

  return { pseudo: options.pseudo, buckets, topics, functions, tables, queues, warnings };
}

/** Reads and parses a compiled template file; the error names the file when it is missing or not JSON. */
export function loadTemplateFile(templatePath: string): CloudFormationTemplate {
  let text: string;
  try {
    text = readFileSync(templatePath, 'utf8');
  } catch (error) {
    throw new TemplateError(
      `cannot read the compiled template ${templatePath}: run "npm run package:local" first`,
      {
        cause: error,
      },
    );
  }
  try {
    return JSON.parse(text) as CloudFormationTemplate;
  } catch (error) {
    throw new TemplateError(`the compiled template ${templatePath} is not valid JSON`, { cause: error });
  }
}
