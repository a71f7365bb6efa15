import type { SNSEvent } from 'aws-lambda';

/**
 * Builds an SNS-wrapped S3 notification as Lambda receives it (shapes from the AWS docs: "Event message structure"
 * for S3 and "Using Lambda with Amazon SNS" for the envelope). Keys are passed already encoded, as S3 sends them.
 */
export interface S3RecordSpec {
  eventName?: string;
  bucket?: string;
  encodedKey: string;
  size?: number;
  eTag?: string;
  sequencer?: string;
  region?: string;
}

export function s3Record(spec: S3RecordSpec): Record<string, unknown> {
  const bucket = spec.bucket ?? 'raw-bucket';
  const object: Record<string, unknown> = {
    key: spec.encodedKey,
    sequencer: spec.sequencer ?? '0055AED6DCD90281E5',
  };
  if (!(spec.eventName ?? 'ObjectCreated:Put').startsWith('ObjectRemoved')) {
    object.size = spec.size ?? 1024;
    object.eTag = spec.eTag ?? 'd41d8cd98f00b204e9800998ecf8427e';
  }
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: spec.region ?? 'us-east-1',
    eventTime: '2026-12-04T12:00:00.000Z',
    eventName: spec.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: {
      'x-amz-request-id': 'C3D13FE58DE4C810',
      'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'raw-bucket-events',
      bucket: {
        name: bucket,
        ownerIdentity: { principalId: 'A3NL1KOZZKExample' },
        arn: `arn:aws:s3:::${bucket}`,
      },
      object,
    },
  };
}

export function snsEvent(messages: Array<{ messageId?: string; body: unknown }>): SNSEvent {
  return {
    Records: messages.map((message, index) => ({
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn:
        'arn:aws:sns:us-east-1:123456789012:image-events:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55',
      Sns: {
        Type: 'Notification',
        MessageId: message.messageId ?? `95df01b4-ee98-5cb9-9903-4c221d41eb5${index}`,
        TopicArn: 'arn:aws:sns:us-east-1:123456789012:image-events',
        Subject: 'Amazon S3 Notification',
        Message: typeof message.body === 'string' ? message.body : JSON.stringify(message.body),
        Timestamp: '2026-12-04T12:00:01.000Z',
        SignatureVersion: '1',
        Signature: 'EXAMPLE',
        SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem',
        UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
        MessageAttributes: {},
      },
    })),
  };
}

/** One SNS message carrying the given S3 records. */
export function notificationOf(...records: Array<Record<string, unknown>>): SNSEvent {
  return snsEvent([{ body: { Records: records } }]);
}

/** S3's test message, sent once when a notification configuration is saved (AWS docs, same page). */
export const S3_TEST_EVENT = {
  Service: 'Amazon S3',
  Event: 's3:TestEvent',
  Time: '2026-12-04T11:59:00.000Z',
  Bucket: 'raw-bucket',
  RequestId: '5582815E1AEA5ADF',
  HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
};
