import { existsSync } from 'node:fs';
import path from 'node:path';

/** The extended test corpus beside the checkout; a fresh clone does not have it. */
export const SHARED_IMAGES_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'images');
export const hasSharedImages = existsSync(SHARED_IMAGES_DIR);

/** Absolute path of a file in the extended corpus, such as `orientation/Landscape_6.jpg`. */
export function sharedImage(relativePath: string): string {
  return path.join(SHARED_IMAGES_DIR, relativePath);
}

/**
 * `describe` for tests that need the extended corpus: jest reports them as skipped, with the folder named in the
 * title, when it is absent.
 */
export const describeWithSharedImages: jest.Describe = hasSharedImages
  ? describe
  : (Object.assign(
      (name: string, fn: jest.EmptyFunction) =>
        describe.skip(`${name} (skipped: ${SHARED_IMAGES_DIR} not found)`, fn),
      describe,
    ) as unknown as jest.Describe);

export const FIXTURES_DIR = path.resolve(__dirname, '..', 'fixtures');

export function fixture(relativePath: string): string {
  return path.join(FIXTURES_DIR, relativePath);
}
