import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { extractZip, ZIP_EXTENSIONS } from './archive';
import { ToolError } from './errors';
import { parseGrypeDocument } from './grype-document';
import type { ScanResult } from './types';

/** Source schemes that Grype accepts in front of a target (`grype --help`, "Supported sources"). */
const GRYPE_SCHEMES = [
  'dir:',
  'file:',
  'registry:',
  'docker:',
  'podman:',
  'containerd:',
  'docker-archive:',
  'oci-archive:',
  'oci-dir:',
  'singularity:',
  'sbom:',
  'purl:',
  'cpe:',
];

/** Text shown when the grype command cannot be started. */
export const GRYPE_INSTALL_HINT =
  'grype was not found on PATH. Install it (https://github.com/anchore/grype#installation, for example ' +
  '`brew install grype` or the release archive for your platform) and make sure the `grype` command runs, ' +
  'or use --backend anchore.';

/**
 * Largest grype output read, in bytes, by default: far above the JSON document of a large image, and below Node's
 * maximum string length (2^29 - 24 characters on 64-bit builds), beyond which the output could not be decoded.
 */
export const MAX_GRYPE_OUTPUT_BYTES = 256 * 1024 * 1024;

/** Options of a Grype scan. */
export interface GrypeScanOptions {
  /** Environment of the grype process; its PATH decides which grype runs. */
  env: NodeJS.ProcessEnv;
  /** Extra arguments passed to grype before the source, for example `--platform linux/arm64`. */
  extraArgs?: string[];
  /** Largest output on stdout, in bytes; default {@link MAX_GRYPE_OUTPUT_BYTES}. */
  maxOutputBytes?: number;
}

/** Grype source for a target, with the cleanup of any temporary files it needed. */
interface ResolvedSource {
  source: string;
  cleanup?: () => Promise<void>;
}

/**
 * Turns a target into a Grype source. An explicit scheme is kept and a directory becomes `dir:`. A zip archive
 * (such as a Lambda package) is unpacked to a temporary directory and scanned as `dir:`. Any other file becomes
 * `file:`, and anything that is not on disk is passed on as an image reference.
 */
export async function resolveGrypeSource(target: string): Promise<ResolvedSource> {
  if (GRYPE_SCHEMES.some((scheme) => target.startsWith(scheme))) return { source: target };

  const info = await stat(target).catch(() => undefined);
  if (!info) return { source: target };
  if (info.isDirectory()) return { source: `dir:${path.resolve(target)}` };

  if (ZIP_EXTENSIONS.includes(path.extname(target).toLowerCase())) {
    // Unpacked here rather than left to Grype, so that packages inside the zip (node_modules/*/package.json)
    // are catalogued exactly as in a directory scan of the same tree.
    const directory = await mkdtemp(path.join(os.tmpdir(), 'scan-gate-'));
    const cleanup = () => rm(directory, { recursive: true, force: true });
    try {
      await extractZip(target, directory);
    } catch (error) {
      await cleanup();
      if (error instanceof ToolError) throw error;
      throw new ToolError(`cannot unpack ${target}: ${(error as Error).message}`, { cause: error });
    }
    return { source: `dir:${directory}`, cleanup };
  }
  return { source: `file:${path.resolve(target)}` };
}

/** Maximum stderr bytes kept, because only its last lines are shown. */
const MAX_STDERR_BYTES = 1024 * 1024;

/**
 * Runs a command and collects its output. Rejects with the spawn error when it cannot start, and kills the command
 * and rejects with a ToolError when stdout grows beyond `maxStdoutBytes`.
 */
function runCommand(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  maxStdoutBytes: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = Buffer.alloc(0);
    let tooLarge = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxStdoutBytes) {
        if (!tooLarge) child.kill('SIGKILL');
        tooLarge = true;
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]).subarray(-MAX_STDERR_BYTES);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (tooLarge) {
        reject(
          new ToolError(
            `${command} printed more than ${maxStdoutBytes} bytes on stdout; the output was not read`,
          ),
        );
        return;
      }
      resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: stderr.toString('utf8') });
    });
  });
}

/**
 * Scans a directory, archive or image with the `grype` command and returns its findings.
 *
 * @throws ToolError when grype is missing, exits non-zero or prints something other than its JSON document.
 */
export async function scanWithGrype(target: string, options: GrypeScanOptions): Promise<ScanResult> {
  const resolved = await resolveGrypeSource(target);
  try {
    const args = [...(options.extraArgs ?? []), resolved.source, '-o', 'json', '-q'];
    const maxOutputBytes = options.maxOutputBytes ?? MAX_GRYPE_OUTPUT_BYTES;
    const result = await runCommand('grype', args, options.env, maxOutputBytes).catch(
      (error: NodeJS.ErrnoException) => {
        if (error instanceof ToolError) throw error;
        if (error.code === 'ENOENT') throw new ToolError(GRYPE_INSTALL_HINT, { cause: error });
        throw new ToolError(`grype could not be started: ${error.message}`, { cause: error });
      },
    );
    if (result.code !== 0) {
      const detail = result.stderr.trim().split('\n').slice(-5).join('\n') || '(no output on stderr)';
      throw new ToolError(`grype exited with code ${result.code} while scanning ${target}:\n${detail}`);
    }
    const { findings, descriptor } = parseGrypeDocument(result.stdout);
    return { backend: 'grype', target, findings, scanner: descriptor };
  } finally {
    await resolved.cleanup?.();
  }
}
