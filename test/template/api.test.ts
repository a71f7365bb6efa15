// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are CloudFormation Fn::Sub placeholders.
import { property, renderList, renderString, resource, resourcesOfType } from './cloudformation';
import {
  type CloudFormationTemplate,
  compiledPackage,
  PACKAGE_TIMEOUT_MS,
  SERVICE_NAME,
  TEST_BUCKET_PREFIX,
  TEST_STAGE,
} from './compiled-template';

const RAW_BUCKET = `${TEST_BUCKET_PREFIX}-${SERVICE_NAME}-${TEST_STAGE}-raw`;
const THUMBNAIL_BUCKET = `${TEST_BUCKET_PREFIX}-${SERVICE_NAME}-${TEST_STAGE}-thumbnails`;
const TABLE = `${SERVICE_NAME}-${TEST_STAGE}-images`;
const S3_PATH_URI = 'arn:${AWS::Partition}:apigateway:${AWS::Region}:s3:path/{bucket}/{object}';
const DYNAMODB_URI = 'arn:${AWS::Partition}:apigateway:${AWS::Region}:dynamodb:action/';

interface Integration {
  Type: string;
  IntegrationHttpMethod?: string;
  Uri?: unknown;
  Credentials?: unknown;
  RequestParameters?: Record<string, string>;
  RequestTemplates?: Record<string, string>;
  PassthroughBehavior?: string;
  IntegrationResponses?: Array<{ StatusCode: string; SelectionPattern?: string; ContentHandling?: string }>;
}

interface Route {
  path: string;
  method: string;
  uri: string;
  integrationMethod: string;
  role: string;
}

// Expected integrations, from the S3 and DynamoDB API Gateway service integrations (path-style S3 URIs and
// DynamoDB actions).
const ROUTES: Route[] = [
  {
    path: '/images/{key}',
    method: 'PUT',
    uri: S3_PATH_URI,
    integrationMethod: 'PUT',
    role: 'ImagesApiUploadRole',
  },
  {
    path: '/images/{key}',
    method: 'POST',
    uri: S3_PATH_URI,
    integrationMethod: 'PUT',
    role: 'ImagesApiUploadRole',
  },
  {
    path: '/images',
    method: 'GET',
    uri: `${DYNAMODB_URI}Scan`,
    integrationMethod: 'POST',
    role: 'ImagesApiTableReadRole',
  },
  {
    path: '/all-images',
    method: 'GET',
    uri: `${DYNAMODB_URI}Scan`,
    integrationMethod: 'POST',
    role: 'ImagesApiTableReadRole',
  },
  {
    path: '/images/{key}',
    method: 'GET',
    uri: `${DYNAMODB_URI}GetItem`,
    integrationMethod: 'POST',
    role: 'ImagesApiTableReadRole',
  },
  {
    path: '/thumbnails/{key}',
    method: 'GET',
    uri: S3_PATH_URI,
    integrationMethod: 'GET',
    role: 'ImagesApiThumbnailReadRole',
  },
];
const routeName = (route: Route) => `${route.method} ${route.path}`;

let template: CloudFormationTemplate;

beforeAll(async () => {
  ({ template } = await compiledPackage());
}, PACKAGE_TIMEOUT_MS);

/** Builds each Resource's full path from its PathPart and ParentId chain. */
function resourcePath(logicalId: string): string {
  const properties = resource(template, logicalId).Properties ?? {};
  const parent = properties.ParentId as { Ref?: string };
  const prefix = parent.Ref === undefined ? '' : resourcePath(parent.Ref);
  return `${prefix}/${String(properties.PathPart)}`;
}

function methodIdOf(path: string, httpMethod: string): string {
  const matches = resourcesOfType(template, 'AWS::ApiGateway::Method').filter((methodId) => {
    const properties = resource(template, methodId).Properties ?? {};
    const resourceRef = properties.ResourceId as { Ref?: string };
    return (
      properties.HttpMethod === httpMethod &&
      resourceRef.Ref !== undefined &&
      resourcePath(resourceRef.Ref) === path
    );
  });
  if (matches.length !== 1)
    throw new Error(`expected one ${httpMethod} ${path} method, found ${matches.length}`);
  return matches[0] as string;
}

const integrationOf = (route: Route) =>
  property(template, methodIdOf(route.path, route.method), 'Integration') as Integration;

describe('RestApi', () => {
  it('is named after service and stage', () => {
    expect(property(template, 'ImagesApi', 'Name')).toBe(`${SERVICE_NAME}-${TEST_STAGE}`);
  });

  it('lists exactly the image binary media types', () => {
    expect(property(template, 'ImagesApi', 'BinaryMediaTypes')).toEqual([
      'image/jpeg',
      'image/png',
      'image/webp',
      'image/gif',
      'image/avif',
      'image/tiff',
      'application/octet-stream',
    ]);
  });

  it('uses a regional endpoint', () => {
    expect(property(template, 'ImagesApi', 'EndpointConfiguration')).toEqual({ Types: ['REGIONAL'] });
  });
});

describe.each(ROUTES)('route $method $path', (route) => {
  it('uses an AWS service integration', () => {
    expect(integrationOf(route).Type).toBe('AWS');
  });

  it('calls the expected service URI', () => {
    expect(renderString(integrationOf(route).Uri)).toBe(route.uri);
  });

  it('calls the service with the expected HTTP method', () => {
    expect(integrationOf(route).IntegrationHttpMethod).toBe(route.integrationMethod);
  });

  it('uses its credentials role', () => {
    expect(renderString(integrationOf(route).Credentials)).toBe(`\${${route.role}.Arn}`);
  });

  it('requires an API key or IAM auth by condition', () => {
    const methodId = methodIdOf(route.path, route.method);

    expect({
      AuthorizationType: property(template, methodId, 'AuthorizationType'),
      ApiKeyRequired: property(template, methodId, 'ApiKeyRequired'),
    }).toEqual({
      AuthorizationType: { 'Fn::If': ['UseIamAuth', 'AWS_IAM', 'NONE'] },
      ApiKeyRequired: { 'Fn::If': ['UseIamAuth', false, true] },
    });
  });

  it('validates request parameters', () => {
    const validator = property(template, methodIdOf(route.path, route.method), 'RequestValidatorId');

    expect(validator).toEqual({ Ref: 'ImagesApiParametersValidator' });
  });

  it('answers 500 by default, never success', () => {
    const defaults = (integrationOf(route).IntegrationResponses ?? []).filter(
      (response) => response.SelectionPattern === undefined,
    );

    expect(defaults.map((response) => response.StatusCode)).toEqual(['500']);
  });

  it('maps 4xx and 5xx service errors to errors', () => {
    const byPattern = Object.fromEntries(
      (integrationOf(route).IntegrationResponses ?? []).map((response) => [
        response.SelectionPattern,
        response.StatusCode,
      ]),
    );

    expect({ client: byPattern['4\\d{2}'], server: byPattern['5\\d{2}'] }).toEqual({
      client: '400',
      server: '502',
    });
  });
});

describe('S3 integrations', () => {
  const uploads = ROUTES.filter((route) => route.role === 'ImagesApiUploadRole');
  const thumbnail = ROUTES.find((route) => route.path === '/thumbnails/{key}') as Route;

  it.each(uploads.map(routeName))('%s writes to the literal raw bucket', (name) => {
    const route = ROUTES.find((candidate) => routeName(candidate) === name) as Route;

    expect(integrationOf(route).RequestParameters).toEqual({
      'integration.request.path.bucket': `'${RAW_BUCKET}'`,
      'integration.request.path.object': 'method.request.path.key',
      'integration.request.header.Content-Type': 'method.request.header.Content-Type',
    });
  });

  it.each(uploads.map(routeName))('%s passes the body through untransformed', (name) => {
    const route = ROUTES.find((candidate) => routeName(candidate) === name) as Route;
    const integration = integrationOf(route);

    expect({ templates: integration.RequestTemplates, passthrough: integration.PassthroughBehavior }).toEqual(
      {
        templates: undefined,
        passthrough: 'WHEN_NO_TEMPLATES',
      },
    );
  });

  it.each(uploads.map(routeName))('%s answers 201 for a 2xx from S3', (name) => {
    const route = ROUTES.find((candidate) => routeName(candidate) === name) as Route;
    const success = integrationOf(route).IntegrationResponses?.find(
      (response) => response.SelectionPattern === '2\\d{2}',
    );

    expect(success?.StatusCode).toBe('201');
  });

  it.each(uploads.map(routeName))('%s requires the key and Content-Type', (name) => {
    const route = ROUTES.find((candidate) => routeName(candidate) === name) as Route;

    expect(property(template, methodIdOf(route.path, route.method), 'RequestParameters')).toEqual({
      'method.request.path.key': true,
      'method.request.header.Content-Type': true,
    });
  });

  it('thumbnail reads from the literal thumbnail bucket', () => {
    expect(integrationOf(thumbnail).RequestParameters).toEqual({
      'integration.request.path.bucket': `'${THUMBNAIL_BUCKET}'`,
      'integration.request.path.object': 'method.request.path.key',
    });
  });

  it('thumbnail returns binary with the object Content-Type', () => {
    const success = integrationOf(thumbnail).IntegrationResponses?.find(
      (response) => response.SelectionPattern === '2\\d{2}',
    ) as { ContentHandling?: string; ResponseParameters?: Record<string, string> };

    expect({
      handling: success.ContentHandling,
      contentType: success.ResponseParameters?.['method.response.header.Content-Type'],
    }).toEqual({ handling: 'CONVERT_TO_BINARY', contentType: 'integration.response.header.Content-Type' });
  });

  it('thumbnail answers 404 for a 404 from S3', () => {
    const notFound = integrationOf(thumbnail).IntegrationResponses?.find(
      (response) => response.SelectionPattern === '404',
    );

    expect(notFound?.StatusCode).toBe('404');
  });
});

describe('DynamoDB integrations', () => {
  const tableRoutes = ROUTES.filter((route) => route.role === 'ImagesApiTableReadRole');

  it.each(tableRoutes.map(routeName))('%s names the literal table', (name) => {
    const route = ROUTES.find((candidate) => routeName(candidate) === name) as Route;
    const requestTemplate = integrationOf(route).RequestTemplates?.['application/json'] ?? '';

    expect(requestTemplate).toContain(`"TableName": "${TABLE}"`);
  });

  it.each(tableRoutes.map(routeName))('%s rejects unmapped content types', (name) => {
    const route = ROUTES.find((candidate) => routeName(candidate) === name) as Route;

    expect(integrationOf(route).PassthroughBehavior).toBe('NEVER');
  });
});

describe('credentials roles', () => {
  const roles: Record<string, Array<{ Action: string[]; Resource: string[] }>> = {
    ImagesApiUploadRole: [
      { Action: ['s3:PutObject'], Resource: [`arn:\${AWS::Partition}:s3:::${RAW_BUCKET}/*`] },
    ],
    ImagesApiTableReadRole: [
      { Action: ['dynamodb:GetItem', 'dynamodb:Scan'], Resource: ['${ImagesTable.Arn}'] },
    ],
    ImagesApiThumbnailReadRole: [
      { Action: ['s3:GetObject'], Resource: [`arn:\${AWS::Partition}:s3:::${THUMBNAIL_BUCKET}/*`] },
      { Action: ['s3:ListBucket'], Resource: [`arn:\${AWS::Partition}:s3:::${THUMBNAIL_BUCKET}`] },
    ],
  };

  it.each(Object.keys(roles))('%s trusts only apigateway.amazonaws.com', (roleId) => {
    expect(property(template, roleId, 'AssumeRolePolicyDocument.Statement')).toEqual([
      { Effect: 'Allow', Principal: { Service: ['apigateway.amazonaws.com'] }, Action: ['sts:AssumeRole'] },
    ]);
  });

  it.each(Object.keys(roles))('%s grants exactly its statements', (roleId) => {
    const policies = property(template, roleId, 'Policies') as Array<{
      PolicyDocument: { Statement: Array<{ Effect: string; Action: unknown; Resource: unknown }> };
    }>;
    const statements = policies.flatMap((policy) =>
      policy.PolicyDocument.Statement.map((statement) => ({
        Effect: statement.Effect,
        Action: renderList(statement.Action).sort(),
        Resource: renderList(statement.Resource).sort(),
      })),
    );

    expect(statements).toEqual((roles[roleId] ?? []).map((statement) => ({ Effect: 'Allow', ...statement })));
  });

  it.each(Object.keys(roles))('%s has no managed policies', (roleId) => {
    expect(property(template, roleId, 'ManagedPolicyArns')).toBeUndefined();
  });
});

describe('auth and limits', () => {
  it('auth mode parameter defaults to apiKey', () => {
    const parameters = (
      template as unknown as { Parameters: Record<string, { Default: string; AllowedValues: string[] }> }
    ).Parameters;

    expect(parameters.ApiAuth).toMatchObject({ Default: 'apiKey', AllowedValues: ['apiKey', 'iam'] });
  });

  it.each(['ImagesApiUsagePlan', 'ImagesApiKey', 'ImagesApiUsagePlanKey'])(
    '%s exists only with API keys',
    (id) => {
      expect(resource(template, id).Condition).toBe('UseApiKeyAuth');
    },
  );

  it('usage plan throttles and sets a quota', () => {
    expect({
      throttle: property(template, 'ImagesApiUsagePlan', 'Throttle'),
      quota: property(template, 'ImagesApiUsagePlan', 'Quota'),
    }).toEqual({ throttle: { RateLimit: 20, BurstLimit: 40 }, quota: { Limit: 10000, Period: 'DAY' } });
  });

  it('usage plan covers the stage', () => {
    expect(property(template, 'ImagesApiUsagePlan', 'ApiStages')).toEqual([
      { ApiId: { Ref: 'ImagesApi' }, Stage: { Ref: 'ImagesApiStage' } },
    ]);
  });

  it('usage plan key links key and plan', () => {
    expect(resource(template, 'ImagesApiUsagePlanKey').Properties).toEqual({
      KeyId: { Ref: 'ImagesApiKey' },
      KeyType: 'API_KEY',
      UsagePlanId: { Ref: 'ImagesApiUsagePlan' },
    });
  });

  it('stage is named after the framework stage', () => {
    expect(property(template, 'ImagesApiStage', 'StageName')).toBe(TEST_STAGE);
  });

  it('stage throttles every method', () => {
    expect(property(template, 'ImagesApiStage', 'MethodSettings')).toEqual([
      expect.objectContaining({
        ResourcePath: '/*',
        HttpMethod: '*',
        ThrottlingRateLimit: 20,
        ThrottlingBurstLimit: 40,
      }),
    ]);
  });

  it('stage writes access logs to its log group', () => {
    expect(renderString(property(template, 'ImagesApiStage', 'AccessLogSetting.DestinationArn'))).toBe(
      '${ImagesApiAccessLogGroup.Arn}',
    );
  });

  it('access log group keeps logs for the stage retention', () => {
    expect(property(template, 'ImagesApiAccessLogGroup', 'RetentionInDays')).toBe(30);
  });

  it('parameters validator checks parameters only', () => {
    expect(resource(template, 'ImagesApiParametersValidator').Properties).toMatchObject({
      ValidateRequestParameters: true,
      ValidateRequestBody: false,
    });
  });

  it('only OPTIONS preflight methods skip auth', () => {
    const open = resourcesOfType(template, 'AWS::ApiGateway::Method').filter(
      (methodId) => property(template, methodId, 'AuthorizationType') === 'NONE',
    );

    expect(open.map((methodId) => property(template, methodId, 'HttpMethod'))).toEqual(
      open.map(() => 'OPTIONS'),
    );
  });
});

describe('deployment', () => {
  it('depends on every method', () => {
    const dependsOn = [resource(template, 'ImagesApiDeployment').DependsOn ?? []].flat();

    expect(
      resourcesOfType(template, 'AWS::ApiGateway::Method').filter((id) => !dependsOn.includes(id)),
    ).toEqual([]);
  });

  it('outputs the stage URL', () => {
    expect(renderString(template.Outputs?.ImagesApiUrl?.Value)).toBe(
      'https://${ImagesApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${ImagesApiStage}',
    );
  });

  it('outputs the API key id', () => {
    expect(template.Outputs?.ImagesApiKeyId?.Value).toEqual({ Ref: 'ImagesApiKey' });
  });
});

describe('gateway responses', () => {
  const responseTypes = () =>
    resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse').map((id) =>
      property(template, id, 'ResponseType'),
    );

  it.each(['DEFAULT_4XX', 'DEFAULT_5XX', 'INVALID_API_KEY', 'REQUEST_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'])(
    '%s is customised',
    (type) => {
      expect(responseTypes()).toContain(type);
    },
  );

  it('every gateway response carries a CORS origin header', () => {
    const withoutOrigin = resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse').filter(
      (id) =>
        (property(template, id, 'ResponseParameters') as Record<string, string>)[
          'gatewayresponse.header.Access-Control-Allow-Origin'
        ] !== "'*'",
    );

    expect(withoutOrigin).toEqual([]);
  });

  it('every gateway response has a JSON body', () => {
    const withoutJson = resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse').filter(
      (id) => typeof property(template, id, 'ResponseTemplates.application/json') !== 'string',
    );

    expect(withoutJson).toEqual([]);
  });
});
