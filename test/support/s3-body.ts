/** Wraps bytes as the part of the AWS SDK's streaming GetObject body that the pipeline reads. */
export function s3Body(bytes: Buffer) {
  return { transformToByteArray: async () => new Uint8Array(bytes) } as never;
}
