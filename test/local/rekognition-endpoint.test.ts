import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DetectFacesCommand,
  DetectLabelsCommand,
  type DetectLabelsCommandInput,
  type Label,
  RekognitionClient,
} from '@aws-sdk/client-rekognition';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { type LocalRekognition, startLocalRekognition } from '../../local/rekognition';
import { describeWithSharedImages, fixture, sharedImage } from '../support/shared-images';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;
// s3rver ships no type declarations.
const S3rver = require('s3rver') as S3rverConstructor;

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
// s3rver accepts only its built-in access key.
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const REGION = 'us-east-1';
const BUCKET = 'raw-images';
const SAMPLES_DIR = path.resolve(__dirname, '..', '..', 'samples');

let s3rverDir: string;
let s3rver: S3rverInstance;
let s3: S3Client;
let endpoint: LocalRekognition;
let rekognition: RekognitionClient;
const logLines: string[] = [];

beforeAll(async () => {
  s3rverDir = await mkdtemp(path.join(tmpdir(), 'rekognition-s3rver-'));
  s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: s3rverDir,
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await s3rver.run();
  const s3Endpoint = `http://127.0.0.1:${port}`;
  s3 = new S3Client({
    endpoint: s3Endpoint,
    region: REGION,
    credentials: S3RVER_CREDENTIALS,
    forcePathStyle: true,
  });

  endpoint = await startLocalRekognition({
    s3: { endpoint: s3Endpoint, region: REGION, credentials: S3RVER_CREDENTIALS },
    log: (line) => logLines.push(line),
  });
  rekognition = new RekognitionClient({ endpoint: endpoint.url, region: REGION, credentials: CREDENTIALS });
});

afterAll(async () => {
  rekognition.destroy();
  s3.destroy();
  await endpoint.close();
  await s3rver.close();
  await rm(s3rverDir, { recursive: true, force: true });
});

function detectLabels(input: DetectLabelsCommandInput) {
  return rekognition.send(new DetectLabelsCommand(input));
}

async function putObject(key: string, body: Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

function names(labels: Label[] | undefined): string[] {
  return (labels ?? []).map((label) => label.Name ?? '');
}

function labelNamed(labels: Label[] | undefined, name: string): Label | undefined {
  return (labels ?? []).find((label) => label.Name === name);
}

describe('local Rekognition endpoint', () => {
  it('listens on 127.0.0.1', () => {
    expect(new URL(endpoint.url).hostname).toBe('127.0.0.1');
  });

  it('answers DetectLabels with a LabelModelVersion', async () => {
    const blank = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const response = await detectLabels({ Image: { Bytes: blank } });
    expect(response.LabelModelVersion).toEqual(expect.any(String));
  });

  it('reads an image from S3Object', async () => {
    const blank = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    await putObject('blank.jpg', blank);
    const response = await detectLabels({ Image: { S3Object: { Bucket: BUCKET, Name: 'blank.jpg' } } });
    expect(response.Labels).toEqual(expect.any(Array));
  });

  it('rejects a corrupt JPEG with InvalidImageFormatException', async () => {
    const corrupt = await readFile(fixture('broken/corrupt_header.jpg'));
    await expect(detectLabels({ Image: { Bytes: corrupt } })).rejects.toMatchObject({
      name: 'InvalidImageFormatException',
    });
  });

  it('rejects a truncated JPEG with InvalidImageFormatException', async () => {
    const truncated = await readFile(fixture('broken/truncated.jpg'));
    await expect(detectLabels({ Image: { Bytes: truncated } })).rejects.toMatchObject({
      name: 'InvalidImageFormatException',
    });
  });

  it('rejects WebP with InvalidImageFormatException', async () => {
    const webp = await readFile(fixture('formats/webp_lossy_photo.webp'));
    await expect(detectLabels({ Image: { Bytes: webp } })).rejects.toMatchObject({
      name: 'InvalidImageFormatException',
    });
  });

  it('rejects a missing S3 object with InvalidS3ObjectException', async () => {
    await expect(
      detectLabels({ Image: { S3Object: { Bucket: BUCKET, Name: 'no/such/object.jpg' } } }),
    ).rejects.toMatchObject({ name: 'InvalidS3ObjectException' });
  });

  it('rejects a missing bucket with InvalidS3ObjectException', async () => {
    await expect(
      detectLabels({ Image: { S3Object: { Bucket: 'no-such-bucket', Name: 'photo.jpg' } } }),
    ).rejects.toMatchObject({ name: 'InvalidS3ObjectException' });
  });

  it('rejects an image under 80 pixels with InvalidParameterException', async () => {
    const tiny = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    await expect(detectLabels({ Image: { Bytes: tiny } })).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
  });

  it('rejects an image over 10,000 pixels with ImageTooLargeException', async () => {
    const wide = await sharp({ create: { width: 10_001, height: 100, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    await expect(detectLabels({ Image: { Bytes: wide } })).rejects.toMatchObject({
      name: 'ImageTooLargeException',
    });
  });

  it('rejects MinConfidence over 100 with InvalidParameterException', async () => {
    const blank = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    await expect(detectLabels({ Image: { Bytes: blank }, MinConfidence: 101 })).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
  });

  it('rejects an Image without Bytes or S3Object with InvalidParameterException', async () => {
    await expect(detectLabels({ Image: {} })).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });

  it('rejects other operations with UnknownOperationException', async () => {
    const blank = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    await expect(rekognition.send(new DetectFacesCommand({ Image: { Bytes: blank } }))).rejects.toMatchObject(
      {
        name: 'UnknownOperationException',
      },
    );
  });

  describe('wire protocol', () => {
    async function postDetectLabels(body: string) {
      return fetch(`${endpoint.url}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'RekognitionService.DetectLabels',
        },
        body,
      });
    }

    it('answers with the JSON 1.1 content type', async () => {
      const blank = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#808080' } })
        .png()
        .toBuffer();
      const response = await postDetectLabels(JSON.stringify({ Image: { Bytes: blank.toString('base64') } }));
      expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    });

    it('returns HTTP 400 for an undecodable image', async () => {
      const response = await postDetectLabels(
        JSON.stringify({ Image: { Bytes: Buffer.from('not an image').toString('base64') } }),
      );
      expect(response.status).toBe(400);
    });

    it('names the error in __type', async () => {
      const response = await postDetectLabels(
        JSON.stringify({ Image: { Bytes: Buffer.from('not an image').toString('base64') } }),
      );
      expect(await response.json()).toMatchObject({
        __type: 'InvalidImageFormatException',
        Message: expect.any(String),
      });
    });

    it('rejects a body that is not JSON with SerializationException', async () => {
      const response = await postDetectLabels('{not json');
      expect(await response.json()).toMatchObject({ __type: 'SerializationException' });
    });
  });

  it('logs one line per request', async () => {
    const before = logLines.length;
    await expect(detectLabels({ Image: {} })).rejects.toThrow();
    expect(logLines.length - before).toBe(1);
  });
});

describe('local Rekognition endpoint with the samples', () => {
  let personDogHorse: Buffer;
  let coffeeCup: Buffer;

  beforeAll(async () => {
    personDogHorse = await readFile(path.join(SAMPLES_DIR, 'person_dog_horse.jpg'));
    coffeeCup = await readFile(path.join(SAMPLES_DIR, 'coffee_cup.png'));
    await putObject('samples/person dog horse.jpg', personDogHorse);
  });

  it('finds Person and Dog in person_dog_horse.jpg from bytes', async () => {
    const response = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 25 });
    expect(names(response.Labels)).toEqual(expect.arrayContaining(['Person', 'Dog']));
  });

  it('finds Person and Dog in person_dog_horse.jpg from S3Object', async () => {
    const response = await detectLabels({
      Image: { S3Object: { Bucket: BUCKET, Name: 'samples/person dog horse.jpg' } },
      MinConfidence: 25,
    });
    expect(names(response.Labels)).toEqual(expect.arrayContaining(['Person', 'Dog']));
  });

  it('finds Cup in coffee_cup.png', async () => {
    const response = await detectLabels({ Image: { Bytes: coffeeCup }, MinConfidence: 25 });
    expect(names(response.Labels)).toContain('Cup');
  });

  it('gives Dog the parents Animal, Canine, Mammal and Pet', async () => {
    const response = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 25 });
    const parents = names(labelNamed(response.Labels, 'Dog')?.Parents);
    expect(parents.sort()).toEqual(['Animal', 'Canine', 'Mammal', 'Pet']);
  });

  it('gives Person no parents', async () => {
    const response = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 25 });
    expect(labelNamed(response.Labels, 'Person')?.Parents).toEqual([]);
  });

  it('returns ancestors as labels of their own', async () => {
    const response = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 25 });
    expect(names(response.Labels)).toContain('Animal');
  });

  it('gives the standing person a box taller than wide', async () => {
    const response = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 25 });
    const box = labelNamed(response.Labels, 'Person')?.Instances?.[0]?.BoundingBox;
    expect(box?.Height ?? 0).toBeGreaterThan(box?.Width ?? 0);
  });

  it('keeps bounding boxes inside the image', async () => {
    const response = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 5 });
    const edges = (response.Labels ?? []).flatMap((label) =>
      (label.Instances ?? []).flatMap(({ BoundingBox: box }) => [
        box?.Left ?? -1,
        box?.Top ?? -1,
        (box?.Left ?? 0) + (box?.Width ?? 2),
        (box?.Top ?? 0) + (box?.Height ?? 2),
      ]),
    );
    expect(edges.every((edge) => edge >= 0 && edge <= 1)).toBe(true);
  });

  it('returns confidences from 0 to 100', async () => {
    const response = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 5 });
    const confidences = (response.Labels ?? []).map((label) => label.Confidence ?? -1);
    expect(confidences.every((confidence) => confidence >= 5 && confidence <= 100)).toBe(true);
  });

  it('honours MaxLabels', async () => {
    const response = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 5, MaxLabels: 2 });
    expect(response.Labels).toHaveLength(2);
  });

  it('returns the most confident labels under MaxLabels', async () => {
    const all = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 5 });
    const top = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 5, MaxLabels: 1 });
    const best = Math.max(...(all.Labels ?? []).map((label) => label.Confidence ?? 0));
    expect(top.Labels?.[0]?.Confidence).toBe(best);
  });

  it('honours MinConfidence', async () => {
    const response = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 50 });
    const confidences = (response.Labels ?? []).map((label) => label.Confidence ?? 0);
    expect(confidences.every((confidence) => confidence >= 50)).toBe(true);
  });

  it('returns fewer labels at a higher MinConfidence', async () => {
    const low = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 5 });
    const high = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 50 });
    expect(high.Labels?.length ?? 0).toBeLessThan(low.Labels?.length ?? 0);
  });

  it('sorts labels by confidence', async () => {
    const response = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 5 });
    const confidences = (response.Labels ?? []).map((label) => label.Confidence ?? 0);
    expect(confidences).toEqual([...confidences].sort((a, b) => b - a));
  });

  it('matches concurrent requests to their images', async () => {
    const personAlone = await detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 5 });
    const cupAlone = await detectLabels({ Image: { Bytes: coffeeCup }, MinConfidence: 5 });

    const [person, cup] = await Promise.all([
      detectLabels({ Image: { Bytes: personDogHorse }, MinConfidence: 5 }),
      detectLabels({ Image: { Bytes: coffeeCup }, MinConfidence: 5 }),
    ]);
    expect(names(person.Labels)).toContain('Person');
    expect(names(cup.Labels)).toContain('Cup');
    expect(person.Labels).toEqual(personAlone.Labels);
    expect(cup.Labels).toEqual(cupAlone.Labels);
  });
});

describe('local Rekognition endpoint when its label worker crashes', () => {
  let coffeeCup: Buffer;

  beforeAll(async () => {
    coffeeCup = await readFile(path.join(SAMPLES_DIR, 'coffee_cup.png'));
  });

  // Raw HTTP, because the AWS SDK retries InternalServerError and would hide the first response.
  function postDetectLabels(image: Buffer) {
    return fetch(`${endpoint.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'RekognitionService.DetectLabels',
      },
      body: JSON.stringify({ Image: { Bytes: image.toString('base64') } }),
    });
  }

  it('returns HTTP 500 for the request in flight', async () => {
    endpoint.labelModel.injectCrashOnNextDetection();
    const response = await postDetectLabels(coffeeCup);
    expect(response.status).toBe(500);
  });

  it('names InternalServerError in __type', async () => {
    endpoint.labelModel.injectCrashOnNextDetection();
    const response = await postDetectLabels(coffeeCup);
    expect(await response.json()).toMatchObject({ __type: 'InternalServerError' });
  });

  it('answers the next request after a crash', async () => {
    endpoint.labelModel.injectCrashOnNextDetection();
    await postDetectLabels(coffeeCup);
    const response = await detectLabels({ Image: { Bytes: coffeeCup }, MinConfidence: 25 });
    expect(names(response.Labels)).toContain('Cup');
  });

  it('logs the crash', async () => {
    endpoint.labelModel.injectCrashOnNextDetection();
    await postDetectLabels(coffeeCup);
    expect(logLines.some((line) => /label worker 1 stopped \(exit code 1/.test(line))).toBe(true);
  });
});

describeWithSharedImages('local Rekognition endpoint with the shared corpus', () => {
  it('groups the cars on a highway into one label with several instances', async () => {
    const highway = await readFile(sharedImage('subjects/road_highway_traffic.jpg'));
    const response = await detectLabels({ Image: { Bytes: highway }, MinConfidence: 10 });
    expect(labelNamed(response.Labels, 'Car')?.Instances?.length ?? 0).toBeGreaterThan(1);
  });

  it('returns one label per name', async () => {
    const highway = await readFile(sharedImage('subjects/road_highway_traffic.jpg'));
    const response = await detectLabels({ Image: { Bytes: highway }, MinConfidence: 5 });
    expect(new Set(names(response.Labels)).size).toBe(response.Labels?.length);
  });
});
