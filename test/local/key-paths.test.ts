import { decodeObjectKeyPath, encodeObjectKeyPath, routableObjectPath } from '../../local/s3/key-paths';

// S3 allows any UTF-8 key of up to 1024 bytes (S3 user guide, "Naming Amazon S3 objects").
const KEYS = [
  'photo.jpg',
  'uploads/VJ9B4951 - Copy (2).jpg',
  'café/写真 ☕.png',
  '../escape.jpg',
  'a/./b/../c.jpg',
  '/leading.jpg',
  'double//slash.jpg',
  'trailing/',
  'z._S3rver_object/y',
  '100%&+#?.jpg',
  `${'k'.repeat(300)}.jpg`,
  `${'é'.repeat(500)}`,
];

describe('object key paths', () => {
  it.each(KEYS)('round-trips %s', (key) => {
    expect(decodeObjectKeyPath(encodeObjectKeyPath(key).join('/'))).toBe(key);
  });

  it.each(KEYS)('keeps %s inside its bucket folder', (key) => {
    for (const part of encodeObjectKeyPath(key)) {
      expect(['.', '..']).not.toContain(part);
    }
  });

  it.each(KEYS)('keeps every file name of %s under 255 bytes', (key) => {
    const longest = Math.max(...encodeObjectKeyPath(key).map((part) => Buffer.byteLength(part)));
    // s3rver's longest suffix is `._S3rver_metadata.json`.
    expect(longest + Buffer.byteLength('._S3rver_metadata.json')).toBeLessThanOrEqual(255);
  });

  it('gives different keys different paths', () => {
    const paths = KEYS.map((key) => encodeObjectKeyPath(key).join('/'));

    expect(new Set(paths).size).toBe(KEYS.length);
  });

  it('keeps ordinary names readable', () => {
    expect(encodeObjectKeyPath('uploads/dog_bicycle_truck.jpg')).toEqual([
      'uploads',
      'dog_bicycle_truck.jpg',
    ]);
  });
});

describe('routableObjectPath', () => {
  it.each([
    ['/bucket/photo.jpg', '/bucket/photo.jpg'],
    ['/bucket//leading.jpg', '/bucket/%2Fleading.jpg'],
    ['/bucket/double//slash.jpg', '/bucket/double%2F/slash.jpg'],
    ['/bucket', '/bucket'],
  ])('rewrites %s to %s', (input, expected) => {
    expect(routableObjectPath(input)).toBe(expected);
  });
});
