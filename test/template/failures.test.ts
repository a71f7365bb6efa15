import { failureQueueNames } from '../../scripts/redrive/queues';
import { property, renderString, resourcesOfType } from './cloudformation';
import {
  type CloudFormationTemplate,
  compiledPackage,
  PACKAGE_TIMEOUT_MS,
  SERVICE_NAME,
  TEST_STAGE,
} from './compiled-template';

const FUNCTIONS = ['CreateThumbnailLambdaFunction', 'AnalyzeImageLambdaFunction'];
const QUEUES = ['FailedInvocationsQueue', 'UndeliveredEventsQueue'];
const ALARM_TOPIC_REF = { Ref: 'AlarmTopic' };

// Limits of AWS::Lambda::EventInvokeConfig in the Lambda API reference (PutFunctionEventInvokeConfig).
const MAX_RETRY_ATTEMPTS = 2;
const MIN_EVENT_AGE_SECONDS = 60;
const MAX_EVENT_AGE_SECONDS = 21_600;

interface AlarmProperties {
  Namespace: string;
  MetricName: string;
  Dimensions: Array<{ Name: string; Value: unknown }>;
  Statistic: string;
  Threshold: number;
  ComparisonOperator: string;
  AlarmActions: unknown[];
  OKActions?: unknown[];
}

let template: CloudFormationTemplate;

beforeAll(async () => {
  ({ template } = await compiledPackage());
}, PACKAGE_TIMEOUT_MS);

function invokeConfigOf(functionId: string): Record<string, unknown> {
  const configs = resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig')
    .map((logicalId) => template.Resources[logicalId]?.Properties ?? {})
    .filter((properties) => JSON.stringify(properties.FunctionName) === JSON.stringify({ Ref: functionId }));
  if (configs.length !== 1)
    throw new Error(`${functionId} has ${configs.length} EventInvokeConfig resources`);
  return configs[0] ?? {};
}

function alarms(): Array<{ logicalId: string; properties: AlarmProperties }> {
  return resourcesOfType(template, 'AWS::CloudWatch::Alarm').map((logicalId) => ({
    logicalId,
    properties: template.Resources[logicalId]?.Properties as unknown as AlarmProperties,
  }));
}

function alarmsOn(namespace: string, metricName: string, dimensionValue: unknown) {
  return alarms().filter(
    ({ properties }) =>
      properties.Namespace === namespace &&
      properties.MetricName === metricName &&
      properties.Dimensions.some(
        (dimension) => JSON.stringify(dimension.Value) === JSON.stringify(dimensionValue),
      ),
  );
}

describe.each(FUNCTIONS)('%s asynchronous invocation', (functionId) => {
  it('sends exhausted events to the failed-invocations queue', () => {
    expect(invokeConfigOf(functionId).DestinationConfig).toEqual({
      OnFailure: { Destination: { 'Fn::GetAtt': ['FailedInvocationsQueue', 'Arn'] } },
    });
  });

  it('sets maximum retry attempts within Lambda limits', () => {
    const attempts = invokeConfigOf(functionId).MaximumRetryAttempts as number;

    expect(attempts).toBeGreaterThanOrEqual(0);
    expect(attempts).toBeLessThanOrEqual(MAX_RETRY_ATTEMPTS);
  });

  it('sets maximum event age within Lambda limits', () => {
    const age = invokeConfigOf(functionId).MaximumEventAgeInSeconds as number;

    expect(age).toBeGreaterThanOrEqual(MIN_EVENT_AGE_SECONDS);
    expect(age).toBeLessThanOrEqual(MAX_EVENT_AGE_SECONDS);
  });

  it('applies to the unpublished version that SNS invokes', () => {
    expect(invokeConfigOf(functionId).Qualifier).toBe('$LATEST');
  });
});

describe('failure queues', () => {
  it('queue names match the names npm run redrive looks up', () => {
    const names = failureQueueNames(SERVICE_NAME, TEST_STAGE);

    expect([
      renderString(property(template, 'FailedInvocationsQueue', 'QueueName')),
      renderString(property(template, 'UndeliveredEventsQueue', 'QueueName')),
    ]).toEqual([names.failedInvocations, names.undeliveredEvents]);
  });

  it.each(QUEUES)('%s keeps messages for 14 days', (queueId) => {
    // 1,209,600 seconds is the longest retention SQS allows.
    expect(property(template, queueId, 'MessageRetentionPeriod')).toBe(1_209_600);
  });
});

describe('alarms', () => {
  it.each(QUEUES)('%s depth alarm fires on the first visible message', (queueId) => {
    const found = alarmsOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible', {
      'Fn::GetAtt': [queueId, 'QueueName'],
    });

    expect(found.map(({ properties }) => [properties.ComparisonOperator, properties.Threshold])).toEqual([
      ['GreaterThanThreshold', 0],
    ]);
  });

  it.each(
    FUNCTIONS.flatMap((functionId) => [
      [functionId, 'Errors'],
      [functionId, 'Throttles'],
    ]),
  )('%s has one %s alarm', (functionId, metricName) => {
    const found = alarmsOn('AWS/Lambda', metricName, { Ref: functionId });

    expect(found.map(({ properties }) => [properties.Statistic, properties.Threshold])).toEqual([['Sum', 0]]);
  });

  it('every alarm notifies the alarm topic when it fires', () => {
    expect(alarms().map(({ properties }) => properties.AlarmActions)).toEqual(
      alarms().map(() => [ALARM_TOPIC_REF]),
    );
  });

  it('every alarm notifies the alarm topic when it clears', () => {
    expect(alarms().map(({ properties }) => properties.OKActions)).toEqual(
      alarms().map(() => [ALARM_TOPIC_REF]),
    );
  });

  it('alarm topic accepts publishes from this account’s alarms only', () => {
    const document = property(template, 'AlarmTopicPolicy', 'PolicyDocument') as {
      Statement: Array<{
        Effect: string;
        Principal: unknown;
        Condition?: Record<string, Record<string, unknown>>;
      }>;
    };
    const allows = document.Statement.filter((statement) => statement.Effect === 'Allow');

    expect(
      allows.map((statement) => [
        statement.Principal,
        renderString(statement.Condition?.ArnLike?.['aws:SourceArn']),
        renderString(statement.Condition?.StringEquals?.['aws:SourceAccount']),
      ]),
    ).toEqual([
      [
        { Service: 'cloudwatch.amazonaws.com' },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder.
        'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder.
        '${AWS::AccountId}',
      ],
    ]);
  });

  it('e-mail subscription exists only under the HasAlarmEmail condition', () => {
    const emailSubscriptions = resourcesOfType(template, 'AWS::SNS::Subscription').filter(
      (logicalId) => property(template, logicalId, 'Protocol') === 'email',
    );

    expect(emailSubscriptions.map((logicalId) => template.Resources[logicalId]?.Condition)).toEqual([
      'HasAlarmEmail',
    ]);
  });

  it('alarm e-mail defaults to none on a stage without the param', () => {
    const parameters = (template as { Parameters?: Record<string, { Default?: unknown }> }).Parameters ?? {};

    expect(parameters.AlarmEmail?.Default).toBe('');
  });
});
