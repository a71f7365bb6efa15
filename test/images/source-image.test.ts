import { readFileSync } from 'node:fs';
import { DEFAULT_THUMBNAIL_SETTINGS } from '../../src/config';
import { InvalidImageError } from '../../src/errors';
import { prepareRekognitionBytes } from '../../src/images/rekognition-input';
import { createThumbnail } from '../../src/images/thumbnail';
import { describeWithSharedImages, fixture, sharedImage } from '../support/shared-images';

async function rejectionOf(work: Promise<unknown>): Promise<InvalidImageError> {
  const error = await work.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(InvalidImageError);
  return error as InvalidImageError;
}

// Both steps read every original, so a file one of them rejects must be rejected by the other for the same reason.
async function expectSameRejection(file: string): Promise<void> {
  const input = readFileSync(file);
  const limit = DEFAULT_THUMBNAIL_SETTINGS.maxInputPixels;

  const thumbnailError = await rejectionOf(createThumbnail(input, DEFAULT_THUMBNAIL_SETTINGS));
  const labelError = await rejectionOf(prepareRekognitionBytes(input, limit));

  expect(labelError.reason).toBe(thumbnailError.reason);
  expect(labelError.message).toBe(thumbnailError.message);
}

describe('source image gate', () => {
  it.each([
    'broken/empty.jpg',
    'broken/truncated.jpg',
    'broken/corrupt_header.jpg',
    'broken/png_bomb_65536x65536.png',
    'formats/svg_check.svg',
  ])('rejects %s the same way in both steps', async (name) => {
    await expectSameRejection(fixture(name));
  });
});

describeWithSharedImages('source image gate on the extended corpus', () => {
  it('rejects HEIC the same way in both steps', async () => {
    await expectSameRejection(sharedImage('camera/iphone11_gps.heic'));
  });
});
