import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  type CloudFormationTemplate,
  compiledPackage,
  PACKAGE_TIMEOUT_MS,
  TEST_BUCKET_PREFIX,
} from '../template/compiled-template';

const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const REGION = 'us-east-1';
const ACCOUNT_ID = '123456789012';

interface PolicyStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
}

const policyText = readFileSync(path.join(PROJECT_DIR, 'config', 'iam', 'deployer-policy.json'), 'utf8');
const policy = JSON.parse(
  policyText
    .replaceAll('<REGION>', REGION)
    .replaceAll('<ACCOUNT_ID>', ACCOUNT_ID)
    .replaceAll('<BUCKET_PREFIX>', TEST_BUCKET_PREFIX),
) as { Version: string; Statement: PolicyStatement[] };

const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

/** Returns whether an IAM resource pattern (with `*` and `?` wildcards) matches an ARN. */
function patternMatches(pattern: string, arn: string): boolean {
  const expression = pattern
    .split('')
    .map((character) => {
      if (character === '*') return '.*';
      if (character === '?') return '.';
      return character.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${expression}$`).test(arn);
}

/** Returns whether the policy allows `action` on `arn`. */
function allows(action: string, arn: string): boolean {
  return policy.Statement.some(
    (statement) =>
      statement.Effect === 'Allow' &&
      list(statement.Action).includes(action) &&
      list(statement.Resource).some((pattern) => patternMatches(pattern, arn)),
  );
}

/**
 * The IAM action that creating each resource type needs, from the AWS documentation of each service's actions
 * (Service Authorization Reference), and the ARN format of the resource it creates.
 */
const CREATE_ACTIONS: Record<string, { action: string; arn?: (name: string) => string }> = {
  'AWS::S3::Bucket': { action: 's3:CreateBucket', arn: (name) => `arn:aws:s3:::${name}` },
  'AWS::S3::BucketPolicy': { action: 's3:PutBucketPolicy' },
  'AWS::SNS::Topic': {
    action: 'sns:CreateTopic',
    arn: (name) => `arn:aws:sns:${REGION}:${ACCOUNT_ID}:${name}`,
  },
  'AWS::SNS::TopicPolicy': { action: 'sns:SetTopicAttributes' },
  'AWS::SNS::Subscription': { action: 'sns:Subscribe' },
  'AWS::SQS::Queue': {
    action: 'sqs:CreateQueue',
    arn: (name) => `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${name}`,
  },
  'AWS::SQS::QueuePolicy': { action: 'sqs:SetQueueAttributes' },
  'AWS::DynamoDB::Table': {
    action: 'dynamodb:CreateTable',
    arn: (name) => `arn:aws:dynamodb:${REGION}:${ACCOUNT_ID}:table/${name}`,
  },
  'AWS::Lambda::Function': {
    action: 'lambda:CreateFunction',
    arn: (name) => `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${name}`,
  },
  'AWS::Lambda::Version': { action: 'lambda:PublishVersion' },
  'AWS::Lambda::Permission': { action: 'lambda:AddPermission' },
  'AWS::Lambda::EventInvokeConfig': { action: 'lambda:PutFunctionEventInvokeConfig' },
  'AWS::IAM::Role': { action: 'iam:CreateRole', arn: (name) => `arn:aws:iam::${ACCOUNT_ID}:role/${name}` },
  'AWS::Logs::LogGroup': {
    action: 'logs:CreateLogGroup',
    arn: (name) => `arn:aws:logs:${REGION}:${ACCOUNT_ID}:log-group:${name}`,
  },
  'AWS::CloudWatch::Alarm': {
    action: 'cloudwatch:PutMetricAlarm',
    arn: (name) => `arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:${name}`,
  },
  'AWS::ApiGateway::RestApi': {
    action: 'apigateway:POST',
    arn: () => `arn:aws:apigateway:${REGION}::/restapis`,
  },
  'AWS::ApiGateway::Resource': { action: 'apigateway:POST' },
  'AWS::ApiGateway::Method': { action: 'apigateway:PUT' },
  'AWS::ApiGateway::RequestValidator': { action: 'apigateway:POST' },
  'AWS::ApiGateway::GatewayResponse': { action: 'apigateway:PUT' },
  'AWS::ApiGateway::Deployment': { action: 'apigateway:POST' },
  'AWS::ApiGateway::Stage': { action: 'apigateway:POST' },
  'AWS::ApiGateway::UsagePlan': {
    action: 'apigateway:POST',
    arn: () => `arn:aws:apigateway:${REGION}::/usageplans`,
  },
  'AWS::ApiGateway::ApiKey': {
    action: 'apigateway:POST',
    arn: () => `arn:aws:apigateway:${REGION}::/apikeys`,
  },
  'AWS::ApiGateway::UsagePlanKey': { action: 'apigateway:POST' },
};

/** Property that contains each named resource type's physical name. */
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::S3::Bucket': 'BucketName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
};

/** Evaluates a name that is a string or an Fn::Join of strings and `AWS::Region`. */
function literalName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] } | undefined)?.['Fn::Join'];
  if (join === undefined) return undefined;
  const parts = join[1].map((part) => {
    if ((part as { Ref?: string }).Ref === 'AWS::Region') return REGION;
    return typeof part === 'string' ? part : undefined;
  });
  return parts.includes(undefined) ? undefined : parts.join(join[0]);
}

describe('deployer policy', () => {
  let template: CloudFormationTemplate;

  beforeAll(async () => {
    template = (await compiledPackage('dev')).template;
  }, PACKAGE_TIMEOUT_MS);

  it('uses policy language version 2012-10-17', () => {
    expect(policy.Version).toBe('2012-10-17');
  });

  it('allows no action wildcard', () => {
    const wildcards = policy.Statement.flatMap((statement) => list(statement.Action)).filter((action) =>
      action.includes('*'),
    );

    expect(wildcards).toEqual([]);
  });

  it('grants on every resource only template validation', () => {
    const unscoped = policy.Statement.filter((statement) => list(statement.Resource).includes('*')).flatMap(
      (statement) => list(statement.Action),
    );

    expect(unscoped).toEqual(['cloudformation:ValidateTemplate']);
  });

  it('knows every resource type of the template', () => {
    const types = new Set(Object.values(template.Resources).map((resource) => resource.Type));

    expect([...types].filter((type) => CREATE_ACTIONS[type] === undefined)).toEqual([]);
  });

  it('allows creating every resource type of the template', () => {
    const types = new Set(Object.values(template.Resources).map((resource) => resource.Type));
    const granted = new Set(policy.Statement.flatMap((statement) => list(statement.Action)));
    const missing = [...types].filter((type) => !granted.has(CREATE_ACTIONS[type]?.action ?? ''));

    expect(missing).toEqual([]);
  });

  it('allows creating each named resource under its own name', () => {
    const denied: string[] = [];
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const create = CREATE_ACTIONS[resource.Type];
      const nameProperty = NAME_PROPERTIES[resource.Type];
      if (create?.arn === undefined || nameProperty === undefined) continue;
      const name = literalName(resource.Properties?.[nameProperty]);
      // CloudFormation names unnamed resources `<stack name>-<logical id>-<suffix>`, in lower case for buckets.
      const generated = `image-pipeline-dev-${logicalId}-ABCDEF123456`;
      const arn = create.arn(
        name ?? (resource.Type === 'AWS::S3::Bucket' ? generated.toLowerCase() : generated),
      );
      if (!allows(create.action, arn)) denied.push(`${logicalId}: ${create.action} on ${arn}`);
    }

    expect(denied).toEqual([]);
  });

  it('allows uploading to the deployment bucket', () => {
    // CloudFormation names the bucket from the stack name, the logical id and a random suffix, in lower case.
    const arn = 'arn:aws:s3:::image-pipeline-dev-serverlessdeploymentbucket-1a2b3c4d5e6f/serverless/x.zip';

    expect(allows('s3:PutObject', arn)).toBe(true);
  });

  it('allows the smoke test to delete only its own uploads', () => {
    const raw = `arn:aws:s3:::${TEST_BUCKET_PREFIX}-image-pipeline-dev-raw`;

    expect(allows('s3:DeleteObject', `${raw}/smoke/2026-12-04-photo.jpg`)).toBe(true);
    expect(allows('s3:DeleteObject', `${raw}/holiday/beach.jpg`)).toBe(false);
  });

  it('denies roles of other services', () => {
    expect(allows('iam:CreateRole', `arn:aws:iam::${ACCOUNT_ID}:role/admin`)).toBe(false);
  });

  it('denies buckets of other services', () => {
    expect(allows('s3:CreateBucket', 'arn:aws:s3:::some-other-bucket')).toBe(false);
  });
});
