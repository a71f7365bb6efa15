/** An SQS error in the JSON protocol: its shape name, the awsQuery error code and the HTTP status. */
export class SqsError extends Error {
  override name = 'SqsError';

  constructor(
    readonly type: string,
    readonly queryCode: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export function nonExistentQueue(queue: string): SqsError {
  return new SqsError(
    'QueueDoesNotExist',
    'AWS.SimpleQueueService.NonExistentQueue',
    `The specified queue does not exist: ${queue}`,
  );
}

export function invalidParameter(message: string): SqsError {
  return new SqsError('InvalidParameterValue', 'InvalidParameterValue', message);
}
