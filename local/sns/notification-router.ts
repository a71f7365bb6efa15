import { randomBytes, randomUUID } from 'node:crypto';
import type { SNSEvent } from 'aws-lambda';
import {
  buildS3EventRecord,
  buildS3TestEvent,
  type ObjectChange,
  type S3NotificationRecord,
} from '../s3/event-records';
import type { BucketNotification, ServiceModel, TopicModel } from '../template/service-model';

/** Hands an event to a function for asynchronous invocation. */
export type DeliverEvent = (functionName: string, event: unknown) => void;

/** True when an S3 event type pattern (`s3:ObjectCreated:*`, `s3:ObjectRemoved:Delete`) covers an event name. */
export function eventMatches(pattern: string, eventName: string): boolean {
  const bare = pattern.replace(/^s3:/, '');
  if (bare.endsWith(':*')) return eventName.startsWith(bare.slice(0, -1));
  return bare === eventName;
}

/** True when a key passes a notification's prefix and suffix rules (S3 compares the decoded key). */
export function keyMatches(notification: BucketNotification, key: string): boolean {
  return notification.filterRules.every((rule) =>
    rule.name === 'prefix' ? key.startsWith(rule.value) : key.endsWith(rule.value),
  );
}

/**
 * Wraps a message in the Lambda event SNS sends to one subscription. All subscriptions of one publish see the
 * same MessageId, as with SNS fan-out.
 */
export function buildSnsEvent(
  topic: TopicModel,
  subscriptionArn: string,
  message: string,
  messageId: string,
  timestamp: Date,
  region: string,
): SNSEvent {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: subscriptionArn,
        Sns: {
          Type: 'Notification',
          MessageId: messageId,
          TopicArn: topic.arn,
          Subject: 'Amazon S3 Notification',
          Message: message,
          Timestamp: timestamp.toISOString(),
          SignatureVersion: '1',
          // Not a valid signature: nothing on the local stack holds SNS's signing key.
          Signature: randomBytes(256).toString('base64'),
          SigningCertUrl: `https://sns.${region}.amazonaws.com/SimpleNotificationService-local.pem`,
          UnsubscribeUrl: `https://sns.${region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${subscriptionArn}`,
          MessageAttributes: {},
        },
      },
    ],
  };
}

/**
 * Turns object changes into S3 notifications, as the template's bucket NotificationConfiguration routes them:
 * through SNS topics to their Lambda subscriptions, or straight to a function.
 */
export class NotificationRouter {
  constructor(
    private readonly model: ServiceModel,
    private readonly deliver: DeliverEvent,
  ) {}

  private topic(arn: string): TopicModel {
    const topic = this.model.topics.find((candidate) => candidate.arn === arn);
    if (topic === undefined) throw new Error(`topic ${arn} is not part of the template`);
    return topic;
  }

  /** Publishes a message to a topic: one SNS event per subscribed function. Returns the message id. */
  publish(topicArn: string, message: string): string {
    const topic = this.topic(topicArn);
    const messageId = randomUUID();
    const timestamp = new Date();
    for (const subscription of topic.subscriptions) {
      const event = buildSnsEvent(
        topic,
        subscription.subscriptionArn,
        message,
        messageId,
        timestamp,
        this.model.pseudo.region,
      );
      this.deliver(subscription.functionName, event);
    }
    return messageId;
  }

  private send(notification: BucketNotification, message: object): void {
    const destination = notification.destination;
    if (destination.kind === 'topic') this.publish(destination.topicArn, JSON.stringify(message));
    else this.deliver(destination.functionName, message);
  }

  /** Sends one notification per matching configuration of the changed object's bucket. */
  onObjectChange(change: ObjectChange): void {
    const bucket = this.model.buckets.find((candidate) => candidate.name === change.bucket);
    if (bucket === undefined) return;
    for (const notification of bucket.notifications) {
      const eventMatched = notification.events.some((pattern) => eventMatches(pattern, change.eventName));
      if (!eventMatched || !keyMatches(notification, change.key)) continue;
      const record: S3NotificationRecord = buildS3EventRecord(change, {
        region: this.model.pseudo.region,
        partition: this.model.pseudo.partition,
        configurationId: notification.id,
      });
      this.send(notification, { Records: [record] });
    }
  }

  /** Sends S3's `s3:TestEvent` to every destination of a bucket, as S3 does when its configuration is saved. */
  sendTestEvents(bucketName: string): number {
    const bucket = this.model.buckets.find((candidate) => candidate.name === bucketName);
    if (bucket === undefined) return 0;
    const destinations = new Set<string>();
    for (const notification of bucket.notifications) {
      const destination = notification.destination;
      const id = destination.kind === 'topic' ? destination.topicArn : destination.functionName;
      if (destinations.has(id)) continue;
      destinations.add(id);
      this.send(notification, buildS3TestEvent(bucket.name));
    }
    return destinations.size;
  }
}
