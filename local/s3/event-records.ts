import { createHash, randomBytes } from 'node:crypto';
import type { S3EventRecord } from 'aws-lambda';

/** S3 event names this stack emits; S3 documents them without the `s3:` prefix inside records. */
export type S3EventName =
  | 'ObjectCreated:Put'
  | 'ObjectCreated:Post'
  | 'ObjectCreated:Copy'
  | 'ObjectCreated:CompleteMultipartUpload'
  | 'ObjectRemoved:Delete';

/** One change to an object, as the S3 server hook observed it. */
export interface ObjectChange {
  eventName: S3EventName;
  bucket: string;
  /** Decoded key, exactly as the client sent it. */
  key: string;
  /** Bytes; S3 leaves it out of removal records. */
  size?: number;
  /** ETag without quotes; S3 leaves it out of removal records. */
  eTag?: string;
  sequencer: string;
  time: Date;
  sourceIp: string;
}

export interface RecordSettings {
  region: string;
  partition?: string;
  /** Notification configuration id; S3 generates one when the template gives none. */
  configurationId: string;
}

// Stable fake identities: S3 fills these with the account's canonical ids, which do not exist locally.
const OWNER_PRINCIPAL_ID = 'A3LOCALSTACKOWNER';
const REQUESTER_PRINCIPAL_ID = 'AWS:AIDALOCALSTACKUSER';

// Characters S3 leaves unencoded in notification keys; everything else is percent-encoded as UTF-8 bytes.
const UNRESERVED = /[A-Za-z0-9\-_.*/]/;

/**
 * Encodes an object key the way S3 writes it into event notifications: HTML form encoding, so a space becomes `+`,
 * `/` stays, and every byte outside `A-Z a-z 0-9 - _ . *` is percent-encoded (`+` itself becomes `%2B`).
 */
export function encodeS3EventKey(key: string): string {
  let encoded = '';
  for (const character of key) {
    if (character === ' ') {
      encoded += '+';
    } else if (UNRESERVED.test(character)) {
      encoded += character;
    } else {
      for (const byte of Buffer.from(character, 'utf8')) {
        encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
      }
    }
  }
  return encoded;
}

// Each millisecond leaves room for 2^24 events, so values stay unique and grow even within one millisecond.
const SEQUENCER_STEPS_PER_MS = 2n ** 24n;
const SEQUENCER_DIGITS = 18;

/** Returns the smallest sequencer that an event observed at or after `time` can carry. */
export function sequencerLowerBound(time: Date | number): bigint {
  return BigInt(Math.floor(Number(time))) * SEQUENCER_STEPS_PER_MS;
}

/**
 * Issues S3-style sequencers: uppercase hexadecimal strings whose value grows with every event. S3 only promises
 * growth per key; a single counter gives that. Values derive from the clock, so they also grow across restarts.
 */
export class SequencerClock {
  private last = 0n;

  next(now: number = Date.now()): string {
    const candidate = sequencerLowerBound(now);
    this.last = candidate > this.last ? candidate : this.last + 1n;
    return this.last.toString(16).toUpperCase().padStart(SEQUENCER_DIGITS, '0');
  }
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex').toUpperCase();
}

/** The object part of a record. Removal records carry no size and no eTag, unlike what the aws-lambda type declares. */
export interface S3NotificationObject {
  key: string;
  size?: number;
  eTag?: string;
  sequencer: string;
}

export type S3NotificationRecord = Omit<S3EventRecord, 's3' | 'glacierEventData'> & {
  s3: Omit<S3EventRecord['s3'], 'object'> & { object: S3NotificationObject };
};

/**
 * Builds the event record S3 writes for one object change: event version 2.1, and no versionId because the local
 * buckets are unversioned.
 */
export function buildS3EventRecord(change: ObjectChange, settings: RecordSettings): S3NotificationRecord {
  const partition = settings.partition ?? 'aws';
  const object: S3NotificationObject = { key: encodeS3EventKey(change.key), sequencer: change.sequencer };
  if (change.size !== undefined) object.size = change.size;
  if (change.eTag !== undefined) object.eTag = change.eTag;

  const requestId = randomHex(8);
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: settings.region,
    eventTime: change.time.toISOString(),
    eventName: change.eventName,
    userIdentity: { principalId: REQUESTER_PRINCIPAL_ID },
    requestParameters: { sourceIPAddress: change.sourceIp },
    responseElements: {
      'x-amz-request-id': requestId,
      'x-amz-id-2': createHash('sha256').update(requestId).digest('base64'),
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: settings.configurationId,
      bucket: {
        name: change.bucket,
        ownerIdentity: { principalId: OWNER_PRINCIPAL_ID },
        arn: `arn:${partition}:s3:::${change.bucket}`,
      },
      object,
    },
  };
}

/** The message S3 sends to each destination when a notification configuration is saved. */
export interface S3TestEvent {
  Service: 'Amazon S3';
  Event: 's3:TestEvent';
  Time: string;
  Bucket: string;
  RequestId: string;
  HostId: string;
}

export function buildS3TestEvent(bucket: string, time: Date = new Date()): S3TestEvent {
  const requestId = randomHex(8);
  return {
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: time.toISOString(),
    Bucket: bucket,
    RequestId: requestId,
    HostId: createHash('sha256').update(requestId).digest('base64'),
  };
}
