import type { MessageAttributeValue } from './message-digest';
import type { QueueSettings } from './queue-store';
import { invalidParameter, SqsError } from './sqs-error';

/**
 * Largest message SQS accepts, body and attributes together: 1 MiB (1,048,576 bytes) in the SendMessage API
 * reference since 2025. It was 256 KiB before.
 */
export const MAX_MESSAGE_BYTES = 1_048_576;
// SQS allows at most 10 message attributes per message.
const MAX_MESSAGE_ATTRIBUTES = 10;

/**
 * Characters outside the set SQS accepts in a message (the XML 1.0 Char production):
 * #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF. A lone surrogate is outside it too.
 */
const DISALLOWED_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function invalidContents(field: string, text: string): SqsError {
  const match = DISALLOWED_CHARACTER.exec(text);
  const code = match?.[0].codePointAt(0) ?? 0;
  return new SqsError(
    'InvalidMessageContents',
    'InvalidMessageContents',
    `${field} contains the character U+${code.toString(16).toUpperCase().padStart(4, '0')} at index ${match?.index ?? 0}, which SQS does not allow. Remove it or encode the text (for example as base64)`,
  );
}

function attributeBytes(name: string, attribute: MessageAttributeValue): number {
  const value =
    attribute.BinaryValue !== undefined
      ? Buffer.byteLength(attribute.BinaryValue, 'base64')
      : Buffer.byteLength(attribute.StringValue ?? '', 'utf8');
  return Buffer.byteLength(name, 'utf8') + Buffer.byteLength(attribute.DataType, 'utf8') + value;
}

function readAttribute(name: string, value: unknown): MessageAttributeValue {
  if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || /^(aws\.|amazon\.)/i.test(name) || /^\.|\.\.|\.$/.test(name)) {
    throw invalidParameter(
      `message attribute name ${JSON.stringify(name)} is invalid: use up to 256 letters, digits, _, - or ., with no leading, trailing or double period and no AWS. or Amazon. prefix`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidParameter(`message attribute ${name} must be an object with DataType and a value`);
  }
  const { DataType, StringValue, BinaryValue } = value as Record<string, unknown>;
  if (typeof DataType !== 'string' || !/^(String|Number|Binary)(\..{1,250})?$/.test(DataType)) {
    throw invalidParameter(
      `message attribute ${name} has DataType ${JSON.stringify(DataType)}. Use String, Number or Binary, optionally followed by .label`,
    );
  }
  if (DataType.startsWith('Binary')) {
    if (typeof BinaryValue !== 'string' || BinaryValue === '') {
      throw invalidParameter(`message attribute ${name} of type ${DataType} needs a base64 BinaryValue`);
    }
    return { DataType, BinaryValue };
  }
  if (typeof StringValue !== 'string' || StringValue === '') {
    throw invalidParameter(`message attribute ${name} of type ${DataType} needs a non-empty StringValue`);
  }
  if (DataType.startsWith('Number') && !Number.isFinite(Number(StringValue))) {
    throw invalidParameter(
      `message attribute ${name} is of type Number but ${JSON.stringify(StringValue)} is not a number`,
    );
  }
  if (DISALLOWED_CHARACTER.test(StringValue)) throw invalidContents(`message attribute ${name}`, StringValue);
  return { DataType, StringValue };
}

/**
 * Checks a message as SendMessage does: the body's characters, the attributes' names, types and values, and the
 * combined size. Returns the attributes, keeping only the fields SQS stores. Throws an SqsError naming the problem.
 */
export function validateMessage(body: string, attributes: unknown): Record<string, MessageAttributeValue> {
  if (DISALLOWED_CHARACTER.test(body)) throw invalidContents('MessageBody', body);

  if (
    attributes !== undefined &&
    attributes !== null &&
    (typeof attributes !== 'object' || Array.isArray(attributes))
  ) {
    throw invalidParameter('MessageAttributes must be an object that maps attribute names to values');
  }
  const entries = Object.entries((attributes ?? {}) as Record<string, unknown>);
  if (entries.length > MAX_MESSAGE_ATTRIBUTES) {
    throw invalidParameter(
      `a message has at most ${MAX_MESSAGE_ATTRIBUTES} message attributes, not ${entries.length}`,
    );
  }
  const checked = Object.fromEntries(entries.map(([name, value]) => [name, readAttribute(name, value)]));

  const size =
    Buffer.byteLength(body, 'utf8') +
    Object.entries(checked).reduce((total, [name, attribute]) => total + attributeBytes(name, attribute), 0);
  if (size > MAX_MESSAGE_BYTES) {
    throw invalidParameter(
      `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes, but this one has ${size} bytes with its attributes. Store large content elsewhere (such as S3) and send a reference`,
    );
  }
  return checked;
}

// Ranges of the queue attributes the local endpoint applies, from the SQS API reference's SetQueueAttributes.
const QUEUE_ATTRIBUTE_RANGES = [
  { attribute: 'VisibilityTimeout', setting: 'visibilityTimeoutSeconds', min: 0, max: 43_200 },
  { attribute: 'MessageRetentionPeriod', setting: 'messageRetentionSeconds', min: 60, max: 1_209_600 },
] as const;

function invalidAttributeValue(attribute: string, value: unknown, min: number, max: number): SqsError {
  return new SqsError(
    'InvalidAttributeValue',
    'InvalidAttributeValue',
    `Invalid value for the parameter ${attribute}: ${JSON.stringify(value)}. Use a whole number of seconds from ${min} to ${max}`,
  );
}

/** Checks queue settings against the ranges of their SQS attributes and throws InvalidAttributeValue outside them. */
export function checkQueueSettings(settings: Partial<QueueSettings>): Partial<QueueSettings> {
  for (const { attribute, setting, min, max } of QUEUE_ATTRIBUTE_RANGES) {
    const value = settings[setting];
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      throw invalidAttributeValue(attribute, value, min, max);
    }
  }
  return settings;
}

/**
 * Reads the queue attributes of CreateQueue that the local endpoint applies (string values, as SQS takes them).
 * Other attributes are accepted and ignored.
 */
export function readQueueSettings(attributes: unknown): Partial<QueueSettings> {
  const settings: Partial<QueueSettings> = {};
  if (attributes === undefined || attributes === null) return settings;
  if (typeof attributes !== 'object' || Array.isArray(attributes)) {
    throw invalidParameter('Attributes must be an object that maps attribute names to string values');
  }
  for (const { attribute, setting, min, max } of QUEUE_ATTRIBUTE_RANGES) {
    const value = (attributes as Record<string, unknown>)[attribute];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !/^\d+$/.test(value))
      throw invalidAttributeValue(attribute, value, min, max);
    settings[setting] = Number(value);
  }
  return checkQueueSettings(settings);
}
