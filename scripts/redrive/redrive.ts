import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type FailedMessage, readFailedMessage } from './failed-messages';

export interface RedriveOptions {
  sqs: SQSClient;
  lambda: LambdaClient;
  /** Queues to read, in order: normally the failed-invocations queue, then the undelivered-events queue. */
  queueNames: string[];
  /**
   * Functions that receive a dead-lettered SNS notification again: the topic's subscribers, by name. An invocation
   * record that names any other function is skipped, so a message in the queue cannot direct the re-drive at an
   * arbitrary function of the account.
   */
  notificationFunctions: string[];
  /** Location of the queues for error messages, such as "AWS region eu-west-1" or "the local stack". */
  location: string;
  /** Lists what would be re-driven, changes nothing (default false). */
  dryRun?: boolean;
  /** Maximum number of messages to handle over all queues (default 100). */
  limit?: number;
  /** How long a message stays hidden from other readers while it is re-delivered (default 60 s). */
  visibilityTimeoutSeconds?: number;
  log?: (line: string) => void;
}

/** Outcome of one queue message. */
export interface RedriveResult {
  queueName: string;
  messageId: string;
  kind: FailedMessage['kind'];
  /** Functions the event went to, or would go to in a dry run. */
  targets: string[];
  objectKeys: string[];
  /**
   * `redriven`: invoked and deleted. `would-redrive`: dry run. `skipped`: unrecognized, or a record of a function
   * outside `notificationFunctions`, and left in the queue.
   * `failed`: an invocation failed, so the message stays and becomes visible again after the visibility timeout.
   */
  status: 'redriven' | 'would-redrive' | 'skipped' | 'failed';
  detail?: string;
}

/** Error for a missing or unreadable queue. Its message names the queue and what to do. */
export class RedriveError extends Error {
  override name = 'RedriveError';
}

const DEFAULT_LIMIT = 100;
const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 60;
const MAX_MESSAGES_PER_RECEIVE = 10;

async function queueUrlOf(sqs: SQSClient, queueName: string, location: string): Promise<string> {
  try {
    const response = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
    if (response.QueueUrl === undefined) throw new Error('GetQueueUrl returned no URL');
    return response.QueueUrl;
  } catch (error) {
    if ((error as Error).name === 'QueueDoesNotExist') {
      throw new RedriveError(
        `queue ${queueName} does not exist in ${location}: check --stage and --region, or deploy the stage first`,
        { cause: error },
      );
    }
    throw new RedriveError(`cannot read queue ${queueName} in ${location}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function visibleCount(sqs: SQSClient, queueUrl: string): Promise<number> {
  const response = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(response.Attributes?.ApproximateNumberOfMessages ?? 0);
}

function targetsOf(failed: FailedMessage, notificationFunctions: string[]): string[] {
  if (failed.kind === 'invocation-record') return [failed.functionArn];
  if (failed.kind === 'sns-notification') return notificationFunctions;
  return [];
}

/** Queues an event for a function, as SNS and S3 do (`InvocationType: Event`). Lambda returns status 202. */
async function invokeAsync(lambda: LambdaClient, functionName: string, event: unknown): Promise<void> {
  const response = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'Event',
      Payload: Buffer.from(JSON.stringify(event)),
    }),
  );
  if (response.StatusCode !== 202) {
    throw new Error(`Lambda returned status ${response.StatusCode} instead of 202 for ${functionName}`);
  }
}

async function handleMessage(
  options: RedriveOptions,
  queueName: string,
  queueUrl: string,
  message: Message,
): Promise<RedriveResult> {
  const failed = readFailedMessage(message.Body ?? '');
  const targets = targetsOf(failed, options.notificationFunctions);
  const result: RedriveResult = {
    queueName,
    messageId: message.MessageId ?? '',
    kind: failed.kind,
    targets,
    objectKeys: failed.kind === 'unrecognized' ? [] : failed.objectKeys,
    status: 'would-redrive',
  };

  if (failed.kind === 'unrecognized') {
    return { ...result, status: 'skipped', detail: failed.reason };
  }
  if (failed.kind === 'invocation-record') {
    const functionName = failed.functionArn.split(':').pop() ?? '';
    if (!options.notificationFunctions.includes(functionName)) {
      return {
        ...result,
        status: 'skipped',
        detail: `the record names function ${functionName}, which is not one of ${options.notificationFunctions.join(', ')}. Check --stage, or move the message by hand`,
      };
    }
    result.detail = `${failed.condition}${failed.error === undefined ? '' : `, last error ${failed.error}`}`;
  }
  if (options.dryRun) return result;

  // NOTE: an Invoke call slower than the visibility timeout lets a second run receive this message too, so the
  // event can arrive twice. The functions are idempotent per key and sequencer, so the result is the same.
  try {
    for (const target of targets) await invokeAsync(options.lambda, target, failed.event);
  } catch (error) {
    return { ...result, status: 'failed', detail: (error as Error).message };
  }
  // Deleted only after every target accepted the event, so a failed re-delivery keeps the message.
  await options.sqs.send(
    new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
  );
  return { ...result, status: 'redriven' };
}

/**
 * Reads the failure queues and re-delivers each message into the pipeline: a Lambda invocation record's original
 * event goes to the function that failed, and a dead-lettered SNS notification goes to every function in
 * `notificationFunctions`, each as an asynchronous invocation. A message is deleted only after its re-delivery was
 * accepted. Handles at most the messages visible when a queue is first read, so an event that fails again and
 * returns to the queue waits for the next run. In a dry run every message is made visible again at once.
 */
export async function redrive(options: RedriveOptions): Promise<RedriveResult[]> {
  const limit = options.limit ?? DEFAULT_LIMIT;
  const visibilityTimeout = options.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_TIMEOUT_SECONDS;
  const results: RedriveResult[] = [];

  for (const queueName of options.queueNames) {
    const queueUrl = await queueUrlOf(options.sqs, queueName, options.location);
    let remaining = Math.min(limit - results.length, await visibleCount(options.sqs, queueUrl));
    options.log?.(`${queueName}: ${remaining} message(s) to handle`);

    const received: Message[] = [];
    while (remaining > 0) {
      const response = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(MAX_MESSAGES_PER_RECEIVE, remaining),
          VisibilityTimeout: visibilityTimeout,
          // A short wait, because SQS's short polling may return nothing from a queue that contains few messages.
          WaitTimeSeconds: 1,
        }),
      );
      const messages = response.Messages ?? [];
      if (messages.length === 0) break;
      remaining -= messages.length;
      for (const message of messages) {
        received.push(message);
        results.push(await handleMessage(options, queueName, queueUrl, message));
      }
    }

    if (options.dryRun) {
      for (const message of received) {
        await options.sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
    }
  }
  return results;
}
