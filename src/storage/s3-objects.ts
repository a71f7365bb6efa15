import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * Object reads and writes the functions need. A read names the ETag from the event, so a function never processes
 * content other than the upload its event describes.
 */

/** The object no longer exists (`missing`) or contains a newer upload than the event's (`replaced`). */
export type ObjectGone = 'missing' | 'replaced';

export interface ObjectRef {
  bucket: string;
  key: string;
  /** ETag from the S3 event; when set, a different current ETag reads as `replaced`. */
  eTag?: string;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return metadata?.httpStatusCode;
}

function classifyReadError(error: unknown): ObjectGone | undefined {
  const name = error instanceof Error ? error.name : undefined;
  if (name === 'NoSuchKey' || statusOf(error) === 404) return 'missing';
  if (name === 'PreconditionFailed' || statusOf(error) === 412) return 'replaced';
  // NOTE: without s3:ListBucket, S3 returns 403 for a missing key, so that case stays an error that Lambda retries.
  return undefined;
}

function quoted(eTag: string): string {
  return eTag.startsWith('"') ? eTag : `"${eTag}"`;
}

async function getBytes(s3: S3Client, ref: ObjectRef, range?: string): Promise<Buffer | ObjectGone> {
  try {
    const response = await s3.send(
      new GetObjectCommand({
        Bucket: ref.bucket,
        Key: ref.key,
        IfMatch: ref.eTag === undefined ? undefined : quoted(ref.eTag),
        Range: range,
      }),
    );
    if (response.Body === undefined) return Buffer.alloc(0);
    // Wrapping the array's memory instead of copying it keeps one original, not two, in memory.
    const bytes = await response.Body.transformToByteArray();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (error) {
    const absence = classifyReadError(error);
    if (absence !== undefined) return absence;
    // A range that starts past the end of an empty object is S3's 416: the object exists and has no bytes.
    if (range !== undefined && statusOf(error) === 416) return Buffer.alloc(0);
    throw error;
  }
}

/** Reads a whole object into memory; callers check its size against their limit first. */
export function readObject(s3: S3Client, ref: ObjectRef): Promise<Buffer | ObjectGone> {
  return getBytes(s3, ref);
}

/** Reads at most `byteCount` bytes from the start of an object, enough to recognise its format. */
export function readObjectStart(
  s3: S3Client,
  ref: ObjectRef,
  byteCount: number,
): Promise<Buffer | ObjectGone> {
  return getBytes(s3, ref, `bytes=0-${byteCount - 1}`);
}

export async function writeObject(
  s3: S3Client,
  target: { bucket: string; key: string; body: Buffer; contentType: string },
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: target.key,
      Body: target.body,
      ContentType: target.contentType,
    }),
  );
}

/** Deletes an object; S3 reports success for a key that does not exist, so this is safe to repeat. */
export async function deleteObject(s3: S3Client, target: { bucket: string; key: string }): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key }));
}
