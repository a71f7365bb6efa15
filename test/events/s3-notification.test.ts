import { MalformedEventError } from '../../src/errors';
import {
  compareSequencers,
  decodeS3EventKey,
  normalizeSequencer,
  parseSnsS3Notifications,
} from '../../src/events/s3-notification';
import { notificationOf, S3_TEST_EVENT, s3Record, snsEvent } from '../support/s3-events';

describe('decodeS3EventKey', () => {
  // Encoded forms as S3 writes them into notifications: form encoding, '+' for a space, '%2B' for a plus sign.
  it.each([
    ['uploads/VJ9B4951+-+Copy+%282%29.jpg', 'uploads/VJ9B4951 - Copy (2).jpg'],
    ['caf%C3%A9.jpg', 'café.jpg'],
    ['c%2B%2B.jpg', 'c++.jpg'],
    ['a%2Fb%25c.png', 'a/b%c.png'],
    ['%E5%86%99%E7%9C%9F.jpg', '写真.jpg'],
  ])('decodes %s', (encoded, expected) => {
    expect(decodeS3EventKey(encoded)).toBe(expected);
  });

  it('rejects broken percent-encoding with the key named', () => {
    expect(() => decodeS3EventKey('bad%E9.jpg')).toThrow(/"bad%E9.jpg"/);
  });
});

describe('parseSnsS3Notifications', () => {
  it('returns the decoded key and object fields', () => {
    const event = notificationOf(
      s3Record({
        encodedKey: 'uploads/VJ9B4951+-+Copy+%282%29.jpg',
        size: 2048,
        eTag: 'abc',
        sequencer: '0A1B',
      }),
    );

    const { objectEvents } = parseSnsS3Notifications(event, 'raw-bucket');

    expect(objectEvents).toHaveLength(1);
    expect(objectEvents[0]).toMatchObject({
      kind: 'created',
      eventName: 'ObjectCreated:Put',
      bucket: 'raw-bucket',
      key: 'uploads/VJ9B4951 - Copy (2).jpg',
      size: 2048,
      eTag: 'abc',
      sequencer: '0A1B',
      region: 'us-east-1',
    });
  });

  it('reads several records from one message and several messages', () => {
    const event = snsEvent([
      {
        messageId: 'm1',
        body: { Records: [s3Record({ encodedKey: 'a.jpg' }), s3Record({ encodedKey: 'b.jpg' })] },
      },
      {
        messageId: 'm2',
        body: { Records: [s3Record({ encodedKey: 'c.jpg', eventName: 'ObjectRemoved:Delete' })] },
      },
    ]);

    const { objectEvents } = parseSnsS3Notifications(event, 'raw-bucket');

    expect(objectEvents.map((e) => [e.messageId, e.key, e.kind])).toEqual([
      ['m1', 'a.jpg', 'created'],
      ['m1', 'b.jpg', 'created'],
      ['m2', 'c.jpg', 'removed'],
    ]);
  });

  it('leaves size and eTag out of removals', () => {
    const event = notificationOf(
      s3Record({ encodedKey: 'gone.jpg', eventName: 'ObjectRemoved:DeleteMarkerCreated' }),
    );

    const [removal] = parseSnsS3Notifications(event, 'raw-bucket').objectEvents;

    expect(removal?.kind).toBe('removed');
    expect(removal?.size).toBeUndefined();
    expect(removal?.eTag).toBeUndefined();
  });

  it('acknowledges the S3 test event without records', () => {
    const parsed = parseSnsS3Notifications(
      snsEvent([{ messageId: 'test-1', body: S3_TEST_EVENT }]),
      'raw-bucket',
    );

    expect(parsed.objectEvents).toEqual([]);
    expect(parsed.testEventMessageIds).toEqual(['test-1']);
  });

  it('ignores records of another bucket with the reason', () => {
    const event = notificationOf(
      s3Record({ encodedKey: 'x.jpg', bucket: 'someone-elses-bucket' }),
      s3Record({ encodedKey: 'y.jpg' }),
    );

    const parsed = parseSnsS3Notifications(event, 'raw-bucket');

    expect(parsed.objectEvents.map((e) => e.key)).toEqual(['y.jpg']);
    expect(parsed.ignored).toHaveLength(1);
    expect(parsed.ignored[0]?.bucket).toBe('someone-elses-bucket');
    expect(parsed.ignored[0]?.reason).toMatch(/not the raw bucket "raw-bucket"/);
  });

  it('ignores event types other than created and removed', () => {
    const event = notificationOf(s3Record({ encodedKey: 'x.jpg', eventName: 'ObjectTagging:Put' }));

    const parsed = parseSnsS3Notifications(event, 'raw-bucket');

    expect(parsed.objectEvents).toEqual([]);
    expect(parsed.ignored[0]?.reason).toMatch(/ObjectTagging:Put/);
  });

  it.each([
    ['a message that is not JSON', snsEvent([{ body: 'not json' }])],
    ['a message without Records', snsEvent([{ body: { hello: 'world' } }])],
    [
      'a record without a sequencer',
      notificationOf({
        ...s3Record({ encodedKey: 'a.jpg' }),
        s3: { bucket: { name: 'raw-bucket' }, object: { key: 'a.jpg' } },
      }),
    ],
    [
      'a sequencer that is not hexadecimal',
      notificationOf(s3Record({ encodedKey: 'a.jpg', sequencer: 'xyz' })),
    ],
    ['an event that is not from SNS', { Records: [{ s3: {} }] }],
  ])('rejects %s', (_name, event) => {
    expect(() => parseSnsS3Notifications(event as never, 'raw-bucket')).toThrow(MalformedEventError);
  });
});

describe('sequencers', () => {
  // S3 documents that the greater hexadecimal value is the later event, after left-padding the shorter one.
  it('orders by hexadecimal value across lengths', () => {
    expect(compareSequencers('FF', '0100')).toBeLessThan(0);
    expect(compareSequencers('0055AED6DCD90281E6', '0055AED6DCD90281E5')).toBeGreaterThan(0);
    expect(compareSequencers('00ab', 'AB')).toBe(0);
  });

  it('normalizes to a fixed width so strings sort like numbers', () => {
    const values = ['1F', '100', 'A', '0FFF'].map(normalizeSequencer);

    expect([...values].sort()).toEqual(['A', '1F', '100', '0FFF'].map(normalizeSequencer));
    expect(values.every((value) => value.length === 64)).toBe(true);
  });
});
