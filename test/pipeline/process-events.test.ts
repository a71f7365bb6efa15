import { Logger } from '@aws-lambda-powertools/logger';
import { processS3Notifications } from '../../src/pipeline/process-events';
import { notificationOf, S3_TEST_EVENT, s3Record, snsEvent } from '../support/s3-events';

describe('processS3Notifications', () => {
  let lines: Array<Record<string, unknown>>;
  let spies: jest.SpyInstance[];

  beforeEach(() => {
    lines = [];
    // Powertools Logger writes one JSON document per line: warnings and errors to stderr, the rest to stdout.
    const capture = (chunk: string | Uint8Array) => {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      return true;
    };
    spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation(capture),
      jest.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
  });
  afterEach(() => {
    for (const spy of spies) spy.mockRestore();
  });

  function newLogger(): Logger {
    return new Logger({ serviceName: 'test', logLevel: 'INFO' });
  }

  it('acknowledges the S3 test event with no step call', async () => {
    const step = jest.fn();

    await processS3Notifications(
      snsEvent([{ messageId: 't1', body: S3_TEST_EVENT }]),
      'raw-bucket',
      newLogger(),
      step,
    );

    expect(step).not.toHaveBeenCalled();
    expect(lines).toContainEqual(
      expect.objectContaining({ message: 's3 test event acknowledged', messageId: 't1' }),
    );
  });

  it('skips a foreign bucket with a log line', async () => {
    const step = jest.fn();

    await processS3Notifications(
      notificationOf(s3Record({ encodedKey: 'x.jpg', bucket: 'other' })),
      'raw-bucket',
      newLogger(),
      step,
    );

    expect(step).not.toHaveBeenCalled();
    expect(lines).toContainEqual(
      expect.objectContaining({ message: 'record ignored', bucket: 'other', key: 'x.jpg' }),
    );
  });

  it('logs one line per record with its outcome', async () => {
    const event = snsEvent([
      { messageId: 'm9', body: { Records: [s3Record({ encodedKey: 'caf%C3%A9.jpg', sequencer: '0B' })] } },
    ]);

    await processS3Notifications(event, 'raw-bucket', newLogger(), async () => 'thumbnail-written');

    const processed = lines.filter((line) => line.message === 'record processed');
    expect(processed).toHaveLength(1);
    expect(processed[0]).toMatchObject({
      bucket: 'raw-bucket',
      key: 'café.jpg',
      messageId: 'm9',
      sequencer: '0B',
      outcome: 'thumbnail-written',
    });
    expect(typeof processed[0]?.durationMs).toBe('number');
  });

  it('never logs the event body', async () => {
    const event = notificationOf(s3Record({ encodedKey: 'secret-location.jpg' }));

    await processS3Notifications(event, 'raw-bucket', newLogger(), async () => 'done');

    expect(JSON.stringify(lines)).not.toContain('sourceIPAddress');
    expect(JSON.stringify(lines)).not.toContain('"Records"');
  });

  it('runs every record before throwing a failure', async () => {
    const event = notificationOf(
      s3Record({ encodedKey: 'a.jpg' }),
      s3Record({ encodedKey: 'b.jpg' }),
      s3Record({ encodedKey: 'c.jpg' }),
    );
    const seen: string[] = [];

    const run = processS3Notifications(event, 'raw-bucket', newLogger(), async (record) => {
      seen.push(record.key);
      if (record.key === 'a.jpg') throw new Error('DynamoDB unavailable');
      return 'done';
    });

    await expect(run).rejects.toThrow('DynamoDB unavailable');
    expect(seen).toEqual(['a.jpg', 'b.jpg', 'c.jpg']);
    expect(lines).toContainEqual(expect.objectContaining({ key: 'a.jpg', outcome: 'error' }));
  });

  it('throws all failures together', async () => {
    const event = notificationOf(s3Record({ encodedKey: 'a.jpg' }), s3Record({ encodedKey: 'b.jpg' }));

    const run = processS3Notifications(event, 'raw-bucket', newLogger(), async () => {
      throw new Error('timeout');
    });

    await expect(run).rejects.toThrow('2 of 2 records failed');
  });
});
