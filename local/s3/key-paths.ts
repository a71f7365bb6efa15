import path from 'node:path';

/**
 * Maps S3 object keys to file paths under s3rver's data folder, and back. s3rver 3.7.1 uses the key itself as the
 * path, so keys that S3 stores as ordinary names broke it. `..` segments wrote outside the bucket folder, and empty
 * segments (`/a`, `a//b`) collapsed into other keys. A segment over the 255-byte file name limit crashed the process
 * (ENAMETOOLONG), and a key containing `._S3rver_object/` collided with s3rver's own file names (EISDIR).
 *
 * Each segment is escaped instead: `&` plus two hexadecimal digits for every byte outside a safe set, `&-` for an
 * empty segment, and segments longer than MAX_SEGMENT_CHARACTERS are split into folders with `&+` ending each
 * continued part. Ordinary names (letters, digits, `-`, `_`, `.`, spaces) stay readable.
 */

// Leaves room for s3rver's longest suffix (`._S3rver_metadata.json`, 22 bytes) within 255-byte file names.
const MAX_SEGMENT_CHARACTERS = 200;
const SAFE_CHARACTER = /^[A-Za-z0-9 _.,()=@!'~+-]$/;
const RESERVED_SUFFIX = '._S3rver_';

function escapeByte(byte: number): string {
  return `&${byte.toString(16).padStart(2, '0')}`;
}

function escapeSegment(segment: string): string {
  let escaped = '';
  for (const character of segment) {
    if (SAFE_CHARACTER.test(character)) escaped += character;
    else for (const byte of Buffer.from(character, 'utf8')) escaped += escapeByte(byte);
  }
  // `.` and `..` would be resolved as folders, and s3rver's suffix inside a name could collide with its own files.
  if (/^\.+$/.test(escaped)) escaped = escaped.replace(/\./g, escapeByte(0x2e));
  return escaped.split(RESERVED_SUFFIX).join(`${escapeByte(0x2e)}_S3rver_`);
}

/** Splits an escaped segment into parts of at most MAX_SEGMENT_CHARACTERS, never inside an `&xx` escape. */
function splitLongSegment(escaped: string): string[] {
  const parts: string[] = [];
  let rest = escaped;
  while (rest.length > MAX_SEGMENT_CHARACTERS) {
    let cut = MAX_SEGMENT_CHARACTERS - 2;
    const escapeStart = rest.lastIndexOf('&', cut);
    if (escapeStart > cut - 3) cut = escapeStart;
    parts.push(`${rest.slice(0, cut)}&+`);
    rest = rest.slice(cut);
  }
  parts.push(rest);
  return parts;
}

/**
 * Returns the folders and file name prefix of an object key, relative to its bucket folder. The last element is the
 * name s3rver adds its suffix to, and it is empty for a key that ends with `/`, as in s3rver.
 */
export function encodeObjectKeyPath(key: string): string[] {
  const segments = key.split('/');
  return segments.flatMap((segment, index) => {
    const isLast = index === segments.length - 1;
    if (segment === '') return isLast ? [''] : ['&-'];
    return splitLongSegment(escapeSegment(segment));
  });
}

/** Reverses encodeObjectKeyPath for a relative path whose parts are joined with `/`. */
export function decodeObjectKeyPath(relativePath: string): string {
  const joined = relativePath.replace(/&\+\//g, '');
  const segments = joined.split('/').map((segment) => {
    if (segment === '&-') return '';
    const bytes: number[] = [];
    for (let index = 0; index < segment.length; index++) {
      const character = segment[index] ?? '';
      if (character === '&') {
        bytes.push(Number.parseInt(segment.slice(index + 1, index + 3), 16));
        index += 2;
      } else {
        bytes.push(...Buffer.from(character, 'utf8'));
      }
    }
    return Buffer.from(bytes).toString('utf8');
  });
  return segments.join('/');
}

interface FilesystemStoreClass {
  encodeKeyPath(key: string): string;
  decodeKeyPath(keyPath: string): string;
  prototype: { getResourcePath(bucket: string, key: string | undefined, resource: string): string };
}

/**
 * Installs the escaping into s3rver's FilesystemStore. Listing (prefix and delimiter matching) uses the class's
 * static encoder on partial keys, so that one escapes characters but keeps `/` and empty segments as they are.
 */
export function installKeyPathEncoding(): void {
  const store = require('s3rver/lib/stores/filesystem') as FilesystemStoreClass;
  store.encodeKeyPath = (key) =>
    key
      .split('/')
      .map((segment) => (segment === '' ? '' : escapeSegment(segment)))
      .join('/');
  store.decodeKeyPath = decodeObjectKeyPath;
  store.prototype.getResourcePath = function getResourcePath(
    this: { rootDirectory: string },
    bucket: string,
    key = '',
    resource: string,
  ) {
    const parts = encodeObjectKeyPath(key);
    const name = parts.pop() ?? '';
    return path.join(this.rootDirectory, bucket, ...parts, `${name}._S3rver_${resource}`);
  };
}

/**
 * Rewrites a request path so that s3rver's router (`/:bucket/:key+`, which needs non-empty segments) accepts keys
 * with empty segments: each slash that would start an empty segment is sent as `%2F`, which the router decodes back.
 * SigV4 checks still pass, because s3rver rebuilds the canonical URI from the decoded key.
 */
export function routableObjectPath(requestPath: string): string {
  const match = /^(\/[^/]+\/)(.*)$/s.exec(requestPath);
  if (match === null) return requestPath;
  const [, bucketPart = '', keyPart = ''] = match;
  let key = keyPart.replace(/\/(?=\/)/g, '%2F');
  if (key.startsWith('/')) key = `%2F${key.slice(1)}`;
  return bucketPart + key;
}
