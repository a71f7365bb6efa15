import { readFileSync } from 'node:fs';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import sharp from 'sharp';
import { DEFAULT_THUMBNAIL_SETTINGS } from '../../src/config';
import type { S3ObjectEvent } from '../../src/events/s3-notification';
import { runThumbnailStep } from '../../src/pipeline/thumbnail-step';
import { createImageRecordStore } from '../../src/records/image-records';
import { type LocalTable, startLocalTable } from '../support/dynalite';
import { s3Body } from '../support/s3-body';
import { fixture } from '../support/shared-images';

const config = {
  rawBucket: 'raw-bucket',
  thumbnailBucket: 'thumbnail-bucket',
  tableName: 'images-test',
  maxInputBytes: 5 * 1024 * 1024,
  thumbnail: DEFAULT_THUMBNAIL_SETTINGS,
};

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

describe('thumbnail step', () => {
  const s3Mock = mockClient(S3Client);
  let table: LocalTable;
  let counter = 0;

  beforeAll(async () => {
    table = await startLocalTable(config.tableName);
  });
  afterAll(async () => {
    await table.close();
  });
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
    s3Mock.on(DeleteObjectCommand).resolves({});
    counter += 1;
  });

  function createdEvent(overrides: Partial<S3ObjectEvent> = {}): S3ObjectEvent {
    return {
      kind: 'created',
      eventName: 'ObjectCreated:Put',
      eventTime: '2026-12-04T12:00:00.000Z',
      region: 'us-east-1',
      bucket: config.rawBucket,
      key: `uploads/photo ${counter}.jpg`,
      size: 1000,
      eTag: 'etag-1',
      sequencer: '0A',
      messageId: 'message-1',
      ...overrides,
    };
  }

  function run(event: S3ObjectEvent) {
    const records = createImageRecordStore(table.client, table.tableName);
    return runThumbnailStep(event, { s3: new S3Client({ region: 'us-east-1' }), records, config });
  }

  async function itemOf(key: string) {
    const response = await table.client.send(
      new GetCommand({ TableName: table.tableName, Key: { Id: key } }),
    );
    return response.Item;
  }

  it('writes an upright thumbnail under the same key', async () => {
    const original = readFileSync(fixture('orientation/Landscape_6.jpg'));
    s3Mock.on(GetObjectCommand).resolves({ Body: s3Body(original) });
    const event = createdEvent({ size: original.length });

    const outcome = await run(event);

    expect(outcome).toBe('thumbnail-written');
    const put = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put?.Bucket).toBe('thumbnail-bucket');
    expect(put?.Key).toBe(event.key);
    expect(put?.ContentType).toBe('image/jpeg');
    // Landscape_6 is stored 1200x1800 with Orientation 6, so it displays 1800x1200 (corpus SOURCES.md).
    const written = await sharp(put?.Body as Buffer).metadata();
    expect([written.width, written.height]).toEqual([256, 171]);
  });

  it('reads only the upload the event names', async () => {
    s3Mock
      .on(GetObjectCommand)
      .resolves({ Body: s3Body(readFileSync(fixture('orientation/Landscape_1.jpg'))) });

    await run(createdEvent({ eTag: 'abc123' }));

    expect(s3Mock).toHaveReceivedCommandWith(GetObjectCommand, {
      Bucket: 'raw-bucket',
      IfMatch: '"abc123"',
    });
  });

  it('records source and thumbnail attributes', async () => {
    const original = readFileSync(fixture('orientation/Landscape_6.jpg'));
    s3Mock.on(GetObjectCommand).resolves({ Body: s3Body(original) });
    const event = createdEvent({ size: original.length });

    await run(event);
    const item = await itemOf(event.key);

    expect(item?.ThumbnailStatus).toBe('done');
    expect(item?.Source).toEqual({
      Bucket: 'raw-bucket',
      Key: event.key,
      Size: original.length,
      ETag: 'etag-1',
      Format: 'jpeg',
      Width: 1800,
      Height: 1200,
    });
    expect(item?.Thumbnail).toMatchObject({
      Bucket: 'thumbnail-bucket',
      Key: event.key,
      Width: 256,
      Height: 171,
    });
  });

  it('records a corrupt image as failed and removes any old thumbnail', async () => {
    s3Mock.on(GetObjectCommand).resolves({ Body: s3Body(readFileSync(fixture('broken/truncated.jpg'))) });
    const event = createdEvent();

    const outcome = await run(event);
    const item = await itemOf(event.key);

    expect(outcome).toBe('failure-recorded');
    expect(item?.ThumbnailStatus).toBe('failed');
    expect(item?.ThumbnailError).toContain(`"${event.key}"`);
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
    expect(s3Mock).toHaveReceivedCommandWith(DeleteObjectCommand, {
      Bucket: 'thumbnail-bucket',
      Key: event.key,
    });
  });

  it('records an object above the byte limit without reading it', async () => {
    const event = createdEvent({ size: config.maxInputBytes + 1 });

    const outcome = await run(event);

    expect(outcome).toBe('failure-recorded');
    expect((await itemOf(event.key))?.ThumbnailError).toMatch(/above the limit of 5242880 bytes/);
    expect(s3Mock).not.toHaveReceivedCommand(GetObjectCommand);
  });

  it.each([
    ['missing', s3Error('NoSuchKey', 404)],
    ['replaced', s3Error('PreconditionFailed', 412)],
  ])('skips an object that is %s', async (_case, error) => {
    s3Mock.on(GetObjectCommand).rejects(error);
    const event = createdEvent();

    const outcome = await run(event);

    expect(outcome).toBe('skipped-object-gone');
    expect(await itemOf(event.key)).toBeUndefined();
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('writes nothing when the original is deleted during the work', async () => {
    s3Mock
      .on(GetObjectCommand)
      .resolvesOnce({ Body: s3Body(readFileSync(fixture('orientation/Landscape_1.jpg'))) })
      .rejects(s3Error('NoSuchKey', 404));
    const event = createdEvent();

    const outcome = await run(event);

    expect(outcome).toBe('skipped-object-gone');
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
    expect(await itemOf(event.key)).toBeUndefined();
  });

  it('throws a transient S3 error so Lambda retries', async () => {
    s3Mock.on(GetObjectCommand).rejects(
      new S3ServiceException({
        name: 'SlowDown',
        $fault: 'server',
        $metadata: { httpStatusCode: 503 },
        message: 'Please reduce your request rate.',
      }),
    );

    await expect(run(createdEvent())).rejects.toThrow('Please reduce your request rate.');
  });

  it('deletes the thumbnail when the original is removed', async () => {
    s3Mock
      .on(GetObjectCommand)
      .resolves({ Body: s3Body(readFileSync(fixture('orientation/Landscape_1.jpg'))) });
    const created = createdEvent({ sequencer: '10' });
    await run(created);
    s3Mock.resetHistory();

    const outcome = await run({
      ...created,
      kind: 'removed',
      eventName: 'ObjectRemoved:Delete',
      sequencer: '11',
    });

    expect(outcome).toBe('thumbnail-deleted');
    expect(s3Mock).toHaveReceivedCommandWith(DeleteObjectCommand, {
      Bucket: 'thumbnail-bucket',
      Key: created.key,
    });
    expect((await itemOf(created.key))?.Thumbnail).toBeUndefined();
  });

  it('keeps a newer upload thumbnail when an old removal arrives late', async () => {
    s3Mock
      .on(GetObjectCommand)
      .resolves({ Body: s3Body(readFileSync(fixture('orientation/Landscape_1.jpg'))) });
    const created = createdEvent({ sequencer: '20' });
    await run(created);
    s3Mock.resetHistory();

    const outcome = await run({
      ...created,
      kind: 'removed',
      eventName: 'ObjectRemoved:Delete',
      sequencer: '1F',
    });

    expect(outcome).toBe('skipped-newer-event-recorded');
    expect(s3Mock).not.toHaveReceivedCommand(DeleteObjectCommand);
  });
});
