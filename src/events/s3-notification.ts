import type { SNSEvent } from 'aws-lambda';
import { MalformedEventError } from '../errors';

/** One S3 object event taken out of its SNS envelope, with the key decoded as the client wrote it. */
export interface S3ObjectEvent {
  kind: 'created' | 'removed';
  /** S3's event name, such as `ObjectCreated:Put` or `ObjectRemoved:Delete`. */
  eventName: string;
  eventTime: string;
  region: string;
  bucket: string;
  key: string;
  /** Bytes; absent on removals. */
  size?: number;
  /** Absent on removals. */
  eTag?: string;
  versionId?: string;
  /** Orders events on the same key: see `compareSequencers`. */
  sequencer: string;
  /** The SNS message that carried the record, for logs. */
  messageId: string;
}

/** A record the parser skipped, with the reason, so the handler can log it. */
export interface IgnoredRecord {
  messageId: string;
  bucket: string;
  key: string;
  reason: string;
}

export interface ParsedNotifications {
  objectEvents: S3ObjectEvent[];
  /** SNS messages that carried S3's `s3:TestEvent`, sent once when a notification configuration is saved. */
  testEventMessageIds: string[];
  ignored: IgnoredRecord[];
}

/**
 * Decodes an object key as S3 writes it into notifications: form encoding, so `+` is a space and a literal `+`
 * arrives as `%2B`.
 */
export function decodeS3EventKey(encodedKey: string): string {
  try {
    return decodeURIComponent(encodedKey.replace(/\+/g, ' '));
  } catch (error) {
    throw new MalformedEventError(`object key "${encodedKey}" is not valid percent-encoding`, {
      cause: error,
    });
  }
}

const SEQUENCER_WIDTH = 64;

/**
 * Left-pads a sequencer with zeros to a fixed width, so that string order is the order S3 documents: the greater
 * hexadecimal value is the later event on the same key. Stored values are padded, so DynamoDB can compare them.
 */
export function normalizeSequencer(sequencer: string): string {
  if (!/^[0-9A-Fa-f]{1,64}$/.test(sequencer)) {
    throw new MalformedEventError(
      `sequencer "${sequencer}" is not a hexadecimal string of 1 to ${SEQUENCER_WIDTH} digits`,
    );
  }
  return sequencer.toUpperCase().padStart(SEQUENCER_WIDTH, '0');
}

/** Returns a negative number when `a` is older than `b`, zero when equal, positive when newer. */
export function compareSequencers(a: string, b: string): number {
  const left = normalizeSequencer(a);
  const right = normalizeSequencer(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readString(source: Record<string, unknown>, field: string, where: string): string {
  const value = source[field];
  if (typeof value !== 'string' || value === '') {
    throw new MalformedEventError(`${where}.${field} is missing or not a string`);
  }
  return value;
}

function parseMessageBody(message: string, messageId: string): unknown {
  try {
    return JSON.parse(message);
  } catch (error) {
    throw new MalformedEventError(`SNS message ${messageId} does not contain JSON`, { cause: error });
  }
}

function parseS3Record(
  record: unknown,
  messageId: string,
  rawBucket: string,
  where: string,
): S3ObjectEvent | IgnoredRecord {
  if (!isObject(record) || !isObject(record.s3)) {
    throw new MalformedEventError(`${where} is not an S3 event record`);
  }
  const s3 = record.s3;
  if (!isObject(s3.bucket) || !isObject(s3.object)) {
    throw new MalformedEventError(`${where}.s3 has no bucket or object`);
  }
  const bucket = readString(s3.bucket, 'name', `${where}.s3.bucket`);
  const encodedKey = readString(s3.object, 'key', `${where}.s3.object`);
  const key = decodeS3EventKey(encodedKey);
  const eventName = readString(record, 'eventName', where);

  if (bucket !== rawBucket) {
    return { messageId, bucket, key, reason: `bucket "${bucket}" is not the raw bucket "${rawBucket}"` };
  }

  let kind: S3ObjectEvent['kind'];
  if (eventName.startsWith('ObjectCreated:')) kind = 'created';
  else if (eventName.startsWith('ObjectRemoved:')) kind = 'removed';
  else
    return {
      messageId,
      bucket,
      key,
      reason: `event "${eventName}" is neither ObjectCreated nor ObjectRemoved`,
    };

  const sequencer = readString(s3.object, 'sequencer', `${where}.s3.object`);
  normalizeSequencer(sequencer);

  const event: S3ObjectEvent = {
    kind,
    eventName,
    eventTime: readString(record, 'eventTime', where),
    region: readString(record, 'awsRegion', where),
    bucket,
    key,
    sequencer,
    messageId,
  };
  if (typeof s3.object.size === 'number') event.size = s3.object.size;
  if (typeof s3.object.eTag === 'string' && s3.object.eTag !== '') event.eTag = s3.object.eTag;
  if (typeof s3.object.versionId === 'string' && s3.object.versionId !== '')
    event.versionId = s3.object.versionId;
  return event;
}

/**
 * Takes the S3 records out of each SNS message of a Lambda event. A message may carry several records; S3's
 * `s3:TestEvent` is acknowledged without records; records of any bucket other than `rawBucket` are returned as ignored.
 * Throws MalformedEventError when a message is not an S3 notification at all.
 */
export function parseSnsS3Notifications(event: SNSEvent, rawBucket: string): ParsedNotifications {
  const parsed: ParsedNotifications = { objectEvents: [], testEventMessageIds: [], ignored: [] };
  if (!isObject(event) || !Array.isArray(event.Records)) {
    throw new MalformedEventError('event has no Records array: it is not an SNS event');
  }

  event.Records.forEach((snsRecord, recordIndex) => {
    const sns: unknown = isObject(snsRecord) ? snsRecord.Sns : undefined;
    if (!isObject(sns)) throw new MalformedEventError(`Records[${recordIndex}] has no Sns object`);
    const messageId = readString(sns, 'MessageId', `Records[${recordIndex}].Sns`);
    const body = parseMessageBody(readString(sns, 'Message', `Records[${recordIndex}].Sns`), messageId);

    if (isObject(body) && body.Event === 's3:TestEvent') {
      parsed.testEventMessageIds.push(messageId);
      return;
    }
    if (!isObject(body) || !Array.isArray(body.Records)) {
      throw new MalformedEventError(`SNS message ${messageId} is not an S3 event notification`);
    }

    body.Records.forEach((s3Record: unknown, s3Index: number) => {
      const result = parseS3Record(
        s3Record,
        messageId,
        rawBucket,
        `message ${messageId} Records[${s3Index}]`,
      );
      if ('reason' in result) parsed.ignored.push(result);
      else parsed.objectEvents.push(result);
    });
  });

  return parsed;
}
