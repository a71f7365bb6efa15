import {
  buildS3EventRecord,
  buildS3TestEvent,
  encodeS3EventKey,
  type ObjectChange,
  SequencerClock,
  sequencerLowerBound,
} from '../../local/s3/event-records';
import { decodeS3EventKey, normalizeSequencer } from '../../src/events/s3-notification';

function change(overrides: Partial<ObjectChange> = {}): ObjectChange {
  return {
    eventName: 'ObjectCreated:Put',
    bucket: 'raw-bucket',
    key: 'photo.jpg',
    size: 1234,
    eTag: 'd41d8cd98f00b204e9800998ecf8427e',
    sequencer: '0055AED6DCD90281E5',
    time: new Date('2024-05-01T12:00:00.000Z'),
    sourceIp: '127.0.0.1',
    ...overrides,
  };
}

const settings = { region: 'eu-west-1', configurationId: 'config-1' };

describe('encodeS3EventKey', () => {
  // Expected values follow S3's documented form encoding of notification keys: space as "+", reserved and
  // non-ASCII bytes percent-encoded.
  it.each([
    ['uploads/VJ9B4951 - Copy (2).jpg', 'uploads/VJ9B4951+-+Copy+%282%29.jpg'],
    ['café.jpg', 'caf%C3%A9.jpg'],
    ['c++.jpg', 'c%2B%2B.jpg'],
    ['a/b/c.png', 'a/b/c.png'],
    ['star*dot.under_score-dash.jpg', 'star*dot.under_score-dash.jpg'],
    ['100%.jpg', '100%25.jpg'],
    ['q?a=1&b=2.jpg', 'q%3Fa%3D1%26b%3D2.jpg'],
    ['tilde~.jpg', 'tilde%7E.jpg'],
    ['日本.jpg', '%E6%97%A5%E6%9C%AC.jpg'],
  ])('encodes %s', (key, expected) => {
    expect(encodeS3EventKey(key)).toBe(expected);
  });

  it.each(['uploads/VJ9B4951 - Copy (2).jpg', 'café.jpg', 'c++.jpg', 'emoji 😀 + plus.png'])(
    'round-trips %s through the handler decoder',
    (key) => {
      expect(decodeS3EventKey(encodeS3EventKey(key))).toBe(key);
    },
  );
});

describe('SequencerClock', () => {
  it('grows within one millisecond', () => {
    const clock = new SequencerClock();
    const first = clock.next(1_700_000_000_000);
    const second = clock.next(1_700_000_000_000);
    expect(BigInt(`0x${second}`) > BigInt(`0x${first}`)).toBe(true);
  });

  it('grows when the clock goes back', () => {
    const clock = new SequencerClock();
    const first = clock.next(1_700_000_000_500);
    const second = clock.next(1_700_000_000_000);
    expect(BigInt(`0x${second}`) > BigInt(`0x${first}`)).toBe(true);
  });

  it('orders like the handler compares sequencers', () => {
    const clock = new SequencerClock();
    const values = [clock.next(1), clock.next(2), clock.next(2), clock.next(1_700_000_000_000)];
    const normalized = values.map(normalizeSequencer);
    expect([...normalized].sort()).toEqual(normalized);
  });

  it('issues uppercase hexadecimal', () => {
    expect(new SequencerClock().next(1_700_000_000_000)).toMatch(/^[0-9A-F]+$/);
  });

  it('stays at or above the lower bound of its time', () => {
    const value = new SequencerClock().next(1_700_000_000_123);
    expect(BigInt(`0x${value}`) >= sequencerLowerBound(1_700_000_000_123)).toBe(true);
  });
});

describe('buildS3EventRecord', () => {
  it('writes event version 2.1', () => {
    expect(buildS3EventRecord(change(), settings).eventVersion).toBe('2.1');
  });

  it('names the source aws:s3', () => {
    expect(buildS3EventRecord(change(), settings).eventSource).toBe('aws:s3');
  });

  it('carries the region', () => {
    expect(buildS3EventRecord(change(), settings).awsRegion).toBe('eu-west-1');
  });

  it('writes the bucket ARN with empty region and account', () => {
    expect(buildS3EventRecord(change(), settings).s3.bucket.arn).toBe('arn:aws:s3:::raw-bucket');
  });

  it('encodes the key', () => {
    const record = buildS3EventRecord(change({ key: 'my photo (1).jpg' }), settings);
    expect(record.s3.object.key).toBe('my+photo+%281%29.jpg');
  });

  it('writes the event time as ISO 8601', () => {
    expect(buildS3EventRecord(change(), settings).eventTime).toBe('2024-05-01T12:00:00.000Z');
  });

  it('keeps size and eTag on creation', () => {
    const object = buildS3EventRecord(change(), settings).s3.object;
    expect(object).toEqual({
      key: 'photo.jpg',
      size: 1234,
      eTag: 'd41d8cd98f00b204e9800998ecf8427e',
      sequencer: '0055AED6DCD90281E5',
    });
  });

  it('leaves size, eTag and versionId out on removal', () => {
    const removal = change({ eventName: 'ObjectRemoved:Delete', size: undefined, eTag: undefined });
    const object = buildS3EventRecord(removal, settings).s3.object;
    expect(Object.keys(object).sort()).toEqual(['key', 'sequencer']);
  });

  it('uses the configuration id', () => {
    expect(buildS3EventRecord(change(), settings).s3.configurationId).toBe('config-1');
  });
});

describe('buildS3TestEvent', () => {
  it('names the event s3:TestEvent', () => {
    expect(buildS3TestEvent('raw-bucket').Event).toBe('s3:TestEvent');
  });

  it('names the bucket', () => {
    expect(buildS3TestEvent('raw-bucket').Bucket).toBe('raw-bucket');
  });
});
