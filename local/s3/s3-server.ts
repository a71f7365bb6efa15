import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type IncomingMessage } from 'node:http';
import S3rver from 's3rver';
import { closeServer, listenOnLoopback } from '../ports';
import { AwsChunkedDecoder, isAwsChunked, withoutAwsChunked } from './aws-chunked';
import { type ObjectChange, type S3EventName, SequencerClock } from './event-records';
import { installKeyPathEncoding, routableObjectPath } from './key-paths';

/** Credentials the local S3 accepts; requests are signed and checked like on AWS. */
export const LOCAL_ACCESS_KEY_ID = 'test';
export const LOCAL_SECRET_ACCESS_KEY = 'test';

export interface S3ServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Command-line flag that sets the port, named when the port is taken. */
  portOption?: string;
  /** Folder s3rver stores buckets and objects in. */
  directory: string;
  buckets: string[];
  /** Requests wait for this promise, so nothing is stored before the notifications have somewhere to go. */
  beforeRequest?: Promise<void>;
  /** Called after a request that changed an object has succeeded, once per changed object. */
  onObjectChange: (change: ObjectChange) => void;
}

export interface LocalS3Server {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

interface RequestScope {
  method: string;
  sourceIp: string;
  /** The request's If-Match header on GET and HEAD, which s3rver 3.7.1 ignores. */
  ifMatch?: string;
  changes: ObjectChange[];
  /** Set inside a store call, so a store method that calls another (multipart completion) is recorded once. */
  nested: boolean;
}

type KoaContext = {
  method: string;
  ip: string;
  /** The request path; Koa re-parses the URL when it is set, keeping the query string. */
  path: string;
  status: number;
  /** Response content type and body, set when a middleware responds to the request itself. */
  type: string;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  req: IncomingMessage;
};
type KoaMiddleware = (context: KoaContext, next: () => Promise<void>) => Promise<void>;

interface StoredObject {
  metadata: Record<string, string>;
  content: { destroy(): void } | null;
}

interface FilesystemStore {
  getObject(bucket: string, key: string, options?: unknown): Promise<StoredObject | null>;
  putObject(object: {
    bucket: string;
    key: string;
    metadata: Record<string, string>;
  }): Promise<{ md5: string; size: number }>;
  copyObject(
    sourceBucket: string,
    sourceKey: string,
    bucket: string,
    key: string,
    metadata: unknown,
  ): Promise<Record<string, unknown>>;
  putObjectMultipart(
    bucket: string,
    uploadId: string,
    parts: unknown,
  ): Promise<{ md5: string; size: number }>;
  deleteObject(bucket: string, key: string): Promise<void>;
}

// s3rver's own accounts registry: the dummy account gets the local key pair, so SigV4 signatures are verified.
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account') as {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
};
DUMMY_ACCOUNT.createKeyPair(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY);

function stripQuotes(eTag: unknown): string | undefined {
  return typeof eTag === 'string' ? eTag.replace(/"/g, '') : undefined;
}

/**
 * Wraps the store's write methods so each request records the objects it changed, with S3's event name and a
 * sequencer taken when the change happened. s3rver's own `event` emitter is not used: its records carry unencoded
 * keys and a malformed bucket ARN, and multi-object delete emits nothing.
 */
function recordStoreChanges(store: FilesystemStore, scopes: AsyncLocalStorage<RequestScope>): void {
  const sequencers = new SequencerClock();
  const record = <T>(
    call: () => Promise<T>,
    describe: (result: T, scope: RequestScope) => Omit<ObjectChange, 'sequencer' | 'time' | 'sourceIp'>,
  ) => {
    const scope = scopes.getStore();
    if (scope === undefined || scope.nested) return call();
    return scopes.run({ ...scope, nested: true }, call).then((result) => {
      scope.changes.push({
        ...describe(result, scope),
        sequencer: sequencers.next(),
        time: new Date(),
        sourceIp: scope.sourceIp,
      });
      return result;
    });
  };

  const putObject = store.putObject.bind(store);
  store.putObject = (object) => {
    const encoding = object.metadata['content-encoding'];
    if (encoding !== undefined) {
      const remainingEncoding = withoutAwsChunked(encoding);
      if (remainingEncoding === undefined) delete object.metadata['content-encoding'];
      else object.metadata['content-encoding'] = remainingEncoding;
    }
    return record(
      () => putObject(object),
      (result, scope) => ({
        eventName: scope.method === 'POST' ? 'ObjectCreated:Post' : 'ObjectCreated:Put',
        bucket: object.bucket,
        key: object.key,
        size: result.size,
        eTag: result.md5,
      }),
    );
  };

  const copyObject = store.copyObject.bind(store);
  store.copyObject = (sourceBucket, sourceKey, bucket, key, metadata) =>
    record(
      () => copyObject(sourceBucket, sourceKey, bucket, key, metadata),
      (result) => ({
        eventName: 'ObjectCreated:Copy',
        bucket,
        key,
        size: Number(result['content-length']),
        eTag: stripQuotes(result.etag),
      }),
    );

  const putObjectMultipart = store.putObjectMultipart.bind(store);
  store.putObjectMultipart = (bucket, uploadId, parts) => {
    // The store reads the key from the upload's folder, so the nested putObject call records the change and this
    // wrapper renames its event.
    const scope = scopes.getStore();
    if (scope === undefined || scope.nested) return putObjectMultipart(bucket, uploadId, parts);
    const inner: RequestScope = { ...scope, changes: [] };
    return scopes
      .run(inner, () => putObjectMultipart(bucket, uploadId, parts))
      .then((result) => {
        for (const change of inner.changes) {
          scope.changes.push({ ...change, eventName: 'ObjectCreated:CompleteMultipartUpload' });
        }
        return result;
      });
  };

  const deleteObject = store.deleteObject.bind(store);
  const deleteTolerantly = async (bucket: string, key: string) => {
    try {
      await deleteObject(bucket, key);
    } catch (error) {
      // s3rver removes emptied parent folders after unlinking the object; two deletes in one folder (a
      // multi-object delete) race on that cleanup. The object itself is gone by then.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  };
  store.deleteObject = (bucket, key) =>
    record(
      () => deleteTolerantly(bucket, key),
      () => ({ eventName: 'ObjectRemoved:Delete' as S3EventName, bucket, key }),
    );
}

const S3Error = require('s3rver/lib/models/error') as new (
  code: string,
  message: string,
  detail?: Record<string, string>,
) => Error;

function isRangeOfEmptyObject(object: StoredObject, options: unknown): boolean {
  const hasRange = typeof options === 'object' && options !== null && 'start' in options;
  return hasRange && Number(object.metadata['content-length']) === 0;
}

function eTagMatches(condition: string, eTag: string | undefined): boolean {
  if (condition.trim() === '*') return true;
  const current = (eTag ?? '').replace(/"/g, '');
  return condition.split(',').some((candidate) => candidate.trim().replace(/"/g, '') === current);
}

/**
 * Rejects a GET or HEAD whose If-Match names another ETag with 412 PreconditionFailed, as S3 does. The functions
 * read originals with the event's ETag, so this is how they notice that an upload was replaced.
 */
function enforceIfMatch(store: FilesystemStore, scopes: AsyncLocalStorage<RequestScope>): void {
  const getObject = store.getObject.bind(store);
  store.getObject = async (bucket, key, options) => {
    const object = await getObject(bucket, key, options);
    if (object !== null && isRangeOfEmptyObject(object, options)) {
      // s3rver 3.7.1 returns a range of an empty object with Content-Length 1 and no body, so the client's read
      // aborts. S3 returns 416 InvalidRange, which s3rver's controller sends for an object without content.
      object.content?.destroy();
      object.content = null;
      return object;
    }
    const condition = scopes.getStore()?.ifMatch;
    if (object === null || condition === undefined || eTagMatches(condition, object.metadata.etag))
      return object;
    object.content?.destroy();
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      Condition: 'If-Match',
    });
  };
}

/** S3's limit on the UTF-8 length of an object key. */
export const MAX_KEY_BYTES = 1024;

/**
 * Returns S3's XML error for a path-style write whose key is longer than 1024 bytes, or undefined. S3 rejects such
 * a write with KeyTooLongError (400), but s3rver would store it.
 */
function keyTooLongError(method: string, requestPath: string): string | undefined {
  if (method !== 'PUT' && method !== 'POST') return undefined;
  const match = /^\/[^/]+\/(.+)$/s.exec(requestPath);
  if (match?.[1] === undefined) return undefined;
  let key: string;
  try {
    key = decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
  const size = Buffer.byteLength(key, 'utf8');
  if (size <= MAX_KEY_BYTES) return undefined;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Error><Code>KeyTooLongError</Code><Message>Your key is too long</Message>',
    `<Size>${size}</Size><MaxSizeAllowed>${MAX_KEY_BYTES}</MaxSizeAllowed></Error>`,
  ].join('');
}

/**
 * Starts s3rver on 127.0.0.1 with the given buckets (created when missing, kept with their objects when present)
 * and reports every successful object change through `onObjectChange`.
 */
export async function startS3Server(options: S3ServerOptions): Promise<LocalS3Server> {
  installKeyPathEncoding();
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    directory: options.directory,
    silent: true,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  const scopes = new AsyncLocalStorage<RequestScope>();
  const app = s3rver as unknown as { middleware: KoaMiddleware[]; context: { store: FilesystemStore } };
  recordStoreChanges(app.context.store, scopes);
  enforceIfMatch(app.context.store, scopes);

  const hook: KoaMiddleware = async (context, next) => {
    const scope: RequestScope = { method: context.method, sourceIp: context.ip, changes: [], nested: false };
    const ifMatch = context.headers['if-match'];
    if ((context.method === 'GET' || context.method === 'HEAD') && typeof ifMatch === 'string') {
      scope.ifMatch = ifMatch;
    }
    await scopes.run(scope, next);
    if (context.status >= 300) return;
    for (const change of scope.changes) options.onObjectChange(change);
  };
  // Runs innermost, just around s3rver's router: after routing and authentication, before the XML rendering.
  app.middleware.splice(app.middleware.length - 1, 0, hook);
  const gate = options.beforeRequest;
  app.middleware.unshift(async (context, next) => {
    if (gate !== undefined) await gate;
    const tooLong = keyTooLongError(context.method, context.path);
    if (tooLong !== undefined) {
      context.status = 400;
      context.type = 'application/xml';
      context.body = tooLong;
      return;
    }
    context.path = routableObjectPath(context.path);
    if (isAwsChunked(context.headers)) {
      // s3rver 3.7.1 would store the chunk framing as object bytes. Only the body is replaced: the headers stay as
      // signed, because the signature check runs later.
      const original = context.req;
      const decoded = original.pipe(new AwsChunkedDecoder());
      original.on('error', (error) => decoded.destroy(error));
      context.req = Object.assign(decoded, { headers: original.headers }) as unknown as IncomingMessage;
    }
    await next();
  });

  await s3rver.configureBuckets();
  const server = createServer(s3rver.callback());
  const port = await listenOnLoopback(server, options.port, 'S3', options.portOption).catch(
    (error: unknown) => {
      s3rver.logger.close();
      throw error;
    },
  );

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      await closeServer(server);
      s3rver.logger.close();
    },
  };
}
