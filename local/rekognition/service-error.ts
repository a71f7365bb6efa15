/** Rekognition error codes the local endpoint returns, each with the HTTP status Rekognition uses for it. */
const ERROR_STATUS = {
  InvalidParameterException: 400,
  InvalidImageFormatException: 400,
  ImageTooLargeException: 400,
  InvalidS3ObjectException: 400,
  SerializationException: 400,
  UnknownOperationException: 400,
  InternalServerError: 500,
} as const;

export type RekognitionErrorCode = keyof typeof ERROR_STATUS;

/**
 * An error sent back in Rekognition's JSON protocol: HTTP status plus `{"__type": code, "Message": text}`, which the
 * AWS SDK turns into its exception class of the same name.
 */
export class RekognitionServiceError extends Error {
  override name = 'RekognitionServiceError';
  readonly statusCode: number;

  constructor(
    readonly code: RekognitionErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.statusCode = ERROR_STATUS[code];
  }

  toBody(): { __type: string; Message: string } {
    return { __type: this.code, Message: this.message };
  }
}
