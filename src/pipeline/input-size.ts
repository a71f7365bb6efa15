import { InvalidImageError } from '../errors';
import type { S3ObjectEvent } from '../events/s3-notification';

/**
 * Returns the failure for an original larger than `maxInputBytes`, judged from the size in its event so that neither
 * function reads it into memory. Returns undefined when it fits or the event gives no size.
 */
export function oversizeError(event: S3ObjectEvent, maxInputBytes: number): InvalidImageError | undefined {
  if (event.size === undefined || event.size <= maxInputBytes) return undefined;
  return new InvalidImageError(
    'too-large',
    `Image too large: the object is ${event.size} bytes, above the limit of ${maxInputBytes} bytes ` +
      '(MAX_INPUT_BYTES). Upload a smaller image.',
  );
}
