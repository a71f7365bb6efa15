import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const PROJECT_DIR = path.resolve(__dirname, '..', '..');
// The local stage's raw bucket: prefix `example` from params.local, then service and stage.
const LOCAL_RAW_BUCKET = 'example-image-pipeline-local-raw';
const SAMPLE_IMAGE = path.join(PROJECT_DIR, 'samples', 'dog_bicycle_truck.jpg');

interface SnsLambdaEvent {
  Records: Array<{
    EventSource: string;
    EventVersion: string;
    EventSubscriptionArn: string;
    Sns: { Type: string; MessageId: string; TopicArn: string; Message: string; Subject: string };
  }>;
}

interface S3Notification {
  Records: Array<{
    eventVersion: string;
    eventSource: string;
    eventName: string;
    s3: {
      bucket: { name: string; arn: string };
      object: { key: string; size?: number; eTag?: string; sequencer: string };
    };
  }>;
}

function readEvent(file: string): SnsLambdaEvent {
  return JSON.parse(readFileSync(path.join(PROJECT_DIR, 'events', file), 'utf8')) as SnsLambdaEvent;
}

function messageOf(file: string): unknown {
  const [record] = readEvent(file).Records;
  return JSON.parse(record?.Sns.Message ?? 'null');
}

function s3RecordOf(file: string) {
  const record = (messageOf(file) as S3Notification).Records[0];
  if (record === undefined) throw new Error(`${file} carries no S3 record`);
  return record;
}

/** Form decoding as WHATWG URLSearchParams does it: `+` is a space, %XX are UTF-8 bytes. */
function formDecode(encoded: string): string {
  return new URLSearchParams(`k=${encoded}`).get('k') ?? '';
}

const ALL_EVENTS = [
  'object-created.json',
  'object-created-special-key.json',
  'object-removed.json',
  's3-test-event.json',
];
const OBJECT_EVENTS = ['object-created.json', 'object-created-special-key.json', 'object-removed.json'];

describe.each(ALL_EVENTS)('%s', (file) => {
  it('has one SNS record as Lambda receives it', () => {
    const records = readEvent(file).Records;

    expect(records.map((record) => [record.EventSource, record.EventVersion, record.Sns.Type])).toEqual([
      ['aws:sns', '1.0', 'Notification'],
    ]);
  });

  it('comes from the local stage topic', () => {
    const [record] = readEvent(file).Records;

    expect(record?.Sns.TopicArn).toMatch(/^arn:aws:sns:us-east-1:\d{12}:image-pipeline-local-image-events$/);
  });

  it('subscription ARN extends the topic ARN', () => {
    const [record] = readEvent(file).Records;

    expect(record?.EventSubscriptionArn.startsWith(`${record?.Sns.TopicArn}:`)).toBe(true);
  });
});

describe.each(OBJECT_EVENTS)('%s S3 record', (file) => {
  it('uses event structure version 2.1', () => {
    expect(s3RecordOf(file).eventVersion).toBe('2.1');
  });

  it('names the local raw bucket', () => {
    expect(s3RecordOf(file).s3.bucket).toMatchObject({
      name: LOCAL_RAW_BUCKET,
      arn: `arn:aws:s3:::${LOCAL_RAW_BUCKET}`,
    });
  });

  it('has a hexadecimal sequencer', () => {
    expect(s3RecordOf(file).s3.object.sequencer).toMatch(/^[0-9A-F]+$/);
  });
});

describe('object keys', () => {
  it.each([
    ['object-created.json', 'samples/dog_bicycle_truck.jpg'],
    ['object-created-special-key.json', 'uploads/Café photo (1).jpg'],
    ['object-removed.json', 'samples/dog_bicycle_truck.jpg'],
  ])('%s decodes to %s', (file, expectedKey) => {
    expect(formDecode(s3RecordOf(file).s3.object.key)).toBe(expectedKey);
  });

  it('special key is encoded as S3 encodes it', () => {
    // S3 form-encodes keys in notifications: space as +, parentheses and non-ASCII bytes as %XX, / kept.
    expect(s3RecordOf('object-created-special-key.json').s3.object.key).toBe(
      'uploads/Caf%C3%A9+photo+%281%29.jpg',
    );
  });
});

describe('object metadata', () => {
  const image = readFileSync(SAMPLE_IMAGE);

  it.each(['object-created.json', 'object-created-special-key.json'])(
    '%s size is the sample file size',
    (file) => {
      expect(s3RecordOf(file).s3.object.size).toBe(statSync(SAMPLE_IMAGE).size);
    },
  );

  it.each(['object-created.json', 'object-created-special-key.json'])(
    '%s eTag is the MD5 of the sample',
    (file) => {
      // A single-part upload with SSE-S3 gets the MD5 of its bytes as ETag.
      expect(s3RecordOf(file).s3.object.eTag).toBe(createHash('md5').update(image).digest('hex'));
    },
  );

  it('removal carries no size or eTag', () => {
    const { object } = s3RecordOf('object-removed.json').s3;

    expect([object.size, object.eTag]).toEqual([undefined, undefined]);
  });

  it('removal is a Delete event', () => {
    expect(s3RecordOf('object-removed.json').eventName).toBe('ObjectRemoved:Delete');
  });
});

describe('s3-test-event.json', () => {
  it('carries the s3:TestEvent message', () => {
    expect(messageOf('s3-test-event.json')).toMatchObject({
      Service: 'Amazon S3',
      Event: 's3:TestEvent',
      Bucket: LOCAL_RAW_BUCKET,
    });
  });

  it('message has the fields S3 sends', () => {
    expect(Object.keys(messageOf('s3-test-event.json') as object).sort()).toEqual(
      ['Bucket', 'Event', 'HostId', 'RequestId', 'Service', 'Time'].sort(),
    );
  });
});
