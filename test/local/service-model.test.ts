import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CloudFormationTemplate } from '../../local/template/intrinsics';
import { TemplateError } from '../../local/template/intrinsics';
import { functionKeyFromLogicalId, readServiceModel } from '../../local/template/service-model';

const TEMPLATE_PATH = path.join(__dirname, 'fixtures', 'small-template.json');
const pseudo = { region: 'eu-west-1', accountId: '000000000000', partition: 'aws', stackName: 'svc-test' };

function loadTemplate(): CloudFormationTemplate {
  return JSON.parse(readFileSync(TEMPLATE_PATH, 'utf8')) as CloudFormationTemplate;
}

function read(template: CloudFormationTemplate = loadTemplate()) {
  return readServiceModel(template, { pseudo, packageDir: '/package' });
}

describe('readServiceModel', () => {
  describe('buckets', () => {
    it('resolves Fn::Sub with pseudo parameters in the name', () => {
      expect(read().buckets.map((bucket) => bucket.name)).toContain('uploads-000000000000-eu-west-1');
    });

    it('derives a lowercase name when the template gives none', () => {
      expect(read().buckets.map((bucket) => bucket.name)).toContain('svc-test-resultsbucket');
    });

    it('reads both topic notifications', () => {
      const uploads = read().buckets.find((bucket) => bucket.logicalId === 'UploadsBucket');
      expect(uploads?.notifications.map((notification) => notification.events)).toEqual([
        ['s3:ObjectCreated:*'],
        ['s3:ObjectRemoved:*'],
      ]);
    });

    it('resolves the notification topic to its ARN', () => {
      const uploads = read().buckets.find((bucket) => bucket.logicalId === 'UploadsBucket');
      expect(uploads?.notifications[0]?.destination).toEqual({
        kind: 'topic',
        topicArn: 'arn:aws:sns:eu-west-1:000000000000:events',
      });
    });

    it('reads prefix filter rules', () => {
      const uploads = read().buckets.find((bucket) => bucket.logicalId === 'UploadsBucket');
      expect(uploads?.notifications[1]?.filterRules).toEqual([{ name: 'prefix', value: 'photos/' }]);
    });
  });

  describe('topics', () => {
    it('subscribes the function named by the endpoint ARN', () => {
      const topic = read().topics[0];
      expect(topic?.subscriptions.map((subscription) => subscription.functionName)).toEqual([
        'svc-test-echo',
      ]);
    });

    it('gives the subscription an ARN under the topic', () => {
      const arn = read().topics[0]?.subscriptions[0]?.subscriptionArn ?? '';
      expect(arn).toMatch(/^arn:aws:sns:eu-west-1:000000000000:events:[0-9a-f-]{36}$/);
    });

    it('warns about a subscription it cannot deliver', () => {
      expect(read().warnings.some((warning) => warning.startsWith('MailSubscription'))).toBe(true);
    });
  });

  describe('functions', () => {
    it('reads handler, runtime, memory and timeout', () => {
      const echo = read().functions.find((fn) => fn.logicalId === 'EchoLambdaFunction');
      expect([echo?.handler, echo?.runtime, echo?.memorySize, echo?.timeoutSeconds]).toEqual([
        'src/recorder.echo',
        'nodejs22.x',
        256,
        5,
      ]);
    });

    it('resolves Ref, Fn::GetAtt and Fn::Join in the environment', () => {
      const echo = read().functions.find((fn) => fn.logicalId === 'EchoLambdaFunction');
      expect(echo?.environment).toEqual({
        RESULTS_BUCKET: 'svc-test-resultsbucket',
        TABLE_ARN: 'arn:aws:dynamodb:eu-west-1:000000000000:table/items',
        JOINED: 'a-aws-b',
        LITERAL: 'plain',
      });
    });

    it('builds the function ARN', () => {
      const echo = read().functions.find((fn) => fn.logicalId === 'EchoLambdaFunction');
      expect(echo?.arn).toBe('arn:aws:lambda:eu-west-1:000000000000:function:svc-test-echo');
    });

    it('finds the zip by the base name of its S3 key', () => {
      const echo = read().functions.find((fn) => fn.logicalId === 'EchoLambdaFunction');
      expect(echo?.codeZip).toBe(path.join('/package', 'echo.zip'));
    });

    it("applies Lambda's defaults of 128 MB and 3 s", () => {
      const defaults = read().functions.find((fn) => fn.logicalId === 'DefaultsLambdaFunction');
      expect([defaults?.memorySize, defaults?.timeoutSeconds]).toEqual([128, 3]);
    });

    it('takes MaximumRetryAttempts from the event invoke config', () => {
      const echo = read().functions.find((fn) => fn.logicalId === 'EchoLambdaFunction');
      expect(echo?.maximumRetryAttempts).toBe(1);
    });

    it("keeps Lambda's default of 2 retries without a config", () => {
      const defaults = read().functions.find((fn) => fn.logicalId === 'DefaultsLambdaFunction');
      expect(defaults?.maximumRetryAttempts).toBe(2);
    });
  });

  describe('tables', () => {
    it('copies key schema, attributes and billing mode', () => {
      expect(read().tables[0]?.definition).toEqual({
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'Id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'Id', KeyType: 'HASH' }],
      });
    });
  });

  describe('errors', () => {
    it('names the resource of an unresolvable Fn::ImportValue', () => {
      const template = loadTemplate();
      const echo = template.Resources.EchoLambdaFunction?.Properties as {
        Environment: { Variables: object };
      };
      echo.Environment.Variables = { SHARED: { 'Fn::ImportValue': 'other-stack-output' } };
      expect(() => read(template)).toThrow(/EchoLambdaFunction\.Properties\.Environment\.Variables\.SHARED/);
    });

    it('rejects a Ref to a missing resource', () => {
      const template = loadTemplate();
      const subscription = template.Resources.EchoSubscription?.Properties as { TopicArn: object };
      subscription.TopicArn = { Ref: 'MissingTopic' };
      expect(() => read(template)).toThrow(TemplateError);
    });

    it('names the missing resource', () => {
      const template = loadTemplate();
      const subscription = template.Resources.EchoSubscription?.Properties as { TopicArn: object };
      subscription.TopicArn = { Ref: 'MissingTopic' };
      expect(() => read(template)).toThrow(/"MissingTopic"/);
    });

    it('rejects an attribute it cannot resolve', () => {
      const template = loadTemplate();
      const echo = template.Resources.EchoLambdaFunction?.Properties as {
        Environment: { Variables: object };
      };
      echo.Environment.Variables = { URL: { 'Fn::GetAtt': ['UploadsBucket', 'WebsiteURL'] } };
      expect(() => read(template)).toThrow(/UploadsBucket\.WebsiteURL/);
    });
  });
});

describe('functionKeyFromLogicalId', () => {
  // Logical ids as osls 4.3.1 names them: upper-case first letter, "-" as "Dash", "_" as "Underscore".
  it.each([
    ['CreateThumbnailLambdaFunction', 'svc-dev-createThumbnail', 'createThumbnail'],
    ['ResizeDashimageLambdaFunction', 'svc-dev-resize-image', 'resize-image'],
    ['ResizeUnderscoreimageLambdaFunction', 'svc-dev-resize_image', 'resize_image'],
    ['MyDashboardLambdaFunction', 'svc-dev-myDashboard', 'myDashboard'],
  ])('maps %s named %s to %s', (logicalId, functionName, key) => {
    expect(functionKeyFromLogicalId(logicalId, functionName)).toBe(key);
  });
});
