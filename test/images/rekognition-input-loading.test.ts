import { readFile } from 'node:fs/promises';
import { fixture } from '../support/shared-images';

// analyzeImage imports rekognition-input at cold start, so that module must not load sharp until a conversion runs.
describe('rekognition-input module loading', () => {
  let sharpLoads: number;

  beforeEach(() => {
    jest.resetModules();
    sharpLoads = 0;
    jest.doMock('sharp', () => {
      sharpLoads += 1;
      return jest.requireActual('sharp');
    });
  });

  afterEach(() => {
    jest.dontMock('sharp');
  });

  it('leaves sharp unloaded on import', () => {
    require('../../src/images/rekognition-input');

    expect(sharpLoads).toBe(0);
  });

  it('loads sharp on the first conversion', async () => {
    const { prepareRekognitionBytes } =
      require('../../src/images/rekognition-input') as typeof import('../../src/images/rekognition-input');
    const photo = await readFile(fixture('formats/webp_lossy_photo.webp'));

    await prepareRekognitionBytes(photo, 100_000_000);

    expect(sharpLoads).toBe(1);
  });
});
