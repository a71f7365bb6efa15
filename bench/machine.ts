import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { sharp } from '../src/images/sharp-setup';

/** The machine and software a report's figures were measured on. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  /** Load averages over 1, 5 and 15 minutes, at the start of the run. */
  loadAverage: [number, number, number];
  node: string;
  sharp: string;
  /** libvips inside sharp's prebuilt binary. */
  sharpLibvips: string;
  /** libvips of the `vipsthumbnail` command, which may differ from sharp's. */
  vipsthumbnail: string;
  imageMagick: string;
  jimp: string;
  date: string;
}

function commandVersion(command: string, args: string[], pattern: RegExp): string {
  try {
    const output = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return pattern.exec(output)?.[1] ?? 'unknown version';
  } catch {
    return 'not installed';
  }
}

function packageVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

/** Reads the CPU, memory and tool versions. */
export function readMachineInfo(imageMagickCommand: string): MachineInfo {
  const [one, five, fifteen] = os.loadavg();
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: os.totalmem() / 1024 ** 3,
    loadAverage: [one ?? 0, five ?? 0, fifteen ?? 0],
    node: process.version,
    sharp: sharp.versions.sharp ?? 'unknown',
    sharpLibvips: sharp.versions.vips,
    vipsthumbnail: commandVersion('vipsthumbnail', ['--vips-version'], /libvips ([\d.]+)/),
    imageMagick: commandVersion(imageMagickCommand, ['-version'], /ImageMagick ([\d.-]+)/),
    jimp: packageVersion('jimp'),
    date: new Date().toISOString(),
  };
}
