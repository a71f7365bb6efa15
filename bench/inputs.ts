import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sharp } from '../src/images/sharp-setup';

const execFileAsync = promisify(execFile);
const PROJECT_DIR = path.resolve(__dirname, '..');
/** The extended test corpus beside the checkout; a fresh clone does not have it. */
const SHARED_IMAGES_DIR = path.resolve(PROJECT_DIR, '..', 'shared', 'images');
const SHARED_CAMERA_PHOTO = path.join(SHARED_IMAGES_DIR, 'camera', 'olympus_e-p3_12mp.jpg');
const FIXTURE_PHOTO = path.join(PROJECT_DIR, 'test', 'fixtures', 'orientation', 'Landscape_1.jpg');

/** One benchmark input on disk, with how it was made. */
export interface BenchImage {
  /** Short name used in tables, such as "12 MP JPEG". */
  label: string;
  file: string;
  bytes: number;
  width: number;
  height: number;
  /** Source of the file, or the sharp operations that generated it. */
  origin: string;
}

/** Inputs of one run, generated into a temporary folder that `dispose` deletes. */
export interface BenchInputs {
  /** The camera photo every other input is made from. */
  camera: BenchImage;
  largeJpeg: BenchImage;
  alphaPng: BenchImage;
  png16: BenchImage;
  /** An image at the default pixel limit, for the memory section; undefined in quick mode. */
  maxPixelsJpeg: BenchImage | undefined;
  /**
   * A PNG at the default pixel limit and within the default byte limit: PNG has no shrink-on-load, so this is the
   * largest decode the limits admit. Undefined in quick mode.
   */
  maxPixelsPng: BenchImage | undefined;
  /** Folders with more photos for the pipeline section, in a stable order. */
  photoFolders: string[];
  usesSharedImages: boolean;
  workDir: string;
  dispose(): void;
}

async function describeImage(label: string, file: string, origin: string): Promise<BenchImage> {
  const { width, height } = await sharp(file).metadata();
  return { label, file, bytes: statSync(file).size, width, height, origin };
}

/**
 * Builds an alpha channel for a `width` x `height` image: opaque inside the inscribed ellipse, transparent outside,
 * so the image has both opaque and transparent pixels, as a photo cut-out does.
 */
function ellipseMask(width: number, height: number): Buffer {
  const mask = Buffer.alloc(width * height);
  const centreX = width / 2;
  const centreY = height / 2;
  for (let y = 0; y < height; y++) {
    const dy = (y + 0.5 - centreY) / centreY;
    for (let x = 0; x < width; x++) {
      const dx = (x + 0.5 - centreX) / centreX;
      mask[y * width + x] = dx * dx + dy * dy <= 1 ? 255 : 0;
    }
  }
  return mask;
}

/**
 * Prepares the inputs. The full run uses the 12 MP camera photo of the shared corpus when it exists and generates
 * the rest from it: a 24 MP JPEG, a PNG with alpha, a 16-bit PNG and a 100 MP JPEG. Quick mode generates smaller
 * versions of the same kinds from the repository's own fixture photo, so it also runs on a fresh clone.
 */
export async function prepareInputs(
  quick: boolean,
  maxInputPixels: number,
  maxInputBytes: number,
): Promise<BenchInputs> {
  const usesSharedImages = !quick && existsSync(SHARED_CAMERA_PHOTO);
  const workDir = mkdtempSync(path.join(tmpdir(), 'bench-inputs-'));
  const sourceFile = usesSharedImages ? SHARED_CAMERA_PHOTO : FIXTURE_PHOTO;
  const sourceName = path.relative(usesSharedImages ? SHARED_IMAGES_DIR : PROJECT_DIR, sourceFile);
  const camera = await describeImage(
    usesSharedImages ? '12 MP JPEG' : `${quick ? 'small' : 'fixture'} JPEG`,
    sourceFile,
    usesSharedImages
      ? `camera photo, shared corpus \`${sourceName}\``
      : `repository fixture \`${sourceName}\``,
  );

  // Full runs: 24 MP for the large JPEG, a 3000 px wide PNG. Quick runs: just enough pixels to exercise the code.
  const large = quick ? { width: 2400, height: 1600 } : { width: 6000, height: 4000 };
  const pngWidth = quick ? 400 : 3000;
  const pngHeight = Math.round((pngWidth * camera.height) / camera.width);

  const largeFile = path.join(workDir, `large-${large.width}x${large.height}.jpg`);
  await sharp(sourceFile)
    .resize(large.width, large.height, { fit: 'fill' })
    .jpeg({ quality: 90 })
    .toFile(largeFile);
  const largeJpeg = await describeImage(
    `${((large.width * large.height) / 1e6).toFixed(0)} MP JPEG`,
    largeFile,
    `${camera.label} upscaled by sharp, \`resize(${large.width}, ${large.height}, { fit: 'fill' })\`, JPEG quality 90`,
  );

  const alphaFile = path.join(workDir, `alpha-${pngWidth}x${pngHeight}.png`);
  const mask = ellipseMask(pngWidth, pngHeight);
  await sharp(sourceFile)
    .resize(pngWidth, pngHeight, { fit: 'fill' })
    .joinChannel(mask, { raw: { width: pngWidth, height: pngHeight, channels: 1 } })
    .png()
    .toFile(alphaFile);
  const alphaPng = await describeImage(
    'PNG with alpha',
    alphaFile,
    `${camera.label} resized by sharp to ${pngWidth}x${pngHeight}, with an alpha channel that is opaque inside ` +
      'the inscribed ellipse and transparent outside it, 8-bit RGBA PNG',
  );

  const png16File = path.join(workDir, `rgb16-${pngWidth}x${pngHeight}.png`);
  await sharp(sourceFile)
    .resize(pngWidth, pngHeight, { fit: 'fill' })
    .toColourspace('rgb16')
    .png()
    .toFile(png16File);
  const png16 = await describeImage(
    '16-bit PNG',
    png16File,
    `${camera.label} resized by sharp to ${pngWidth}x${pngHeight}, \`toColourspace('rgb16')\`, 16-bit RGB PNG`,
  );

  let maxPixelsJpeg: BenchImage | undefined;
  let maxPixelsPng: BenchImage | undefined;
  if (!quick) {
    // The largest 4:3 image within the pixel limit, so it keeps the photo's aspect ratio.
    const height = Math.floor(Math.sqrt((maxInputPixels * camera.height) / camera.width));
    const width = Math.floor(maxInputPixels / height);
    const maxFile = path.join(workDir, `max-${width}x${height}.jpg`);
    await sharp(sourceFile, { limitInputPixels: false })
      .resize(width, height, { fit: 'fill' })
      .jpeg({ quality: 90 })
      .toFile(maxFile);
    maxPixelsJpeg = await describeImage(
      `${((width * height) / 1e6).toFixed(1)} MP JPEG`,
      maxFile,
      `${camera.label} upscaled by sharp, \`resize(${width}, ${height}, { fit: 'fill' })\`, JPEG quality 90: ` +
        `${width * height} pixels, the most the default pixel limit (${maxInputPixels}) admits at this aspect ratio`,
    );

    // A photo's PNG of this size is about 145 MB, over the byte limit. Enlarging an eighth-size copy with
    // nearest-neighbour keeps the photo's colours in 8x8 blocks, which PNG compresses to about a quarter of that.
    const block = 8;
    const pngFile = path.join(workDir, `max-${width}x${height}.png`);
    const eighth = await sharp(sourceFile)
      .resize(Math.ceil(width / block), Math.ceil(height / block), { fit: 'fill' })
      .toBuffer();
    await sharp(eighth, { limitInputPixels: false })
      .resize(width, height, { fit: 'fill', kernel: 'nearest' })
      .png()
      .toFile(pngFile);
    maxPixelsPng = await describeImage(
      `${((width * height) / 1e6).toFixed(1)} MP PNG`,
      pngFile,
      `${camera.label} resized by sharp to ${Math.ceil(width / block)}x${Math.ceil(height / block)}, then ` +
        `\`resize(${width}, ${height}, { fit: 'fill', kernel: 'nearest' })\`, 8-bit RGB PNG: as many pixels as the ` +
        `100 MP JPEG, in a file within the default byte limit (${maxInputBytes} bytes)`,
    );
    if (maxPixelsPng.bytes > maxInputBytes) {
      throw new Error(
        `The generated ${maxPixelsPng.label} is ${maxPixelsPng.bytes} bytes, over the byte limit of ${maxInputBytes}; ` +
          'raise the block size in bench/inputs.ts.',
      );
    }
  }

  const photoFolders = usesSharedImages
    ? ['camera', 'subjects', 'orientation'].map((folder) => path.join(SHARED_IMAGES_DIR, folder))
    : [path.join(PROJECT_DIR, 'test', 'fixtures', 'orientation')];

  return {
    camera,
    largeJpeg,
    alphaPng,
    png16,
    maxPixelsJpeg,
    maxPixelsPng,
    photoFolders,
    usesSharedImages,
    workDir,
    dispose: () => rmSync(workDir, { recursive: true, force: true }),
  };
}

/**
 * Runs `prepareInputs` in a child process (bench/generate-inputs.ts), so that the gigabyte allocated while generating
 * the largest images never belongs to the process that times the in-process contenders.
 */
export async function prepareInputsInChildProcess(
  quick: boolean,
  maxInputPixels: number,
  maxInputBytes: number,
): Promise<BenchInputs> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [
      ...process.execArgv,
      path.join(__dirname, 'generate-inputs.ts'),
      quick ? 'quick' : 'full',
      String(maxInputPixels),
      String(maxInputBytes),
    ],
    { maxBuffer: 1024 * 1024 },
  );
  const inputs = JSON.parse(stdout) as Omit<BenchInputs, 'dispose'>;
  // Retries cover files that an operation still in flight writes while the folder is deleted.
  const dispose = () => rmSync(inputs.workDir, { recursive: true, force: true, maxRetries: 5 });
  return { ...inputs, dispose };
}
