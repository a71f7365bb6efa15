import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { StackDescription } from '../stack-file';

/** API Gateway's payload limit; larger files cannot go through the API (docs/api.md). */
export const API_PAYLOAD_LIMIT_BYTES = 10 * 1024 * 1024;

export interface UploadTarget {
  stack: StackDescription;
  s3: S3Client;
}

/** Route by which an image reached the raw bucket: the codeless API, or S3 directly. */
export type UploadRoute = 'api' | 's3';

async function putThroughApi(
  api: NonNullable<StackDescription['api']>,
  key: string,
  body: Buffer,
  contentType: string,
): Promise<void> {
  // `/` inside a key is sent as %2F, so the whole key stays one path parameter.
  const url = `${api.url}/images/${encodeURIComponent(key)}`;
  const response = await fetch(url, {
    method: 'PUT',
    headers: { 'Content-Type': contentType, 'x-api-key': api.apiKey },
    body,
  });
  if (response.status !== 201) {
    const text = await response.text();
    throw new Error(
      `upload of "${key}" through the API failed: HTTP ${response.status} ${text.slice(0, 300)}`,
    );
  }
}

/**
 * Uploads one image as a client would: through the stack's API when it serves one, so the upload route's mapping
 * templates run too. Files above API Gateway's 10 MB limit, and stacks without an API, go straight to the bucket.
 */
export async function uploadImage(
  target: UploadTarget,
  key: string,
  body: Buffer,
  contentType: string,
): Promise<UploadRoute> {
  const { api } = target.stack;
  if (api !== null && api !== undefined && body.length <= API_PAYLOAD_LIMIT_BYTES) {
    await putThroughApi(api, key, body, contentType);
    return 'api';
  }
  await target.s3.send(
    new PutObjectCommand({ Bucket: target.stack.rawBucket, Key: key, Body: body, ContentType: contentType }),
  );
  return 's3';
}
