import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { keysOfStoredEvent } from '../../local/batch/image-results';
import { collectInputFiles, contentTypeFor, InputPathError } from '../../local/batch/input-files';
import { formatLabels, type ImageReport, toImageReport } from '../../local/batch/report';
import { thumbnailFilePath } from '../../local/batch/run-batch';

let workDir: string;

beforeEach(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'local-batch-'));
  mkdirSync(path.join(workDir, 'photos', 'trip'), { recursive: true });
  writeFileSync(path.join(workDir, 'photos', 'a.jpg'), 'a');
  writeFileSync(path.join(workDir, 'photos', 'trip', 'b c.png'), 'b');
  writeFileSync(path.join(workDir, 'photos', 'notes.txt'), 'n');
  writeFileSync(path.join(workDir, 'photos', '.DS_Store'), 'x');
});

afterEach(() => rmSync(workDir, { recursive: true, force: true }));

describe('collectInputFiles', () => {
  it('keys folder files by their relative path', async () => {
    const inputs = await collectInputFiles([path.join(workDir, 'photos')], false);
    expect(inputs.map((input) => input.key)).toEqual(['a.jpg', 'notes.txt', 'trip/b c.png']);
  });

  it('keys a single file by its name', async () => {
    const inputs = await collectInputFiles([path.join(workDir, 'photos', 'trip', 'b c.png')], false);
    expect(inputs.map((input) => input.key)).toEqual(['b c.png']);
  });

  it('keeps only images with imagesOnly', async () => {
    const inputs = await collectInputFiles([path.join(workDir, 'photos')], true);
    expect(inputs.map((input) => input.key)).toEqual(['a.jpg', 'trip/b c.png']);
  });

  it('names a path that does not exist', async () => {
    const missing = path.join(workDir, 'missing.jpg');
    await expect(collectInputFiles([missing], false)).rejects.toThrow(`${missing} does not exist`);
  });

  it('rejects two inputs with the same key', async () => {
    const again = path.join(workDir, 'a.jpg');
    writeFileSync(again, 'again');
    await expect(collectInputFiles([path.join(workDir, 'photos'), again], false)).rejects.toBeInstanceOf(
      InputPathError,
    );
  });
});

describe('contentTypeFor', () => {
  it.each([
    ['photo.JPG', 'image/jpeg'],
    ['photo.jpeg', 'image/jpeg'],
    ['icon.png', 'image/png'],
    ['notes.txt', 'text/plain'],
    ['archive.xyz', 'application/octet-stream'],
  ])('maps %s to %s', (name, type) => {
    expect(contentTypeFor(name)).toBe(type);
  });
});

describe('thumbnailFilePath', () => {
  it('keeps a key whose extension matches the format', () => {
    expect(thumbnailFilePath('/out', 'trip/a.jpg', 'jpeg')).toBe(path.resolve('/out/trip/a.jpg'));
  });

  it('adds the extension of the thumbnail format', () => {
    expect(thumbnailFilePath('/out', 'icon.png', 'jpeg')).toBe(path.resolve('/out/icon.png.jpg'));
  });

  it('rejects a key that leaves the output folder', () => {
    expect(() => thumbnailFilePath('/out', '../escape.jpg', 'jpeg')).toThrow(/outside/);
  });
});

describe('keysOfStoredEvent', () => {
  it('decodes the keys of an SNS-wrapped S3 event', () => {
    const message = JSON.stringify({ Records: [{ s3: { object: { key: 'trip/b+c+%282%29.png' } } }] });
    expect(keysOfStoredEvent({ Records: [{ Sns: { Message: message } }] })).toEqual(['trip/b c (2).png']);
  });
});

describe('report', () => {
  it('formats labels with one decimal', () => {
    expect(
      formatLabels([
        { name: 'Dog', confidence: 87.1 },
        { name: 'Person', confidence: 66 },
      ]),
    ).toBe('Dog 87.1%, Person 66.0%');
  });

  it('marks an image failed when one stage failed', () => {
    const report: ImageReport = toImageReport(
      {
        key: 'a.jpg',
        thumbnail: { state: 'done' },
        labels: { state: 'failed', error: 'bad image' },
        labelList: [],
      },
      null,
    );
    expect(report.status).toBe('failed');
  });

  it('names the failed stage in the error', () => {
    const report = toImageReport(
      {
        key: 'a.jpg',
        thumbnail: { state: 'done' },
        labels: { state: 'failed', error: 'bad image' },
        labelList: [],
      },
      null,
    );
    expect(report.error).toBe('labels: bad image');
  });

  it('gives a shared failure reason once', () => {
    const reason = 'Unsupported image format: SVG. Upload a JPEG image instead.';
    const report = toImageReport(
      {
        key: 'a.svg',
        thumbnail: { state: 'failed', error: `Cannot create a thumbnail for "a.svg": ${reason}` },
        labels: { state: 'failed', error: `Cannot detect labels in "a.svg": ${reason}` },
        labelList: [],
      },
      null,
    );
    expect(report.error).toBe(`thumbnail and labels: ${reason}`);
  });

  it('keeps different failure reasons apart', () => {
    const report = toImageReport(
      {
        key: 'a.jpg',
        thumbnail: { state: 'failed', error: 'Cannot create a thumbnail for "a.jpg": corrupt' },
        labels: { state: 'failed', error: 'analyzeImage failed after 3 attempts: Error: aborted' },
        labelList: [],
      },
      null,
    );
    expect(report.error).toBe(
      'thumbnail: Cannot create a thumbnail for "a.jpg": corrupt; labels: analyzeImage failed after 3 attempts: Error: aborted',
    );
  });

  it('marks a timed-out image failed', () => {
    const report = toImageReport(
      { key: 'a.jpg', thumbnail: { state: 'pending' }, labels: { state: 'done' }, labelList: [] },
      null,
      'timed out',
    );
    expect(report.status).toBe('failed');
  });

  it('flags a timed-out image', () => {
    const report = toImageReport(
      { key: 'a.jpg', thumbnail: { state: 'pending' }, labels: { state: 'done' }, labelList: [] },
      null,
      'timed out',
    );
    expect(report.timedOut).toBe(true);
  });
});
