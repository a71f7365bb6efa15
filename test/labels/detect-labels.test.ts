import {
  AccessDeniedException,
  DetectLabelsCommand,
  type DetectLabelsCommandOutput,
  ImageTooLargeException,
  InternalServerError,
  InvalidImageFormatException,
  InvalidParameterException,
  InvalidS3ObjectException,
  ProvisionedThroughputExceededException,
  RekognitionClient,
  ThrottlingException,
} from '@aws-sdk/client-rekognition';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { InvalidImageError } from '../../src/errors';
import { type DetectLabelsRequest, detectImageLabels } from '../../src/labels/detect-labels';
import { describeWithSharedImages, fixture, sharedImage } from '../support/shared-images';
import { noisePng, solidImage } from './test-images';

const rekognitionMock = mockClient(RekognitionClient);
const rekognition = new RekognitionClient({
  region: 'us-east-1',
  endpoint: 'http://127.0.0.1:9',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

const BUCKET = 'raw-images';
const KEY = 'uploads/holiday photo.jpg';
const SETTINGS = { maxLabels: 10, minConfidence: 75 };
// Rekognition's documented limit for Image.Bytes: 5 MB of raw bytes.
const FIVE_MB = 5_000_000;
const EMPTY_RESPONSE = { Labels: [], LabelModelVersion: '3.0', $metadata: {} } as DetectLabelsCommandOutput;

interface ObjectReads {
  readObjectStart: jest.Mock<Promise<Buffer>, [number]>;
  readObject: jest.Mock<Promise<Buffer>, []>;
}

/** Builds a request for an object whose content is `body`, with read functions that record their calls. */
function requestFor(
  body: Buffer,
  object: Partial<DetectLabelsRequest['object']> = {},
): DetectLabelsRequest & ObjectReads {
  return {
    rekognition,
    object: { bucket: BUCKET, key: KEY, size: body.length, ...object },
    readObjectStart: jest.fn(async (byteCount: number) => body.subarray(0, byteCount)),
    readObject: jest.fn(async () => body),
    settings: SETTINGS,
    maxInputPixels: 100_000_000,
  };
}

function sentInput(call = 0) {
  return rekognitionMock.commandCalls(DetectLabelsCommand)[call]?.args[0].input;
}

async function sentBytes(call = 0): Promise<Uint8Array> {
  const bytes = sentInput(call)?.Image?.Bytes;
  if (bytes === undefined) throw new Error(`DetectLabels call ${call} carried no Image.Bytes`);
  return bytes;
}

beforeEach(() => {
  rekognitionMock.reset();
  rekognitionMock.on(DetectLabelsCommand).resolves(EMPTY_RESPONSE);
});

describe('detectImageLabels S3Object path', () => {
  it('sends a JPEG as S3Object', async () => {
    await detectImageLabels(requestFor(await solidImage('jpeg')));
    expect(sentInput()).toEqual({
      Image: { S3Object: { Bucket: BUCKET, Name: KEY } },
      MaxLabels: 10,
      MinConfidence: 75,
    });
  });

  it('sends a PNG as S3Object', async () => {
    await detectImageLabels(requestFor(await solidImage('png')));
    expect(sentInput()).toEqual({
      Image: { S3Object: { Bucket: BUCKET, Name: KEY } },
      MaxLabels: 10,
      MinConfidence: 75,
    });
  });

  it('passes the version id as Version', async () => {
    await detectImageLabels(requestFor(await solidImage('jpeg'), { versionId: 'v-42' }));
    expect(rekognitionMock).toHaveReceivedCommandWith(DetectLabelsCommand, {
      Image: { S3Object: { Bucket: BUCKET, Name: KEY, Version: 'v-42' } },
    });
  });

  it('reports the s3-object source', async () => {
    const detection = await detectImageLabels(requestFor(await solidImage('jpeg')));
    expect(detection.imageSource).toBe('s3-object');
  });

  it('reads only the first bytes of a JPEG', async () => {
    const request = requestFor(await solidImage('jpeg'));
    await detectImageLabels(request);
    expect(request.readObject).not.toHaveBeenCalled();
  });

  it('tries S3Object when the size is unknown', async () => {
    await detectImageLabels(requestFor(await solidImage('jpeg'), { size: undefined }));
    expect(sentInput()?.Image?.S3Object).toEqual({ Bucket: BUCKET, Name: KEY });
  });

  it('passes the label settings through', async () => {
    const request = {
      ...requestFor(await solidImage('png')),
      settings: { maxLabels: 3, minConfidence: 42.5 },
    };
    await detectImageLabels(request);
    expect(rekognitionMock).toHaveReceivedCommandWith(DetectLabelsCommand, {
      MaxLabels: 3,
      MinConfidence: 42.5,
    });
  });
});

describe('detectImageLabels Bytes path', () => {
  it.each(['webp', 'tiff', 'gif'] as const)('sends %s as JPEG bytes', async (format) => {
    await detectImageLabels(requestFor(await solidImage(format)));
    expect((await sharp(await sentBytes()).metadata()).format).toBe('jpeg');
  });

  it.each(['webp', 'tiff', 'gif'] as const)('sends no S3Object for %s', async (format) => {
    await detectImageLabels(requestFor(await solidImage(format)));
    expect(sentInput()?.Image?.S3Object).toBeUndefined();
  });

  it('reports the bytes source', async () => {
    const detection = await detectImageLabels(requestFor(await solidImage('webp')));
    expect(detection.imageSource).toBe('bytes');
  });

  it('sends the label settings with bytes', async () => {
    await detectImageLabels(requestFor(await solidImage('webp')));
    expect(rekognitionMock).toHaveReceivedCommandWith(DetectLabelsCommand, {
      MaxLabels: 10,
      MinConfidence: 75,
    });
  });

  describe('object over the 15 MB S3Object limit', () => {
    let oversized: Buffer;

    beforeAll(async () => {
      // Noise as an uncompressed PNG: about 3 bytes per pixel, so 2400x2400 is over 17 MB.
      oversized = await noisePng(2400, 2400);
    });

    it('is over 15 MB', () => {
      expect(oversized.length).toBeGreaterThan(15_000_000);
    });

    it('is sent as bytes without an S3Object attempt', async () => {
      await detectImageLabels(requestFor(oversized));
      expect(rekognitionMock).toHaveReceivedCommandTimes(DetectLabelsCommand, 1);
    });

    it('is sent as a JPEG', async () => {
      await detectImageLabels(requestFor(oversized));
      expect((await sharp(await sentBytes()).metadata()).format).toBe('jpeg');
    });

    it('is sent under 5 MB', async () => {
      await detectImageLabels(requestFor(oversized));
      expect((await sentBytes()).length).toBeLessThan(FIVE_MB);
    });

    it('is not sniffed', async () => {
      const request = requestFor(oversized);
      await detectImageLabels(request);
      expect(request.readObjectStart).not.toHaveBeenCalled();
    });
  });

  it('rejects an empty object as empty without calling Rekognition', async () => {
    await expect(detectImageLabels(requestFor(Buffer.alloc(0)))).rejects.toMatchObject({ reason: 'empty' });
    expect(rekognitionMock).not.toHaveReceivedCommand(DetectLabelsCommand);
  });

  it('rejects an undecodable object as corrupt without calling Rekognition', async () => {
    const webp = await solidImage('webp');
    const truncated = webp.subarray(0, 40);
    await expect(detectImageLabels(requestFor(truncated))).rejects.toMatchObject({ reason: 'corrupt' });
    expect(rekognitionMock).not.toHaveReceivedCommand(DetectLabelsCommand);
  });
});

describe('detectImageLabels fallback from S3Object', () => {
  it.each([
    [
      'InvalidImageFormatException',
      new InvalidImageFormatException({ message: 'bad format', $metadata: {} }),
    ],
    ['ImageTooLargeException', new ImageTooLargeException({ message: 'too large', $metadata: {} })],
    ['InvalidParameterException', new InvalidParameterException({ message: 'invalid', $metadata: {} })],
  ])('retries as bytes after %s', async (_name, rejection) => {
    rekognitionMock.on(DetectLabelsCommand).rejectsOnce(rejection).resolves(EMPTY_RESPONSE);
    await detectImageLabels(requestFor(await solidImage('jpeg')));
    expect((await sharp(await sentBytes(1)).metadata()).format).toBe('jpeg');
  });

  it('reports the bytes source after a fallback', async () => {
    rekognitionMock
      .on(DetectLabelsCommand)
      .rejectsOnce(new InvalidImageFormatException({ message: 'bad format', $metadata: {} }))
      .resolves(EMPTY_RESPONSE);
    const detection = await detectImageLabels(requestFor(await solidImage('png')));
    expect(detection.imageSource).toBe('bytes');
  });

  it('makes two calls on a fallback', async () => {
    rekognitionMock
      .on(DetectLabelsCommand)
      .rejectsOnce(new InvalidImageFormatException({ message: 'bad format', $metadata: {} }))
      .resolves(EMPTY_RESPONSE);
    await detectImageLabels(requestFor(await solidImage('png')));
    expect(rekognitionMock).toHaveReceivedCommandTimes(DetectLabelsCommand, 2);
  });
});

describe('detectImageLabels error mapping', () => {
  it.each([
    [
      'InvalidImageFormatException',
      new InvalidImageFormatException({ message: 'x', $metadata: {} }),
      'unsupported-format',
    ],
    ['ImageTooLargeException', new ImageTooLargeException({ message: 'x', $metadata: {} }), 'too-large'],
    [
      'InvalidParameterException',
      new InvalidParameterException({ message: 'x', $metadata: {} }),
      'unsupported-format',
    ],
  ])('maps %s on the bytes path to InvalidImageError', async (_name, rejection, reason) => {
    rekognitionMock.on(DetectLabelsCommand).rejects(rejection);
    await expect(detectImageLabels(requestFor(await solidImage('webp')))).rejects.toMatchObject({
      name: 'InvalidImageError',
      reason,
    });
  });

  it('keeps the Rekognition error as the cause', async () => {
    const rejection = new InvalidImageFormatException({ message: 'unsupported', $metadata: {} });
    rekognitionMock.on(DetectLabelsCommand).rejects(rejection);
    await expect(detectImageLabels(requestFor(await solidImage('webp')))).rejects.toMatchObject({
      cause: rejection,
    });
  });

  it('maps a rejection after the fallback to InvalidImageError', async () => {
    rekognitionMock
      .on(DetectLabelsCommand)
      .rejects(new InvalidImageFormatException({ message: 'x', $metadata: {} }));
    await expect(detectImageLabels(requestFor(await solidImage('jpeg')))).rejects.toBeInstanceOf(
      InvalidImageError,
    );
  });

  const timeout = Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
  const retryable: Array<[string, Error]> = [
    ['ThrottlingException', new ThrottlingException({ message: 'slow down', $metadata: {} })],
    [
      'ProvisionedThroughputExceededException',
      new ProvisionedThroughputExceededException({ message: 'too many requests', $metadata: {} }),
    ],
    ['InternalServerError', new InternalServerError({ message: 'service issue', $metadata: {} })],
    ['a timeout', timeout],
    ['AccessDeniedException', new AccessDeniedException({ message: 'denied', $metadata: {} })],
    ['InvalidS3ObjectException', new InvalidS3ObjectException({ message: 'cannot read', $metadata: {} })],
  ];

  it.each(retryable)('re-throws %s from the S3Object path unchanged', async (_name, rejection) => {
    rekognitionMock.on(DetectLabelsCommand).rejects(rejection);
    await expect(detectImageLabels(requestFor(await solidImage('jpeg')))).rejects.toBe(rejection);
  });

  it.each(retryable)('re-throws %s from the bytes path unchanged', async (_name, rejection) => {
    rekognitionMock.on(DetectLabelsCommand).rejects(rejection);
    await expect(detectImageLabels(requestFor(await solidImage('webp')))).rejects.toBe(rejection);
  });

  it('does not fall back after throttling', async () => {
    rekognitionMock.on(DetectLabelsCommand).rejects(new ThrottlingException({ message: 'x', $metadata: {} }));
    await expect(detectImageLabels(requestFor(await solidImage('jpeg')))).rejects.toThrow();
    expect(rekognitionMock).toHaveReceivedCommandTimes(DetectLabelsCommand, 1);
  });

  it('re-throws an S3 read failure unchanged', async () => {
    const readFailure = Object.assign(new Error('slow down'), { name: 'SlowDown' });
    const request = requestFor(await solidImage('webp'));
    request.readObject.mockRejectedValue(readFailure);
    await expect(detectImageLabels(request)).rejects.toBe(readFailure);
  });

  it('rejects maxLabels above 1000 before calling Rekognition', async () => {
    const request = {
      ...requestFor(await solidImage('jpeg')),
      settings: { maxLabels: 1001, minConfidence: 75 },
    };
    await expect(detectImageLabels(request)).rejects.toBeInstanceOf(RangeError);
    expect(rekognitionMock).not.toHaveReceivedCommand(DetectLabelsCommand);
  });

  it('rejects minConfidence above 100 before calling Rekognition', async () => {
    const request = {
      ...requestFor(await solidImage('jpeg')),
      settings: { maxLabels: 10, minConfidence: 101 },
    };
    await expect(detectImageLabels(request)).rejects.toBeInstanceOf(RangeError);
    expect(rekognitionMock).not.toHaveReceivedCommand(DetectLabelsCommand);
  });
});

describe('detectImageLabels response mapping', () => {
  // Shaped as the example response in the Rekognition Developer Guide ("DetectLabels response"), shortened to a few
  // labels and instances, with the Aliases and Categories fields that the API reference's Label type adds.
  const documentedResponse = {
    Labels: [
      {
        Name: 'Vehicle',
        Confidence: 99.15271759033203,
        Instances: [],
        Parents: [{ Name: 'Transportation' }],
      },
      {
        Name: 'Car',
        Confidence: 99.15271759033203,
        Instances: [
          {
            BoundingBox: {
              Width: 0.10616336017847061,
              Height: 0.18528179824352264,
              Left: 0.0037978808395564556,
              Top: 0.5039216876029968,
            },
            Confidence: 99.15271759033203,
          },
          {
            BoundingBox: {
              Width: 0.2429988533258438,
              Height: 0.21577216684818268,
              Left: 0.7309805154800415,
              Top: 0.5251884460449219,
            },
            Confidence: 99.1286392211914,
          },
        ],
        Parents: [{ Name: 'Vehicle' }, { Name: 'Transportation' }],
        Aliases: [{ Name: 'Automobile' }],
        Categories: [{ Name: 'Vehicles and Automotive' }],
      },
      {
        Name: 'Person',
        Confidence: 98.9914321899414,
        Instances: [
          {
            BoundingBox: {
              Width: 0.19360728561878204,
              Height: 0.2742200493812561,
              Left: 0.43734854459762573,
              Top: 0.35072067379951477,
            },
            Confidence: 98.9914321899414,
          },
        ],
        Parents: [],
        Categories: [{ Name: 'Person Description' }],
      },
      { Name: 'Pedestrian', Confidence: 50.64869689941406, Instances: [], Parents: [{ Name: 'Person' }] },
      { Name: 'Transportation', Confidence: 99.6, Instances: [], Parents: [] },
    ],
    LabelModelVersion: '2.0',
    $metadata: {},
  } as DetectLabelsCommandOutput;

  async function detectDocumented() {
    rekognitionMock.on(DetectLabelsCommand).resolves(documentedResponse);
    return detectImageLabels(requestFor(await solidImage('jpeg')));
  }

  it('sorts labels by confidence', async () => {
    const { labels } = await detectDocumented();
    expect(labels.map((label) => label.name)).toEqual([
      'Transportation',
      'Vehicle',
      'Car',
      'Person',
      'Pedestrian',
    ]);
  });

  it('maps a label with instances', async () => {
    const { labels } = await detectDocumented();
    expect(labels.find((label) => label.name === 'Car')).toEqual({
      name: 'Car',
      confidence: 99.15271759033203,
      parents: ['Vehicle', 'Transportation'],
      categories: ['Vehicles and Automotive'],
      instances: [
        {
          confidence: 99.15271759033203,
          boundingBox: {
            width: 0.10616336017847061,
            height: 0.18528179824352264,
            left: 0.0037978808395564556,
            top: 0.5039216876029968,
          },
        },
        {
          confidence: 99.1286392211914,
          boundingBox: {
            width: 0.2429988533258438,
            height: 0.21577216684818268,
            left: 0.7309805154800415,
            top: 0.5251884460449219,
          },
        },
      ],
    });
  });

  it('maps a label without categories to an empty list', async () => {
    const { labels } = await detectDocumented();
    expect(labels.find((label) => label.name === 'Pedestrian')?.categories).toEqual([]);
  });

  it('maps a label without instances to an empty list', async () => {
    const { labels } = await detectDocumented();
    expect(labels.find((label) => label.name === 'Vehicle')?.instances).toEqual([]);
  });

  it('returns the label model version', async () => {
    const detection = await detectDocumented();
    expect(detection.labelModelVersion).toBe('2.0');
  });

  it('returns no labels for a response without Labels', async () => {
    rekognitionMock.on(DetectLabelsCommand).resolves({ $metadata: {} });
    const detection = await detectImageLabels(requestFor(await solidImage('jpeg')));
    expect(detection.labels).toEqual([]);
  });

  it('drops labels without a name', async () => {
    rekognitionMock.on(DetectLabelsCommand).resolves({ Labels: [{ Confidence: 80 }], $metadata: {} });
    const detection = await detectImageLabels(requestFor(await solidImage('jpeg')));
    expect(detection.labels).toEqual([]);
  });
});

describe('detectImageLabels with fixtures', () => {
  it.each([
    ['orientation/Landscape_6.jpg', 's3-object'],
    ['formats/png_rgba_cutout.png', 's3-object'],
    ['formats/webp_lossy_photo.webp', 'bytes'],
    ['formats/tiff_rgb16_uncompressed.tif', 'bytes'],
    ['formats/animated_rotating_squares.gif', 'bytes'],
    ['formats/avif_hopper.avif', 'bytes'],
    ['formats/svg_check.svg', 'unsupported-format'],
    ['broken/truncated.png', 's3-object'],
    ['broken/empty.jpg', 'empty'],
  ])('handles %s as %s', async (file, expected) => {
    const request = requestFor(await readFile(fixture(file)));
    const outcome = await detectImageLabels(request).then(
      (detection) => detection.imageSource as string,
      (error: unknown) => (error instanceof InvalidImageError ? error.reason : String(error)),
    );
    expect(outcome).toBe(expected);
  });

  it('maps a truncated JPEG that Rekognition rejects to corrupt', async () => {
    rekognitionMock
      .on(DetectLabelsCommand)
      .rejects(new InvalidImageFormatException({ message: 'x', $metadata: {} }));
    const request = requestFor(await readFile(fixture('broken/truncated.jpg')));
    await expect(detectImageLabels(request)).rejects.toMatchObject({ reason: 'corrupt' });
  });
});

describeWithSharedImages('detectImageLabels with the shared corpus', () => {
  it('rejects an HEVC-coded HEIC as unsupported-format', async () => {
    const request = requestFor(await readFile(sharedImage('camera/iphone11_gps.heic')));
    await expect(detectImageLabels(request)).rejects.toMatchObject({ reason: 'unsupported-format' });
  });
});
