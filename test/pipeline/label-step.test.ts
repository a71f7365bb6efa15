import { readFileSync } from 'node:fs';
import {
  DetectLabelsCommand,
  InvalidImageFormatException,
  RekognitionClient,
  ThrottlingException,
} from '@aws-sdk/client-rekognition';
import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DEFAULT_LABEL_SETTINGS } from '../../src/config';
import type { S3ObjectEvent } from '../../src/events/s3-notification';
import { runLabelStep } from '../../src/pipeline/label-step';
import { createImageRecordStore } from '../../src/records/image-records';
import { type LocalTable, startLocalTable } from '../support/dynalite';
import { s3Body } from '../support/s3-body';
import { fixture } from '../support/shared-images';

const config = {
  rawBucket: 'raw-bucket',
  thumbnailBucket: 'thumbnail-bucket',
  tableName: 'images-test',
  maxInputBytes: 5 * 1024 * 1024,
  labels: DEFAULT_LABEL_SETTINGS,
  thumbnail: { maxInputPixels: 100_000_000 },
};

// A DetectLabels response shaped as the example in the Rekognition developer guide ("Detecting labels in an image").
const dogResponse = {
  Labels: [
    {
      Name: 'Dog',
      Confidence: 97.3,
      Parents: [{ Name: 'Animal' }, { Name: 'Pet' }],
      Categories: [{ Name: 'Animals and Pets' }],
      Aliases: [],
      Instances: [{ Confidence: 95.1, BoundingBox: { Width: 0.4, Height: 0.5, Left: 0.1, Top: 0.2 } }],
    },
  ],
  LabelModelVersion: '3.0',
};

describe('label step', () => {
  const s3Mock = mockClient(S3Client);
  const rekognitionMock = mockClient(RekognitionClient);
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
    rekognitionMock.reset();
    counter += 1;
  });

  function createdEvent(overrides: Partial<S3ObjectEvent> = {}): S3ObjectEvent {
    return {
      kind: 'created',
      eventName: 'ObjectCreated:Put',
      eventTime: '2026-12-04T12:00:00.000Z',
      region: 'eu-west-1',
      bucket: config.rawBucket,
      key: `dog ${counter}.jpg`,
      size: 160_000,
      eTag: 'etag-1',
      sequencer: '0A',
      messageId: 'message-1',
      ...overrides,
    };
  }

  const regions: string[] = [];
  function run(event: S3ObjectEvent) {
    return runLabelStep(event, {
      s3: new S3Client({ region: 'us-east-1' }),
      rekognitionFor: (region) => {
        regions.push(region);
        return new RekognitionClient({ region });
      },
      records: createImageRecordStore(table.client, table.tableName),
      config,
    });
  }

  async function itemOf(key: string) {
    const response = await table.client.send(
      new GetCommand({ TableName: table.tableName, Key: { Id: key } }),
    );
    return response.Item;
  }

  it('records the labels Rekognition returns', async () => {
    s3Mock
      .on(GetObjectCommand)
      .resolves({ Body: s3Body(readFileSync(fixture('orientation/Landscape_1.jpg')).subarray(0, 64)) });
    rekognitionMock.on(DetectLabelsCommand).resolves(dogResponse);
    const event = createdEvent();

    const outcome = await run(event);
    const item = await itemOf(event.key);

    expect(outcome).toBe('labels-recorded');
    expect(item?.LabelsStatus).toBe('done');
    expect(item?.Labels).toEqual([
      {
        Name: 'Dog',
        Confidence: 97.3,
        Parents: ['Animal', 'Pet'],
        Categories: ['Animals and Pets'],
        Instances: [{ Confidence: 95.1, BoundingBox: { Width: 0.4, Height: 0.5, Left: 0.1, Top: 0.2 } }],
      },
    ]);
  });

  it('asks Rekognition in the bucket region', async () => {
    s3Mock
      .on(GetObjectCommand)
      .resolves({ Body: s3Body(readFileSync(fixture('orientation/Landscape_1.jpg')).subarray(0, 64)) });
    rekognitionMock.on(DetectLabelsCommand).resolves(dogResponse);

    await run(createdEvent({ region: 'ap-southeast-2' }));

    expect(regions.at(-1)).toBe('ap-southeast-2');
  });

  it('records an image Rekognition cannot read as failed', async () => {
    s3Mock
      .on(GetObjectCommand)
      .resolves({ Body: s3Body(readFileSync(fixture('broken/corrupt_header.jpg'))) });
    rekognitionMock
      .on(DetectLabelsCommand)
      .rejects(
        new InvalidImageFormatException({ message: 'Request has invalid image format', $metadata: {} }),
      );
    const event = createdEvent();

    const outcome = await run(event);
    const item = await itemOf(event.key);

    expect(outcome).toBe('failure-recorded');
    expect(item?.LabelsStatus).toBe('failed');
    expect(item?.LabelsError).toContain(`Cannot detect labels in "${event.key}"`);
  });

  it('throws throttling so Lambda retries', async () => {
    s3Mock
      .on(GetObjectCommand)
      .resolves({ Body: s3Body(readFileSync(fixture('orientation/Landscape_1.jpg')).subarray(0, 64)) });
    rekognitionMock
      .on(DetectLabelsCommand)
      .rejects(new ThrottlingException({ message: 'Slow down', $metadata: {} }));

    await expect(run(createdEvent())).rejects.toThrow(ThrottlingException);
  });

  it('skips an upload that was replaced before it was read', async () => {
    s3Mock.on(GetObjectCommand).rejects(
      new S3ServiceException({
        name: 'PreconditionFailed',
        $fault: 'client',
        $metadata: { httpStatusCode: 412 },
        message: 'At least one of the pre-conditions you specified did not hold',
      }),
    );
    const event = createdEvent();

    const outcome = await run(event);

    expect(outcome).toBe('skipped-object-gone');
    expect(rekognitionMock).not.toHaveReceivedCommand(DetectLabelsCommand);
    expect(await itemOf(event.key)).toBeUndefined();
  });

  it('records nothing when the original is deleted during detection', async () => {
    s3Mock
      .on(GetObjectCommand)
      .resolvesOnce({ Body: s3Body(readFileSync(fixture('orientation/Landscape_1.jpg')).subarray(0, 64)) })
      .rejects(
        new S3ServiceException({
          name: 'NoSuchKey',
          $fault: 'client',
          $metadata: { httpStatusCode: 404 },
          message: 'The specified key does not exist.',
        }),
      );
    rekognitionMock.on(DetectLabelsCommand).resolves(dogResponse);
    const event = createdEvent();

    const outcome = await run(event);

    expect(outcome).toBe('skipped-object-gone');
    expect(await itemOf(event.key)).toBeUndefined();
  });

  it('deletes the item when the original is removed', async () => {
    s3Mock
      .on(GetObjectCommand)
      .resolves({ Body: s3Body(readFileSync(fixture('orientation/Landscape_1.jpg')).subarray(0, 64)) });
    rekognitionMock.on(DetectLabelsCommand).resolves(dogResponse);
    const created = createdEvent({ sequencer: '30' });
    await run(created);

    const outcome = await run({
      ...created,
      kind: 'removed',
      eventName: 'ObjectRemoved:Delete',
      sequencer: '31',
    });

    expect(outcome).toBe('record-deleted');
    expect(await itemOf(created.key)).toBeUndefined();
  });
});
