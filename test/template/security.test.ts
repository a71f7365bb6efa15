// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are CloudFormation Fn::Sub placeholders.
import { property, renderList, renderString, resource, resourcesOfType } from './cloudformation';
import {
  type CloudFormationTemplate,
  compiledPackage,
  PACKAGE_TIMEOUT_MS,
  TEST_BUCKET_PREFIX,
  TEST_STAGE,
} from './compiled-template';

/** A statement of any resource policy, as the template writes it. */
interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action?: unknown;
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

// Resource policy types and the property that contains each one's document.
const RESOURCE_POLICIES: Array<[string, string]> = [
  ['AWS::S3::BucketPolicy', 'PolicyDocument'],
  ['AWS::SNS::TopicPolicy', 'PolicyDocument'],
  ['AWS::SQS::QueuePolicy', 'PolicyDocument'],
  ['AWS::IAM::Role', 'AssumeRolePolicyDocument'],
];

// Service principals from the AWS documentation of each service's execution or credentials role.
const LAMBDA_SERVICE = 'lambda.amazonaws.com';
const API_GATEWAY_SERVICE = 'apigateway.amazonaws.com';

// Actions that create or delete objects, so each one can raise an ObjectCreated or ObjectRemoved notification.
const OBJECT_WRITE_ACTION = /^(\*|s3:\*|s3:Put.*|s3:Delete.*|s3:Restore.*|s3:Replicate.*|s3:Abort.*)$/;

const RAW_BUCKET = `${TEST_BUCKET_PREFIX}-image-pipeline-${TEST_STAGE}-raw`;

let template: CloudFormationTemplate;

beforeAll(async () => {
  ({ template } = await compiledPackage());
}, PACKAGE_TIMEOUT_MS);

function statementsOf(logicalId: string, documentProperty: string): PolicyStatement[] {
  const document = property(template, logicalId, documentProperty) as { Statement: PolicyStatement[] };
  return document.Statement;
}

function allPolicyStatements(): Array<{ logicalId: string; statement: PolicyStatement }> {
  return RESOURCE_POLICIES.flatMap(([type, documentProperty]) =>
    resourcesOfType(template, type).flatMap((logicalId) =>
      statementsOf(logicalId, documentProperty).map((statement) => ({ logicalId, statement })),
    ),
  );
}

/**
 * True for the statement AWS documents for refusing requests over plain HTTP (S3, SNS and SQS security best
 * practices): Deny with the single condition `Bool: {aws:SecureTransport: false}`, written as string or boolean.
 */
function deniesInsecureTransport(statement: PolicyStatement): boolean {
  const condition = statement.Condition ?? {};
  return (
    statement.Effect === 'Deny' &&
    Object.keys(condition).join() === 'Bool' &&
    Object.keys(condition.Bool ?? {}).join() === 'aws:SecureTransport' &&
    String(condition.Bool?.['aws:SecureTransport']) === 'false'
  );
}

function isEveryone(principal: unknown): boolean {
  if (principal === '*') return true;
  const aws = (principal as { AWS?: unknown } | undefined)?.AWS;
  return [aws].flat().includes('*');
}

/** Evaluates one of the template's conditions for given parameter values (Fn::Equals, Fn::Not, Condition). */
function evaluateCondition(name: string, parameters: Record<string, string>): boolean {
  const evaluate = (node: unknown): unknown => {
    if (typeof node !== 'object' || node === null) return node;
    const record = node as Record<string, unknown>;
    if (typeof record.Ref === 'string') return parameters[record.Ref];
    if (typeof record.Condition === 'string') return evaluateCondition(record.Condition, parameters);
    const equals = record['Fn::Equals'] as [unknown, unknown] | undefined;
    if (equals !== undefined) return evaluate(equals[0]) === evaluate(equals[1]);
    const not = record['Fn::Not'] as [unknown] | undefined;
    if (not !== undefined) return !evaluate(not[0]);
    throw new Error(`condition ${name} uses ${JSON.stringify(node)}, which this test cannot evaluate`);
  };
  const conditions = (template as { Conditions?: Record<string, unknown> }).Conditions ?? {};
  if (!(name in conditions)) throw new Error(`template has no condition ${name}`);
  return evaluate(conditions[name]) === true;
}

/** Resolves Fn::If in a property value for given parameter values. */
function resolveIf(value: unknown, parameters: Record<string, string>): unknown {
  const branches = (value as { 'Fn::If'?: [string, unknown, unknown] } | undefined)?.['Fn::If'];
  if (branches === undefined) return value;
  const [condition, whenTrue, whenFalse] = branches;
  return resolveIf(evaluateCondition(condition, parameters) ? whenTrue : whenFalse, parameters);
}

describe('resource policies', () => {
  it('no statement allows every principal', () => {
    const open = allPolicyStatements()
      .filter(({ statement }) => statement.Effect === 'Allow' && isEveryone(statement.Principal))
      .map(({ logicalId, statement }) => `${logicalId} ${statement.Sid ?? ''}`);

    expect(open).toEqual([]);
  });

  it('every statement for every principal denies insecure transport', () => {
    const everyone = allPolicyStatements().filter(({ statement }) => isEveryone(statement.Principal));
    const other = everyone
      .filter(({ statement }) => !deniesInsecureTransport(statement))
      .map(({ logicalId }) => logicalId);

    expect(other).toEqual([]);
  });

  it('no Lambda permission is granted to every principal', () => {
    const open = resourcesOfType(template, 'AWS::Lambda::Permission').filter(
      (logicalId) => property(template, logicalId, 'Principal') === '*',
    );

    expect(open).toEqual([]);
  });
});

describe('role trust', () => {
  const roles = () => resourcesOfType(template, 'AWS::IAM::Role');
  const expectedService = (roleId: string) =>
    roleId.startsWith('ImagesApi') ? API_GATEWAY_SERVICE : LAMBDA_SERVICE;

  it('template has roles to check', () => {
    expect(roles().length).toBeGreaterThanOrEqual(2);
  });

  it('every role trusts only its service principal', () => {
    const mismatched = roles().filter((roleId) => {
      const trust = statementsOf(roleId, 'AssumeRolePolicyDocument');
      const expected = [
        { Effect: 'Allow', Principal: { Service: [expectedService(roleId)] }, Action: ['sts:AssumeRole'] },
      ];
      const normalized = trust.map((statement) => ({
        Effect: statement.Effect,
        Principal: { Service: [(statement.Principal as { Service?: unknown }).Service].flat() },
        Action: [statement.Action].flat(),
      }));
      return JSON.stringify(normalized) !== JSON.stringify(expected);
    });

    expect(mismatched).toEqual([]);
  });

  it('every function runs with a Lambda role', () => {
    const roleIds = resourcesOfType(template, 'AWS::Lambda::Function').map((functionId) => {
      const role = property(template, functionId, 'Role') as { 'Fn::GetAtt': [string, string] };
      return role['Fn::GetAtt'][0];
    });

    expect(roleIds.map(expectedService)).toEqual(roleIds.map(() => LAMBDA_SERVICE));
  });
});

describe('API authorization', () => {
  const methods = () =>
    resourcesOfType(template, 'AWS::ApiGateway::Method').filter(
      (logicalId) => property(template, logicalId, 'HttpMethod') !== 'OPTIONS',
    );

  it('API has methods besides OPTIONS', () => {
    expect(methods().length).toBeGreaterThan(0);
  });

  it.each(['apiKey', 'iam'])('every method requires auth when ApiAuth is %s', (apiAuth) => {
    const parameters = { ApiAuth: apiAuth };
    const open = methods().filter((logicalId) => {
      const authorization = resolveIf(property(template, logicalId, 'AuthorizationType'), parameters);
      const apiKeyRequired = resolveIf(property(template, logicalId, 'ApiKeyRequired'), parameters);
      return authorization !== 'AWS_IAM' && apiKeyRequired !== true;
    });

    expect(open).toEqual([]);
  });

  it('OPTIONS methods only answer CORS preflights from a mock', () => {
    const options = resourcesOfType(template, 'AWS::ApiGateway::Method').filter(
      (logicalId) => property(template, logicalId, 'HttpMethod') === 'OPTIONS',
    );

    expect(options.map((logicalId) => property(template, logicalId, 'Integration.Type'))).toEqual(
      options.map(() => 'MOCK'),
    );
  });
});

describe('buckets', () => {
  const buckets = () => resourcesOfType(template, 'AWS::S3::Bucket');
  const policyFor = (bucketId: string) =>
    resourcesOfType(template, 'AWS::S3::BucketPolicy').filter(
      (policyId) =>
        JSON.stringify(property(template, policyId, 'Bucket')) === JSON.stringify({ Ref: bucketId }),
    );

  it('template has the raw, thumbnail, access-log and deployment buckets', () => {
    expect(buckets().sort()).toEqual(
      ['AccessLogBucket', 'RawBucket', 'ServerlessDeploymentBucket', 'ThumbnailBucket'].sort(),
    );
  });

  it('every bucket blocks every kind of public access', () => {
    const open = buckets().filter(
      (bucketId) =>
        JSON.stringify(property(template, bucketId, 'PublicAccessBlockConfiguration')) !==
        JSON.stringify({
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        }),
    );

    expect(open).toEqual([]);
  });

  it('every bucket encrypts objects by default', () => {
    const unencrypted = buckets().filter((bucketId) => {
      const rules = (property(template, bucketId, 'BucketEncryption.ServerSideEncryptionConfiguration') ??
        []) as Array<{ ServerSideEncryptionByDefault?: { SSEAlgorithm?: string } }>;
      const algorithms = rules.map((rule) => rule.ServerSideEncryptionByDefault?.SSEAlgorithm);
      return (
        algorithms.length === 0 ||
        !algorithms.every((algorithm) => ['AES256', 'aws:kms'].includes(algorithm ?? ''))
      );
    });

    expect(unencrypted).toEqual([]);
  });

  it('every bucket denies requests without TLS on itself and its objects', () => {
    const unprotected = buckets().filter((bucketId) => {
      const denies = policyFor(bucketId)
        .flatMap((policyId) => statementsOf(policyId, 'PolicyDocument'))
        .filter(
          (statement) =>
            deniesInsecureTransport(statement) &&
            isEveryone(statement.Principal) &&
            [statement.Action].flat().includes('s3:*'),
        );
      const covered = denies.flatMap((statement) => renderList(statement.Resource));
      const arn = (suffix: string) =>
        covered.some(
          (resourceArn) =>
            resourceArn === `\${${bucketId}.Arn}${suffix}` ||
            resourceArn === `arn:\${AWS::Partition}:s3:::\${${bucketId}}${suffix}`,
        );
      return !(arn('') && arn('/*'));
    });

    expect(unprotected).toEqual([]);
  });

  it.each(['RawBucket', 'ThumbnailBucket'])('%s writes server access logs to the log bucket', (bucketId) => {
    expect(property(template, bucketId, 'LoggingConfiguration.DestinationBucketName')).toEqual({
      Ref: 'AccessLogBucket',
    });
  });
});

describe('image events topic', () => {
  const allows = () =>
    resourcesOfType(template, 'AWS::SNS::TopicPolicy')
      .filter((policyId) =>
        (property(template, policyId, 'Topics') as unknown[]).some(
          (topic) => JSON.stringify(topic) === JSON.stringify({ Ref: 'ImageEventsTopic' }),
        ),
      )
      .flatMap((policyId) => statementsOf(policyId, 'PolicyDocument'))
      .filter((statement) => statement.Effect === 'Allow');

  it('only S3 is allowed to publish', () => {
    expect(allows().map((statement) => statement.Principal)).toEqual([{ Service: 's3.amazonaws.com' }]);
  });

  it('publishing requires the raw bucket as source', () => {
    expect(renderString(allows()[0]?.Condition?.ArnLike?.['aws:SourceArn'])).toBe(
      `arn:\${AWS::Partition}:s3:::${RAW_BUCKET}`,
    );
  });

  it('publishing requires the stack account as source account', () => {
    expect(renderString(allows()[0]?.Condition?.StringEquals?.['aws:SourceAccount'])).toBe(
      '${AWS::AccountId}',
    );
  });
});

describe('functions and their trigger', () => {
  /** Names of the buckets whose notifications reach a function through a topic it subscribes to. */
  function triggeringBuckets(functionId: string): string[] {
    const topics = resourcesOfType(template, 'AWS::SNS::Subscription')
      .map((logicalId) => resource(template, logicalId).Properties ?? {})
      .filter((subscription) => renderString(subscription.Endpoint) === `\${${functionId}.Arn}`)
      .map((subscription) => JSON.stringify(subscription.TopicArn));
    return resourcesOfType(template, 'AWS::S3::Bucket')
      .filter((bucketId) => {
        const configurations = (property(
          template,
          bucketId,
          'NotificationConfiguration.TopicConfigurations',
        ) ?? []) as Array<{ Topic: unknown }>;
        return configurations.some((configuration) => topics.includes(JSON.stringify(configuration.Topic)));
      })
      .map((bucketId) => renderString(property(template, bucketId, 'BucketName')));
  }

  function writeResources(functionId: string): string[] {
    const role = property(template, functionId, 'Role') as { 'Fn::GetAtt': [string, string] };
    const policies = (property(template, role['Fn::GetAtt'][0], 'Policies') ?? []) as Array<{
      PolicyDocument: { Statement: PolicyStatement[] };
    }>;
    return policies
      .flatMap((policy) => policy.PolicyDocument.Statement)
      .filter((statement) => statement.Effect === 'Allow')
      .filter((statement) =>
        [statement.Action].flat().some((action) => OBJECT_WRITE_ACTION.test(String(action))),
      )
      .flatMap((statement) => renderList(statement.Resource));
  }

  const functions = ['CreateThumbnailLambdaFunction', 'AnalyzeImageLambdaFunction'];

  it.each(functions)('%s is triggered by the raw bucket', (functionId) => {
    expect(triggeringBuckets(functionId)).toEqual([RAW_BUCKET]);
  });

  it.each(functions)('%s cannot write to the bucket that triggers it', (functionId) => {
    const triggers = triggeringBuckets(functionId);
    const writable = writeResources(functionId).filter(
      (arn) =>
        arn === '*' || triggers.some((bucket) => arn.startsWith(`arn:\${AWS::Partition}:s3:::${bucket}`)),
    );

    expect(writable).toEqual([]);
  });
});

describe('failure queues', () => {
  const queues = ['FailedInvocationsQueue', 'UndeliveredEventsQueue'];
  const queuePolicyStatements = (queueId: string) =>
    resourcesOfType(template, 'AWS::SQS::QueuePolicy')
      .filter((policyId) =>
        (property(template, policyId, 'Queues') as unknown[]).some(
          (queue) => JSON.stringify(queue) === JSON.stringify({ Ref: queueId }),
        ),
      )
      .flatMap((policyId) => statementsOf(policyId, 'PolicyDocument'));

  it.each(queues)('%s encrypts messages at rest', (queueId) => {
    expect(property(template, queueId, 'SqsManagedSseEnabled')).toBe(true);
  });

  it.each(queues)('%s has exactly one queue policy', (queueId) => {
    const policies = resourcesOfType(template, 'AWS::SQS::QueuePolicy').filter((policyId) =>
      (property(template, policyId, 'Queues') as unknown[]).some(
        (queue) => JSON.stringify(queue) === JSON.stringify({ Ref: queueId }),
      ),
    );

    expect(policies).toHaveLength(1);
  });

  it.each(queues)('%s denies requests without TLS', (queueId) => {
    const denies = queuePolicyStatements(queueId).filter(
      (statement) => deniesInsecureTransport(statement) && isEveryone(statement.Principal),
    );

    expect(denies.map((statement) => statement.Action)).toEqual(['sqs:*']);
  });

  it('failed-invocations queue grants nothing through its policy', () => {
    const allows = queuePolicyStatements('FailedInvocationsQueue').filter(
      (statement) => statement.Effect === 'Allow',
    );

    expect(allows).toEqual([]);
  });

  it('undelivered-events queue accepts messages only from the image events topic', () => {
    const allows = queuePolicyStatements('UndeliveredEventsQueue').filter(
      (statement) => statement.Effect === 'Allow',
    );

    expect(allows.map(({ Principal, Action, Condition }) => ({ Principal, Action, Condition }))).toEqual([
      {
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': { Ref: 'ImageEventsTopic' } } },
      },
    ]);
  });
});
