import { spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const TEMPLATE_FILE = 'cloudformation-template-update-stack.json';

/** Files and folders whose changes make the packaged template and zips stale. */
const PACKAGE_INPUTS = [
  'serverless.yml',
  'config',
  'resources',
  'src',
  'package.json',
  'package-lock.json',
  'scripts/serverless',
];

/** Newest modification time under a file or folder, in ms; 0 when it does not exist. */
async function newestModification(target: string): Promise<number> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(target);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(target)) {
    newest = Math.max(newest, await newestModification(path.join(target, entry)));
  }
  return newest;
}

/** Oldest modification time of the template and the zips beside it; undefined when the template is missing. */
async function oldestOutput(packageDir: string): Promise<number | undefined> {
  let templateTime: number;
  try {
    templateTime = (await stat(path.join(packageDir, TEMPLATE_FILE))).mtimeMs;
  } catch {
    return undefined;
  }
  const zips = (await readdir(packageDir)).filter((name) => name.endsWith('.zip'));
  if (zips.length === 0) return undefined;
  const zipTimes = await Promise.all(
    zips.map(async (name) => (await stat(path.join(packageDir, name))).mtimeMs),
  );
  return Math.min(templateTime, ...zipTimes);
}

/**
 * Record that ensurePackaged writes beside a package it made: `sls package --stage dev` by hand writes the same
 * folder, and file times alone cannot tell which stage is in it.
 */
const PACKAGE_RECORD_FILE = 'local-package.json';

interface PackageRecord {
  stage: string;
  templateModifiedMs: number;
}

async function readPackageRecord(packageDir: string): Promise<PackageRecord | undefined> {
  try {
    return JSON.parse(await readFile(path.join(packageDir, PACKAGE_RECORD_FILE), 'utf8')) as PackageRecord;
  } catch {
    return undefined;
  }
}

async function writePackageRecord(packageDir: string, stage: string): Promise<void> {
  const templateModifiedMs = (await stat(path.join(packageDir, TEMPLATE_FILE))).mtimeMs;
  const record: PackageRecord = { stage, templateModifiedMs };
  await writeFile(path.join(packageDir, PACKAGE_RECORD_FILE), `${JSON.stringify(record)}\n`);
}

/** Returns why the package must be rebuilt for `stage`, or undefined when it is up to date. */
export async function packageStaleReason(
  projectDir: string,
  packageDir: string,
  stage: string,
): Promise<string | undefined> {
  const outputTime = await oldestOutput(packageDir);
  if (outputTime === undefined)
    return `${path.relative(projectDir, packageDir) || packageDir} has no packaged template and zips`;
  const record = await readPackageRecord(packageDir);
  const templateModifiedMs = (await stat(path.join(packageDir, TEMPLATE_FILE))).mtimeMs;
  if (record === undefined || record.templateModifiedMs !== templateModifiedMs)
    return `the package was made by another command, so its stage is unknown`;
  if (record.stage !== stage) return `the package is for stage ${record.stage}`;
  for (const input of PACKAGE_INPUTS) {
    if ((await newestModification(path.join(projectDir, input))) > outputTime)
      return `${input} changed since the last package`;
  }
  return undefined;
}

/**
 * Runs `sls package --stage STAGE` with npm in offline mode, so serverless-esbuild's install of external modules
 * (sharp) uses the npm cache instead of retrying the network. Its output goes to this process's stderr, so that
 * `npm run process -- --json` keeps standard output for the report.
 */
export function runServerlessPackage(projectDir: string, stage: string): Promise<void> {
  const sls = path.join(projectDir, 'node_modules', '.bin', 'sls');
  return new Promise((resolve, reject) => {
    const child = spawn(sls, ['package', '--stage', stage], {
      cwd: projectDir,
      env: { ...process.env, npm_config_offline: 'true' },
      stdio: ['ignore', 2, 2],
    });
    child.on('error', (error) =>
      reject(new Error(`cannot run ${sls}: ${error.message}; run "npm install" first`)),
    );
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `"sls package --stage ${stage}" failed (${signal ?? `exit code ${code}`}); see its output above`,
          ),
        );
    });
  });
}

/**
 * Packages the service for `stage` unless the packaged template and zips are newer than every packaging input,
 * and logs which it did. `skip` leaves the package as it is.
 */
export async function ensurePackaged(
  projectDir: string,
  stage: string,
  log: (line: string) => void,
  skip = false,
): Promise<void> {
  const packageDir = path.join(projectDir, '.serverless');
  const reason = await packageStaleReason(projectDir, packageDir, stage);
  if (reason === undefined) {
    log(
      `package for stage ${stage} is up to date (newer than ${PACKAGE_INPUTS.join(', ')}): skipping sls package`,
    );
    return;
  }
  if (skip) {
    log(`warning: ${reason}, but --no-package was given: using the package as it is`);
    return;
  }
  log(`packaging for stage ${stage}: ${reason}`);
  const startedAt = Date.now();
  await runServerlessPackage(projectDir, stage);
  await writePackageRecord(packageDir, stage);
  log(`packaged in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
}
