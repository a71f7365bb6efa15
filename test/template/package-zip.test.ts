import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { compiledPackage, PACKAGE_TIMEOUT_MS } from './compiled-template';

// ELF header fields (System V ABI): bytes 0-3 are the magic number, bytes 18-19 the little-endian e_machine.
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const EM_AARCH64 = 183;

interface ZipListing {
  names: string[];
  /** First bytes of each file whose name matches the filter passed to readZip. */
  heads: Map<string, Buffer>;
}

async function readHead(stream: Readable, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    total += (chunk as Buffer).length;
    if (total >= length) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, length);
}

async function readZip(zipPath: string, readHeadOf: (name: string) => boolean): Promise<ZipListing> {
  const zip = await yauzl.openPromise(zipPath, { lazyEntries: true });
  const names: string[] = [];
  const heads = new Map<string, Buffer>();
  try {
    for await (const entry of zip.eachEntry()) {
      names.push(entry.fileName);
      if (readHeadOf(entry.fileName)) {
        heads.set(entry.fileName, await readHead(await zip.openReadStreamPromise(entry), 20));
      }
    }
  } finally {
    zip.close();
  }
  return { names, heads };
}

const isNativeBinary = (name: string) => name.endsWith('.node') || /\.so(\.\d+)*$/.test(name);

const FUNCTION_HANDLERS: Array<[string, string]> = [
  ['CreateThumbnailLambdaFunction', 'src/handlers/create-thumbnail.js'],
  ['AnalyzeImageLambdaFunction', 'src/handlers/analyze-image.js'],
];

describe.each(FUNCTION_HANDLERS)('%s zip', (functionId, handlerFile) => {
  let listing: ZipListing;

  beforeAll(async () => {
    const { zipPathOf } = await compiledPackage();
    listing = await readZip(zipPathOf(functionId), isNativeBinary);
  }, PACKAGE_TIMEOUT_MS);

  it('contains its handler bundle', () => {
    expect(listing.names).toContain(handlerFile);
  });

  it('contains no other handler', () => {
    const handlers = listing.names.filter((name) => name.startsWith('src/handlers/') && name.endsWith('.js'));

    expect(handlers).toEqual([handlerFile]);
  });

  it('contains the sharp package', () => {
    expect(listing.names).toContain('node_modules/sharp/package.json');
  });

  it('contains the sharp addon for linux arm64', () => {
    const addons = listing.names.filter((name) => name.endsWith('.node'));

    expect(addons).toEqual([
      expect.stringMatching(/^node_modules\/@img\/sharp-linux-arm64\/lib\/sharp-linux-arm64-.*\.node$/),
    ]);
  });

  it('contains libvips for linux arm64', () => {
    const libvips = listing.names.filter((name) =>
      /^node_modules\/@img\/sharp-libvips-linux-arm64\/lib\/libvips-cpp\.so/.test(name),
    );

    expect(libvips).toHaveLength(1);
  });

  it('contains no package for another platform', () => {
    const imgPackages = new Set(
      listing.names.filter((name) => name.startsWith('node_modules/@img/')).map((name) => name.split('/')[2]),
    );

    expect([...imgPackages].sort()).toEqual(['colour', 'sharp-libvips-linux-arm64', 'sharp-linux-arm64']);
  });

  it('every native binary is an ELF file', () => {
    const heads = [...listing.heads.values()];

    expect(heads.filter((head) => !head.subarray(0, 4).equals(ELF_MAGIC))).toEqual([]);
  });

  it('every native binary targets AArch64', () => {
    // The file header is the independent check: a package name could lie, the ELF machine field cannot.
    const machines = new Set([...listing.heads.values()].map((head) => head.readUInt16LE(18)));

    expect(machines).toEqual(new Set([EM_AARCH64]));
  });

  it('contains no TypeScript sources', () => {
    expect(listing.names.filter((name) => name.endsWith('.ts') && !name.startsWith('node_modules/'))).toEqual(
      [],
    );
  });
});
