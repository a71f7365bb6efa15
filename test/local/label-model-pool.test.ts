import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { LabelModelPool } from '../../local/rekognition/label-model-pool';
import type { DetectedObject, RgbImage } from '../../local/rekognition/object-detector';

const SAMPLES_DIR = path.resolve(__dirname, '..', '..', 'samples');

/** Decodes a sample upright to RGB, as the endpoint does before it calls the pool. */
async function decodeSample(name: string): Promise<RgbImage> {
  const { data, info } = await sharp(path.join(SAMPLES_DIR, name))
    .rotate()
    .resize(1024, 1024, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function classNames(objects: DetectedObject[]): string[] {
  return objects.map((object) => object.className);
}

let personDogHorse: RgbImage;
let coffeeCup: RgbImage;

beforeAll(async () => {
  personDogHorse = await decodeSample('person_dog_horse.jpg');
  coffeeCup = await decodeSample('coffee_cup.png');
});

describe('LabelModelPool with one worker', () => {
  let pool: LabelModelPool;
  const logLines: string[] = [];
  let personDogHorseAlone: DetectedObject[];
  let coffeeCupAlone: DetectedObject[];

  beforeAll(async () => {
    pool = await LabelModelPool.start({ workers: 1, log: (line) => logLines.push(line) });
    personDogHorseAlone = await pool.detect(personDogHorse);
    coffeeCupAlone = await pool.detect(coffeeCup);
  });

  afterAll(async () => {
    await pool.close();
  });

  it('finds a person in person_dog_horse.jpg', () => {
    expect(classNames(personDogHorseAlone)).toContain('person');
  });

  it('finds a cup in coffee_cup.png', () => {
    expect(classNames(coffeeCupAlone)).toContain('cup');
  });

  it('matches concurrent detections to their images', async () => {
    const [first, second] = await Promise.all([pool.detect(personDogHorse), pool.detect(coffeeCup)]);
    expect(first).toEqual(personDogHorseAlone);
    expect(second).toEqual(coffeeCupAlone);
  });

  it('fails in-flight detections on a crash', async () => {
    pool.injectCrashOnNextDetection();
    const crashed = pool.detect(personDogHorse);
    const alsoInWorker = pool.detect(coffeeCup);
    await expect(crashed).rejects.toMatchObject({ code: 'InternalServerError', statusCode: 500 });
    await expect(alsoInWorker).rejects.toMatchObject({ code: 'InternalServerError', statusCode: 500 });
  });

  it('detects again after a crash', async () => {
    pool.injectCrashOnNextDetection();
    await expect(pool.detect(coffeeCup)).rejects.toMatchObject({ code: 'InternalServerError' });
    await expect(pool.detect(personDogHorse)).resolves.toEqual(personDogHorseAlone);
  });

  it('runs a queued detection on the restarted worker', async () => {
    pool.injectCrashOnNextDetection();
    // Two detections fill the worker; the third waits in the pool while the worker crashes.
    const inWorker = [pool.detect(coffeeCup), pool.detect(coffeeCup)];
    const queued = pool.detect(personDogHorse);
    await Promise.allSettled(inWorker);
    await expect(queued).resolves.toEqual(personDogHorseAlone);
  });

  it('names the crash in its error message', async () => {
    pool.injectCrashOnNextDetection();
    await expect(pool.detect(coffeeCup)).rejects.toThrow(
      /worker thread stopped \(exit code 1, .*crash injected/,
    );
  });

  it('logs the restart of a crashed worker', async () => {
    pool.injectCrashOnNextDetection();
    await expect(pool.detect(coffeeCup)).rejects.toThrow();
    await pool.detect(coffeeCup);
    expect(logLines.some((line) => line.includes('label worker 1 restarted'))).toBe(true);
  });
});

describe('LabelModelPool with two workers', () => {
  let pool: LabelModelPool;

  beforeAll(async () => {
    pool = await LabelModelPool.start({ workers: 2 });
  });

  afterAll(async () => {
    await pool.close();
  });

  it('matches one worker detecting in turn', async () => {
    const single = await LabelModelPool.start({ workers: 1 });
    const alone = [await single.detect(personDogHorse), await single.detect(coffeeCup)];
    await single.close();

    const concurrent = await Promise.all([
      pool.detect(personDogHorse),
      pool.detect(coffeeCup),
      pool.detect(personDogHorse),
      pool.detect(coffeeCup),
    ]);
    expect(concurrent).toEqual([...alone, ...alone]);
  });
});

describe('LabelModelPool start and close', () => {
  let emptyDir: string;

  beforeAll(async () => {
    emptyDir = await mkdtemp(path.join(tmpdir(), 'label-models-'));
  });

  afterAll(async () => {
    await rm(emptyDir, { recursive: true, force: true });
  });

  it('names a missing model file', async () => {
    await expect(LabelModelPool.start({ modelsDir: emptyDir })).rejects.toThrow(
      path.join(emptyDir, 'centernet.json'),
    );
  });

  it('rejects a start with zero workers', async () => {
    await expect(LabelModelPool.start({ workers: 0 })).rejects.toThrow(/positive integer, got 0/);
  });

  it('fails in-flight detections on close', async () => {
    const pool = await LabelModelPool.start();
    const rejection = expect(pool.detect(personDogHorse)).rejects.toMatchObject({
      code: 'InternalServerError',
    });
    await pool.close();
    await rejection;
  });

  it('rejects a detection after close', async () => {
    const pool = await LabelModelPool.start();
    await pool.close();
    await expect(pool.detect(coffeeCup)).rejects.toMatchObject({ code: 'InternalServerError' });
  });
});
