import {
  type CloudFormationTemplate,
  type PseudoParameters,
  ResourceDirectory,
  resolveIntrinsics,
  TemplateError,
  type TemplateResource,
} from '../template/intrinsics';

export interface IntegrationResponseModel {
  statusCode: string;
  /** Regular expression matched against the integration's HTTP status code; undefined for the default response. */
  selectionPattern: string | undefined;
  responseParameters: Record<string, string>;
  responseTemplates: Record<string, string>;
  contentHandling: ContentHandling | undefined;
}

export type ContentHandling = 'CONVERT_TO_TEXT' | 'CONVERT_TO_BINARY';
export type PassthroughBehavior = 'WHEN_NO_MATCH' | 'WHEN_NO_TEMPLATES' | 'NEVER';

/** The backend an integration calls, parsed from its Type and Uri. */
export type IntegrationTarget =
  | { kind: 'mock' }
  /** `arn:aws:apigateway:REGION:s3:path/PATH`, where PATH may hold `{name}` placeholders. */
  | { kind: 's3-path'; pathTemplate: string }
  /** `arn:aws:apigateway:REGION:dynamodb:action/ACTION`. */
  | { kind: 'dynamodb-action'; action: string };

export interface IntegrationModel {
  type: string;
  target: IntegrationTarget;
  httpMethod: string;
  uri: string | undefined;
  credentials: string | undefined;
  requestParameters: Record<string, string>;
  requestTemplates: Record<string, string>;
  passthroughBehavior: PassthroughBehavior;
  contentHandling: ContentHandling | undefined;
  responses: IntegrationResponseModel[];
}

export interface MethodModel {
  logicalId: string;
  httpMethod: string;
  /** Resource path such as `/images/{key}`. */
  resourcePath: string;
  resourceId: string;
  authorizationType: string;
  apiKeyRequired: boolean;
  /** `method.request.{location}.{name}` to whether it is required. */
  requestParameters: Record<string, boolean>;
  validator: { validateRequestParameters: boolean; validateRequestBody: boolean } | undefined;
  integration: IntegrationModel;
  /** Status codes of the MethodResponses, with their declared response parameters. */
  methodResponses: Record<string, Record<string, boolean>>;
}

/** A customised gateway response (AWS::ApiGateway::GatewayResponse). */
export interface GatewayResponseModel {
  statusCode: string | undefined;
  responseParameters: Record<string, string>;
  responseTemplates: Record<string, string>;
}

/** A method the emulator cannot run, with the reason. */
export interface UnsupportedMethod {
  resourcePath: string;
  httpMethod: string;
  reason: string;
}

export interface UsagePlanModel {
  logicalId: string;
  throttle: unknown;
  quota: unknown;
}

/** The RestApi of a compiled template, as the local API Gateway serves it. */
export interface RestApiModel {
  logicalId: string;
  /** The RestApi's id (`Ref`); a name derived from the stack locally. */
  apiId: string;
  name: string;
  binaryMediaTypes: string[];
  stageName: string;
  stageVariables: Record<string, string>;
  methods: MethodModel[];
  gatewayResponses: Record<string, GatewayResponseModel>;
  /** Values of the template's AWS::ApiGateway::ApiKey resources that set one. */
  apiKeyValues: string[];
  usagePlans: UsagePlanModel[];
  unsupported: UnsupportedMethod[];
  /** Template features the emulator reads but does not enforce, one sentence each. */
  warnings: string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown, where: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) throw new TemplateError(`${where} is not a map`);
  const map: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean')
      throw new TemplateError(`${where}.${key} does not resolve to a string`);
    map[key] = String(item);
  }
  return map;
}

function booleanMap(value: unknown, where: string): Record<string, boolean> {
  if (value === undefined) return {};
  if (!isObject(value)) throw new TemplateError(`${where} is not a map`);
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, item === true || item === 'true']),
  );
}

/**
 * Reads which resource a `RestApiId`, `ParentId` or `ResourceId` names: `{Ref: Resource}`, or the RestApi's root
 * through `Fn::GetAtt [Api, RootResourceId]`. These stay structural, so they are not resolved to names.
 */
function referencedResource(value: unknown, where: string): { logicalId: string; root: boolean } {
  if (isObject(value) && typeof value.Ref === 'string') return { logicalId: value.Ref, root: false };
  if (isObject(value) && value['Fn::GetAtt'] !== undefined) {
    const argument = value['Fn::GetAtt'];
    const parts = typeof argument === 'string' ? argument.split('.') : argument;
    if (Array.isArray(parts) && parts[1] === 'RootResourceId')
      return { logicalId: String(parts[0]), root: true };
  }
  throw new TemplateError(
    `${where} must be a Ref to a resource or Fn::GetAtt RootResourceId, not ${JSON.stringify(value)}`,
  );
}

function parseTarget(type: string, uri: string | undefined): IntegrationTarget | string {
  if (type === 'MOCK') return { kind: 'mock' };
  if (type !== 'AWS')
    return `integration type ${type} is not emulated (only AWS for S3 and DynamoDB, and MOCK)`;
  const match = /^arn:[^:]+:apigateway:[^:]*:([^:]+):(path|action)\/(.+)$/.exec(uri ?? '');
  if (match === null) return `integration Uri ${uri} is not an API Gateway service ARN`;
  const [, service, kind, rest = ''] = match;
  if (service === 's3' && kind === 'path') return { kind: 's3-path', pathTemplate: rest };
  if (service === 'dynamodb' && kind === 'action') return { kind: 'dynamodb-action', action: rest };
  return `AWS integration ${service}:${kind}/${rest} is not emulated (only s3:path and dynamodb:action)`;
}

function readIntegrationResponse(value: unknown, where: string): IntegrationResponseModel {
  if (!isObject(value)) throw new TemplateError(`${where} is not an object`);
  const pattern = value.SelectionPattern;
  return {
    statusCode: String(value.StatusCode ?? '200'),
    selectionPattern: typeof pattern === 'string' && pattern !== '' ? pattern : undefined,
    responseParameters: stringMap(value.ResponseParameters, `${where}.ResponseParameters`),
    responseTemplates: stringMap(value.ResponseTemplates, `${where}.ResponseTemplates`),
    contentHandling: value.ContentHandling as ContentHandling | undefined,
  };
}

function readIntegration(value: unknown, where: string): IntegrationModel | string {
  if (!isObject(value)) return 'the method has no Integration';
  const type = String(value.Type ?? '');
  const uri = typeof value.Uri === 'string' ? value.Uri : undefined;
  const target = parseTarget(type, uri);
  if (typeof target === 'string') return target;
  const responses = Array.isArray(value.IntegrationResponses) ? value.IntegrationResponses : [];
  return {
    type,
    target,
    httpMethod: String(value.IntegrationHttpMethod ?? 'POST').toUpperCase(),
    uri,
    credentials: typeof value.Credentials === 'string' ? value.Credentials : undefined,
    requestParameters: stringMap(value.RequestParameters, `${where}.RequestParameters`),
    requestTemplates: stringMap(value.RequestTemplates, `${where}.RequestTemplates`),
    passthroughBehavior: (value.PassthroughBehavior as PassthroughBehavior | undefined) ?? 'WHEN_NO_MATCH',
    contentHandling: value.ContentHandling as ContentHandling | undefined,
    responses: responses.map((response, index) =>
      readIntegrationResponse(response, `${where}.IntegrationResponses[${index}]`),
    ),
  };
}

function resourcesOfType(template: CloudFormationTemplate, type: string): [string, TemplateResource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** Properties of a resource that belong to `apiLogicalId`, or undefined for another RestApi's resource. */
function ownProperties(
  resource: TemplateResource,
  apiLogicalId: string,
  logicalId: string,
): Record<string, unknown> | undefined {
  const properties = resource.Properties ?? {};
  if (properties.RestApiId === undefined) return properties;
  const api = referencedResource(properties.RestApiId, `${logicalId}.Properties.RestApiId`);
  return api.logicalId === apiLogicalId ? properties : undefined;
}

/**
 * Reads the first AWS::ApiGateway::RestApi of a compiled template: its resource tree, methods, integrations,
 * validators, gateway responses, stage, API keys and usage plans. Returns undefined when there is none. Methods
 * whose integration the emulator cannot run are listed in `unsupported`, not thrown.
 */
export function readRestApiModel(
  template: CloudFormationTemplate,
  pseudo: PseudoParameters,
): RestApiModel | undefined {
  const directory = new ResourceDirectory(template, pseudo);
  const apis = resourcesOfType(template, 'AWS::ApiGateway::RestApi');
  const [first] = apis;
  if (first === undefined) return undefined;
  const [apiLogicalId, apiResource] = first;
  const warnings: string[] = [];
  if (apis.length > 1)
    warnings.push(`the template defines ${apis.length} RestApis; only ${apiLogicalId} is served.`);
  const apiProperties = resolveIntrinsics(
    apiResource.Properties ?? {},
    directory,
    `${apiLogicalId}.Properties`,
  ) as Record<string, unknown>;
  const binaryMediaTypes = (
    Array.isArray(apiProperties.BinaryMediaTypes) ? apiProperties.BinaryMediaTypes : []
  )
    // The REST API's PATCH operations spell `/` as `~1`; CloudFormation takes either.
    .map((type) => String(type).replace(/~1/g, '/'));

  // Resource tree: logical id to path.
  const parents = new Map<string, { parent: { logicalId: string; root: boolean }; pathPart: string }>();
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::ApiGateway::Resource')) {
    const properties = ownProperties(resource, apiLogicalId, logicalId);
    if (properties === undefined) continue;
    parents.set(logicalId, {
      parent: referencedResource(properties.ParentId, `${logicalId}.Properties.ParentId`),
      pathPart: String(resolveIntrinsics(properties.PathPart, directory, `${logicalId}.Properties.PathPart`)),
    });
  }
  const pathOf = (reference: { logicalId: string; root: boolean }, seen: string[] = []): string => {
    if (reference.root) return '/';
    const entry = parents.get(reference.logicalId);
    if (entry === undefined)
      throw new TemplateError(
        `${reference.logicalId} is not an AWS::ApiGateway::Resource of ${apiLogicalId}`,
      );
    if (seen.includes(reference.logicalId))
      throw new TemplateError(`the resource tree has a cycle through ${reference.logicalId}`);
    const parentPath = pathOf(entry.parent, [...seen, reference.logicalId]);
    return `${parentPath === '/' ? '' : parentPath}/${entry.pathPart}`;
  };

  const validators = new Map<string, { validateRequestParameters: boolean; validateRequestBody: boolean }>();
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::ApiGateway::RequestValidator')) {
    const properties = ownProperties(resource, apiLogicalId, logicalId);
    if (properties === undefined) continue;
    validators.set(logicalId, {
      validateRequestParameters: properties.ValidateRequestParameters === true,
      validateRequestBody: properties.ValidateRequestBody === true,
    });
  }

  const methods: MethodModel[] = [];
  const unsupported: UnsupportedMethod[] = [];
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::ApiGateway::Method')) {
    const raw = ownProperties(resource, apiLogicalId, logicalId);
    if (raw === undefined) continue;
    const where = `${logicalId}.Properties`;
    const resourceReference = referencedResource(raw.ResourceId, `${where}.ResourceId`);
    const resourcePath = pathOf(resourceReference);
    const httpMethod = String(raw.HttpMethod ?? '').toUpperCase();
    let properties: Record<string, unknown>;
    try {
      properties = resolveIntrinsics(
        { ...raw, RestApiId: undefined, ResourceId: undefined, RequestValidatorId: undefined },
        directory,
        where,
      ) as Record<string, unknown>;
    } catch (error) {
      unsupported.push({ resourcePath, httpMethod, reason: (error as Error).message });
      continue;
    }
    const integration = readIntegration(properties.Integration, `${where}.Integration`);
    if (typeof integration === 'string') {
      unsupported.push({ resourcePath, httpMethod, reason: integration });
      continue;
    }
    const authorizationType = String(properties.AuthorizationType ?? 'NONE');
    if (authorizationType !== 'NONE') {
      warnings.push(
        `${httpMethod} ${resourcePath}: authorization ${authorizationType} is not checked locally.`,
      );
    }
    let validator: MethodModel['validator'];
    if (raw.RequestValidatorId !== undefined) {
      const reference = referencedResource(raw.RequestValidatorId, `${where}.RequestValidatorId`);
      validator = validators.get(reference.logicalId);
      if (validator?.validateRequestBody) {
        warnings.push(
          `${httpMethod} ${resourcePath}: request body validation against a model is not emulated.`,
        );
      }
    }
    const methodResponses: Record<string, Record<string, boolean>> = {};
    for (const response of Array.isArray(properties.MethodResponses) ? properties.MethodResponses : []) {
      if (!isObject(response)) continue;
      methodResponses[String(response.StatusCode)] = booleanMap(
        response.ResponseParameters,
        `${where}.MethodResponses`,
      );
    }
    methods.push({
      logicalId,
      httpMethod,
      resourcePath,
      resourceId: resourceReference.root ? `${apiLogicalId}Root` : resourceReference.logicalId,
      authorizationType,
      apiKeyRequired: properties.ApiKeyRequired === true || properties.ApiKeyRequired === 'true',
      requestParameters: booleanMap(properties.RequestParameters, `${where}.RequestParameters`),
      validator,
      integration,
      methodResponses,
    });
  }

  const gatewayResponses: Record<string, GatewayResponseModel> = {};
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse')) {
    const raw = ownProperties(resource, apiLogicalId, logicalId);
    if (raw === undefined) continue;
    const where = `${logicalId}.Properties`;
    const properties = resolveIntrinsics({ ...raw, RestApiId: undefined }, directory, where) as Record<
      string,
      unknown
    >;
    gatewayResponses[String(properties.ResponseType)] = {
      statusCode: properties.StatusCode === undefined ? undefined : String(properties.StatusCode),
      responseParameters: stringMap(properties.ResponseParameters, `${where}.ResponseParameters`),
      responseTemplates: stringMap(properties.ResponseTemplates, `${where}.ResponseTemplates`),
    };
  }

  const { stageName, stageVariables } = readStage(template, directory, apiLogicalId);
  const apiKeyValues = resourcesOfType(template, 'AWS::ApiGateway::ApiKey')
    .map(([logicalId, resource]) =>
      resolveIntrinsics(resource.Properties?.Value, directory, `${logicalId}.Properties.Value`),
    )
    .filter((value): value is string => typeof value === 'string' && value !== '');
  const usagePlans = resourcesOfType(template, 'AWS::ApiGateway::UsagePlan').map(([logicalId, resource]) => ({
    logicalId,
    throttle: resource.Properties?.Throttle,
    quota: resource.Properties?.Quota,
  }));
  if (usagePlans.some((plan) => plan.throttle !== undefined || plan.quota !== undefined))
    warnings.push('usage plan throttles and quotas are not enforced locally.');

  return {
    logicalId: apiLogicalId,
    apiId: String(directory.ref(apiLogicalId, apiLogicalId)),
    name: String(apiProperties.Name ?? apiLogicalId),
    binaryMediaTypes,
    stageName,
    stageVariables,
    methods,
    gatewayResponses,
    apiKeyValues,
    usagePlans,
    unsupported,
    warnings,
  };
}

/** The stage name and variables: an AWS::ApiGateway::Stage first, then a Deployment's StageName. */
function readStage(
  template: CloudFormationTemplate,
  directory: ResourceDirectory,
  apiLogicalId: string,
): { stageName: string; stageVariables: Record<string, string> } {
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::ApiGateway::Stage')) {
    const raw = ownProperties(resource, apiLogicalId, logicalId);
    if (raw?.StageName === undefined) continue;
    const where = `${logicalId}.Properties`;
    return {
      stageName: String(resolveIntrinsics(raw.StageName, directory, `${where}.StageName`)),
      stageVariables: stringMap(resolveIntrinsics(raw.Variables, directory, `${where}.Variables`), where),
    };
  }
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::ApiGateway::Deployment')) {
    const raw = ownProperties(resource, apiLogicalId, logicalId);
    if (raw?.StageName === undefined) continue;
    return {
      stageName: String(resolveIntrinsics(raw.StageName, directory, `${logicalId}.Properties.StageName`)),
      stageVariables: {},
    };
  }
  return { stageName: 'local', stageVariables: {} };
}
