// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are CloudFormation Fn::Sub placeholders.
import { property, renderString, resource, resourcesOfType } from './cloudformation';
import {
  type CloudFormationTemplate,
  compiledPackage,
  PACKAGE_TIMEOUT_MS,
  TEST_BUCKET_PREFIX,
  TEST_STAGE,
} from './compiled-template';

const FUNCTIONS = ['CreateThumbnailLambdaFunction', 'AnalyzeImageLambdaFunction'];
const TOPIC = 'ImageEventsTopic';
const TOPIC_REF = { Ref: TOPIC };
const RAW_BUCKET = `${TEST_BUCKET_PREFIX}-image-pipeline-${TEST_STAGE}-raw`;

interface TopicConfiguration {
  Event: string;
  Topic: unknown;
}

interface PolicyStatement {
  Effect: string;
  Principal: unknown;
  Action: unknown;
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

let template: CloudFormationTemplate;

beforeAll(async () => {
  ({ template } = await compiledPackage());
}, PACKAGE_TIMEOUT_MS);

/** Subscriptions of the image events topic (the alarm topic has its own, in monitoring). */
function subscriptions() {
  return resourcesOfType(template, 'AWS::SNS::Subscription')
    .map((logicalId) => resource(template, logicalId).Properties ?? {})
    .filter((subscription) => JSON.stringify(subscription.TopicArn) === JSON.stringify(TOPIC_REF));
}

function snsPermissionFor(functionId: string) {
  return resourcesOfType(template, 'AWS::Lambda::Permission')
    .map((logicalId) => resource(template, logicalId).Properties ?? {})
    .filter(
      (permission) =>
        JSON.stringify(permission.FunctionName) === JSON.stringify({ 'Fn::GetAtt': [functionId, 'Arn'] }),
    );
}

/** The topic policy's Allow statements; the TLS deny is checked in security.test.ts. */
function topicPolicyStatements(): PolicyStatement[] {
  const document = property(template, 'ImageEventsTopicPolicy', 'PolicyDocument') as {
    Statement: PolicyStatement[];
  };
  return document.Statement.filter((statement) => statement.Effect === 'Allow');
}

describe('raw bucket notifications', () => {
  it('raw bucket sends created and removed events to the topic', () => {
    const configurations = property(
      template,
      'RawBucket',
      'NotificationConfiguration.TopicConfigurations',
    ) as TopicConfiguration[];

    expect(configurations).toEqual(
      expect.arrayContaining([
        { Event: 's3:ObjectCreated:*', Topic: TOPIC_REF },
        { Event: 's3:ObjectRemoved:*', Topic: TOPIC_REF },
      ]),
    );
  });

  it('raw bucket has no other notification target', () => {
    const configuration = property(template, 'RawBucket', 'NotificationConfiguration') as Record<
      string,
      unknown[]
    >;

    expect(Object.keys(configuration)).toEqual(['TopicConfigurations']);
  });

  it('raw bucket waits for the topic policy', () => {
    // S3 validates the destination while it saves the configuration, so the policy must exist first.
    expect([resource(template, 'RawBucket').DependsOn].flat()).toContain('ImageEventsTopicPolicy');
  });

  it('thumbnail bucket sends no notifications', () => {
    expect(property(template, 'ThumbnailBucket', 'NotificationConfiguration')).toBeUndefined();
  });
});

describe('topic subscriptions', () => {
  it('topic has one subscription per function', () => {
    const endpoints = subscriptions()
      .map((subscription) => renderString(subscription.Endpoint))
      .sort();

    expect(endpoints).toEqual(FUNCTIONS.map((functionId) => `\${${functionId}.Arn}`).sort());
  });

  it('every subscription sends undeliverable messages to the undelivered-events queue', () => {
    expect(subscriptions().map((subscription) => subscription.RedrivePolicy)).toEqual(
      FUNCTIONS.map(() => ({ deadLetterTargetArn: { 'Fn::GetAtt': ['UndeliveredEventsQueue', 'Arn'] } })),
    );
  });

  it('every subscription uses the lambda protocol', () => {
    expect(new Set(subscriptions().map((subscription) => subscription.Protocol))).toEqual(
      new Set(['lambda']),
    );
  });

  it.each(FUNCTIONS)('%s lets SNS invoke it from the topic only', (functionId) => {
    expect(snsPermissionFor(functionId)).toEqual([
      {
        FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
        Action: 'lambda:InvokeFunction',
        Principal: 'sns.amazonaws.com',
        SourceArn: TOPIC_REF,
      },
    ]);
  });
});

describe('topic policy', () => {
  it('policy applies to the topic', () => {
    expect(property(template, 'ImageEventsTopicPolicy', 'Topics')).toEqual([TOPIC_REF]);
  });

  it('policy has a single Allow statement', () => {
    expect(topicPolicyStatements()).toHaveLength(1);
  });

  it('only S3 may publish', () => {
    const [statement] = topicPolicyStatements();

    expect({ Effect: statement?.Effect, Principal: statement?.Principal, Action: statement?.Action }).toEqual(
      {
        Effect: 'Allow',
        Principal: { Service: 's3.amazonaws.com' },
        Action: 'sns:Publish',
      },
    );
  });

  it('publishing is allowed on this topic only', () => {
    expect(topicPolicyStatements()[0]?.Resource).toEqual(TOPIC_REF);
  });

  it('source ARN condition names the raw bucket', () => {
    const condition = topicPolicyStatements()[0]?.Condition ?? {};

    expect(renderString(condition.ArnLike?.['aws:SourceArn'])).toBe(
      `arn:\${AWS::Partition}:s3:::${RAW_BUCKET}`,
    );
  });

  it('source ARN condition matches the raw bucket resource name', () => {
    const condition = topicPolicyStatements()[0]?.Condition ?? {};
    const bucketName = renderString(property(template, 'RawBucket', 'BucketName'));

    expect(renderString(condition.ArnLike?.['aws:SourceArn'])).toBe(
      `arn:\${AWS::Partition}:s3:::${bucketName}`,
    );
  });

  it('source account condition is the stack account', () => {
    const condition = topicPolicyStatements()[0]?.Condition ?? {};

    expect(renderString(condition.StringEquals?.['aws:SourceAccount'])).toBe('${AWS::AccountId}');
  });

  it('policy has no other condition operators', () => {
    expect(Object.keys(topicPolicyStatements()[0]?.Condition ?? {}).sort()).toEqual([
      'ArnLike',
      'StringEquals',
    ]);
  });
});
