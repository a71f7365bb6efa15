/** A required setting is missing or invalid; thrown at cold start so the function never runs half-configured. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Why an image cannot be turned into a thumbnail or labels. Each is permanent: retrying gives the same result. */
export type InvalidImageReason = 'empty' | 'unsupported-format' | 'corrupt' | 'too-many-pixels' | 'too-large';

/**
 * The bytes are not an image this pipeline can read. The handler records it as a failure on the image's item and
 * returns normally, so Lambda does not retry an input that can never succeed.
 */
export class InvalidImageError extends Error {
  override name = 'InvalidImageError';

  constructor(
    readonly reason: InvalidImageReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The Lambda event is not an SNS-wrapped S3 notification. Thrown so that Lambda's retries and on-failure destination
 * keep the message for inspection instead of dropping it.
 */
export class MalformedEventError extends Error {
  override name = 'MalformedEventError';
}
