import { InvalidImageError, type InvalidImageReason } from '../errors';

/**
 * Rekognition errors that reject the image itself, with the reason recorded when the converted JPEG is rejected too.
 * InvalidParameterException is among them because the only other parameters sent, MaxLabels and MinConfidence, are
 * checked before the call; Rekognition also uses it for images under 80 pixels on a side.
 */
const IMAGE_REJECTION_REASONS: Readonly<Record<string, InvalidImageReason>> = {
  InvalidImageFormatException: 'unsupported-format',
  ImageTooLargeException: 'too-large',
  InvalidParameterException: 'unsupported-format',
};

/** Returns the Rekognition error code of an SDK service exception, or undefined for anything else. */
function rekognitionErrorName(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const fault = (error as { $fault?: unknown }).$fault;
  return fault === 'client' || fault === 'server' ? error.name : undefined;
}

/** True when Rekognition rejected the image (its format, size or dimensions) rather than failing to process it. */
export function isImageRejection(error: unknown): boolean {
  const name = rekognitionErrorName(error);
  return name !== undefined && name in IMAGE_REJECTION_REASONS;
}

/**
 * Turns Rekognition's rejection of an image into a permanent `InvalidImageError`. Any other error (throttling,
 * service faults, timeouts, access denied, unreadable S3 object) is returned unchanged so that Lambda retries it.
 */
export function toLabelDetectionError(error: unknown, location: string): unknown {
  const name = rekognitionErrorName(error);
  const reason = name === undefined ? undefined : IMAGE_REJECTION_REASONS[name];
  if (reason === undefined) return error;

  const detail = error instanceof Error ? error.message : String(error);
  return new InvalidImageError(
    reason,
    `Rekognition rejected the image ${location} with ${name} (${detail}); ` +
      'upload a JPEG or PNG of 80 to 10,000 pixels per side.',
    { cause: error },
  );
}
