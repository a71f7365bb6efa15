import type { SNSEvent } from 'aws-lambda';

/**
 * A message of a failure queue, read into what re-delivers it: the event to invoke a function with, and which
 * functions. Lambda's on-failure destination and SNS's dead-letter queue write different shapes.
 */
export type FailedMessage =
  | {
      /** Lambda's invocation record: the original event is its `requestPayload`. */
      kind: 'invocation-record';
      /** Unqualified ARN of the function that failed. */
      functionArn: string;
      condition: string;
      /** The function's last error, `Type: message`. */
      error: string | undefined;
      event: unknown;
      objectKeys: string[];
    }
  | {
      /** The SNS notification that SNS could not hand to a subscribed function. */
      kind: 'sns-notification';
      topicArn: string;
      messageId: string;
      /** The Lambda event SNS would have delivered, rebuilt from the notification. */
      event: SNSEvent;
      objectKeys: string[];
    }
  | { kind: 'unrecognized'; reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Decodes a key as S3 writes it into notifications: `+` for spaces, then percent-encoding. */
function decodeS3Key(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

/** Object keys of the S3 records inside an SNS message body, for display. */
function keysOfS3Message(message: unknown): string[] {
  if (typeof message !== 'string') return [];
  try {
    const body = JSON.parse(message) as { Records?: Array<{ s3?: { object?: { key?: string } } }> };
    return (body.Records ?? []).flatMap((record) => {
      const key = record.s3?.object?.key;
      return typeof key === 'string' ? [decodeS3Key(key)] : [];
    });
  } catch {
    return [];
  }
}

function keysOfSnsEvent(event: unknown): string[] {
  if (!isRecord(event) || !Array.isArray(event.Records)) return [];
  return event.Records.flatMap((record: unknown) =>
    isRecord(record) && isRecord(record.Sns) ? keysOfS3Message(record.Sns.Message) : [],
  );
}

function readInvocationRecord(body: Record<string, unknown>): FailedMessage {
  const context = body.requestContext as Record<string, unknown>;
  const functionArn = String(context.functionArn ?? '');
  if (!/^arn:[^:]+:lambda:[^:]+:\d+:function:[^:]+/.test(functionArn)) {
    return {
      kind: 'unrecognized',
      reason: `invocation record names no function ARN: ${JSON.stringify(functionArn)}`,
    };
  }
  const response = isRecord(body.responsePayload) ? body.responsePayload : {};
  const error =
    typeof response.errorType === 'string' || typeof response.errorMessage === 'string'
      ? `${String(response.errorType ?? 'Error')}: ${String(response.errorMessage ?? '')}`
      : undefined;
  return {
    kind: 'invocation-record',
    // The record names the version that ran (`:$LATEST`); the re-delivery goes to the function as it is now.
    functionArn: functionArn.split(':').slice(0, 7).join(':'),
    condition: String(context.condition ?? 'unknown'),
    error,
    event: body.requestPayload,
    objectKeys: keysOfSnsEvent(body.requestPayload),
  };
}

function readSnsNotification(body: Record<string, unknown>): FailedMessage {
  const topicArn = String(body.TopicArn);
  const messageId = String(body.MessageId);
  const event: SNSEvent = {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        // NOTE: a dead-lettered notification does not say which subscription failed, so this names none.
        EventSubscriptionArn: `${topicArn}:redrive`,
        Sns: {
          Type: String(body.Type),
          MessageId: messageId,
          TopicArn: topicArn,
          Subject: typeof body.Subject === 'string' ? body.Subject : '',
          Message: String(body.Message),
          Timestamp: String(body.Timestamp ?? new Date().toISOString()),
          SignatureVersion: String(body.SignatureVersion ?? '1'),
          Signature: String(body.Signature ?? ''),
          // The SQS copy spells these URL; the Lambda event spells them Url.
          SigningCertUrl: String(body.SigningCertURL ?? body.SigningCertUrl ?? ''),
          UnsubscribeUrl: String(body.UnsubscribeURL ?? body.UnsubscribeUrl ?? ''),
          MessageAttributes: (isRecord(body.MessageAttributes)
            ? body.MessageAttributes
            : {}) as SNSEvent['Records'][number]['Sns']['MessageAttributes'],
        },
      },
    ],
  };
  return { kind: 'sns-notification', topicArn, messageId, event, objectKeys: keysOfS3Message(body.Message) };
}

/** Reads the body of a message from the failed-invocations queue or the undelivered-events queue. */
export function readFailedMessage(body: string): FailedMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { kind: 'unrecognized', reason: 'the body is not JSON' };
  }
  if (!isRecord(parsed)) return { kind: 'unrecognized', reason: 'the body is not a JSON object' };
  if (isRecord(parsed.requestContext) && 'requestPayload' in parsed) return readInvocationRecord(parsed);
  if (
    parsed.Type === 'Notification' &&
    typeof parsed.TopicArn === 'string' &&
    typeof parsed.Message === 'string'
  ) {
    return readSnsNotification(parsed);
  }
  return {
    kind: 'unrecognized',
    reason: 'the body is neither a Lambda invocation record nor an SNS notification',
  };
}
