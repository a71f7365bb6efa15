import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { ensurePackaged } from '../../local/packaging';
import {
  groupEnds,
  killGroup,
  type ProjectCommand,
  runProjectCommand,
  waitForOutput,
} from './support/child-process';
import { PROJECT_DIR } from './support/pipeline-stack';

/** `npm run process` from the outside: bad paths, folders, --json, and Ctrl+C while images are in flight. */

let workDir: string;
const commands: ProjectCommand[] = [];

function processCommand(args: string[]): ProjectCommand {
  const command = runProjectCommand('local/process.ts', args);
  commands.push(command);
  return command;
}

function solid(width: number, height: number, colour: string): Sharp {
  return sharp({ create: { width, height, channels: 3, background: colour } });
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'adversarial-process-'));
  await ensurePackaged(PROJECT_DIR, 'local', () => {});
  mkdirSync(path.join(workDir, 'empty'));
  mkdirSync(path.join(workDir, 'nested', 'a', 'b'), { recursive: true });
  await solid(300, 200, '#c03030')
    .jpeg()
    .toFile(path.join(workDir, 'nested', 'top.jpg'));
  await solid(300, 200, '#30c030')
    .jpeg()
    .toFile(path.join(workDir, 'nested', 'a', 'b', 'deep café+1.jpg'));
  writeFileSync(path.join(workDir, 'nested', 'a', 'notes.txt'), 'not an image\n');
  // Eight 24 MP photos keep the stack busy for several seconds.
  mkdirSync(path.join(workDir, 'busy'));
  const photo = await sharp(path.join(PROJECT_DIR, 'samples', 'dog_bicycle_truck.jpg'))
    .resize(6000, 4000, { fit: 'fill' })
    .jpeg({ quality: 90 })
    .toBuffer();
  for (let index = 0; index < 8; index++) {
    await sharp(photo)
      .modulate({ brightness: 1 + index / 50 })
      .jpeg({ quality: 90 })
      .toFile(path.join(workDir, 'busy', `photo-${index}.jpg`));
  }
}, 120_000);

afterAll(() => {
  for (const command of commands) killGroup(command);
  rmSync(workDir, { recursive: true, force: true });
});

describe('npm run process with bad input paths', () => {
  it('exits with 1 for a path that does not exist', async () => {
    const command = processCommand([
      '--data-dir',
      path.join(workDir, 'data-missing'),
      '/nonexistent/photo.jpg',
    ]);
    expect((await command.exited).code).toBe(1);
  });

  it('names the path that does not exist', async () => {
    const command = processCommand([
      '--data-dir',
      path.join(workDir, 'data-missing2'),
      '/nonexistent/photo.jpg',
    ]);
    await command.exited;
    expect(command.output()).toContain('/nonexistent/photo.jpg does not exist');
  });

  it('exits with 1 for an empty folder', async () => {
    const command = processCommand([
      '--data-dir',
      path.join(workDir, 'data-empty'),
      path.join(workDir, 'empty'),
    ]);
    expect((await command.exited).code).toBe(1);
  });

  it('starts no stack for an empty folder', async () => {
    const dataDir = path.join(workDir, 'data-empty2');
    const command = processCommand(['--data-dir', dataDir, path.join(workDir, 'empty')]);
    await command.exited;
    expect(existsSync(path.join(dataDir, 'stack.json'))).toBe(false);
  });
});

describe('npm run process --json on nested folders', () => {
  let command: ProjectCommand;
  let report: { key: string; status: string }[] = [];

  beforeAll(async () => {
    command = processCommand([
      '--json',
      '--data-dir',
      path.join(workDir, 'data-json'),
      '--out',
      path.join(workDir, 'thumbnails'),
      path.join(workDir, 'nested'),
    ]);
    await command.exited;
    report = JSON.parse(command.stdout()) as typeof report;
  }, 120_000);

  it('prints only JSON on standard output', () => {
    expect(Array.isArray(report)).toBe(true);
  });

  it('keys files of nested folders by their path relative to the folder', () => {
    expect(report.map((entry) => entry.key).sort()).toEqual([
      'a/b/deep café+1.jpg',
      'a/notes.txt',
      'top.jpg',
    ]);
  });

  it('reports the images as done and the text file as failed', () => {
    expect(report.map((entry) => [entry.key, entry.status]).sort()).toEqual([
      ['a/b/deep café+1.jpg', 'done'],
      ['a/notes.txt', 'failed'],
      ['top.jpg', 'done'],
    ]);
  });

  it('writes the thumbnail of a nested file under its folders', () => {
    expect(existsSync(path.join(workDir, 'thumbnails', 'a', 'b', 'deep café+1.jpg'))).toBe(true);
  });

  it('leaves no process running after it exits', async () => {
    expect(await groupEnds(command)).toBe(true);
  });
});

describe('Ctrl+C during npm run process', () => {
  const dataDir = () => path.join(workDir, 'data-interrupted');
  let command: ProjectCommand;
  let sawUploads = false;

  beforeAll(async () => {
    // Through npm, as a user runs it: npm, sh, tsx and the stack's node process share the terminal's process group.
    command = runProjectCommand('process', [
      '--data-dir',
      dataDir(),
      '--out',
      path.join(workDir, 'busy-out'),
      path.join(workDir, 'busy'),
    ]);
    commands.push(command);
    // From here on the stack's process is busy: S3 stores 2 MB bodies while the functions and Rekognition start.
    sawUploads = await waitForOutput(command, 'uploading 8 file(s)');
    command.signalGroup('SIGINT');
    await command.exited;
  }, 120_000);

  it('interrupts a run that has started uploading', () => {
    expect(sawUploads).toBe(true);
  });

  it('says that it is stopping', () => {
    expect(command.output()).toContain('SIGINT: stopping');
  });

  it('removes stack.json of the stack it started', () => {
    expect(existsSync(path.join(dataDir(), 'stack.json'))).toBe(false);
  });

  it('leaves no process of its group running', async () => {
    expect(await groupEnds(command)).toBe(true);
  });
});
