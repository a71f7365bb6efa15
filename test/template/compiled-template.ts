import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const CACHE_DIR = path.join(PROJECT_DIR, 'node_modules', '.cache', 'image-pipeline-template-tests');

/** Stage of the tests' package. It has no `params` section of its own, so it gets what any new stage gets. */
export const TEST_STAGE = 'tmpltest';
/** Bucket prefix the tests pass through IMAGE_PIPELINE_BUCKET_PREFIX, so names can be checked for it. */
export const TEST_BUCKET_PREFIX = 'tmplcheck';
export const SERVICE_NAME = 'image-pipeline';

/** Inputs that change the packaged output. The digest of their contents names the cache entry. */
const INPUTS = ['serverless.yml', 'config', 'resources', 'src', 'scripts', 'package-lock.json'];

export interface CloudFormationResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
  Metadata?: Record<string, unknown>;
}

export interface CloudFormationTemplate {
  Resources: Record<string, CloudFormationResource>;
  Outputs?: Record<string, { Value: unknown }>;
}

export interface CompiledPackage {
  /** Folder with the compiled templates and the function zips. */
  dir: string;
  templatePath: string;
  template: CloudFormationTemplate;
  /** Local path of the zip that a function's Code.S3Key names. */
  zipPathOf(functionLogicalId: string): string;
}

function listFiles(relativePath: string): string[] {
  const absolute = path.join(PROJECT_DIR, relativePath);
  if (!existsSync(absolute)) return [];
  if (!statSync(absolute).isDirectory()) return [relativePath];
  return readdirSync(absolute)
    .sort()
    .flatMap((name) => listFiles(path.join(relativePath, name)));
}

function inputDigest(stage: string): string {
  const hash = createHash('sha256');
  hash.update(`${stage}\0${TEST_BUCKET_PREFIX}\0`);
  for (const file of INPUTS.flatMap(listFiles)) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(path.join(PROJECT_DIR, file)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

async function runPackage(stage: string, outputDir: string): Promise<void> {
  const cli = path.join(PROJECT_DIR, 'node_modules', 'osls', 'bin', 'serverless.js');
  const args = [cli, 'package', '--stage', stage, '--package', outputDir];
  try {
    await execFileAsync(process.execPath, args, {
      cwd: PROJECT_DIR,
      env: {
        ...process.env,
        IMAGE_PIPELINE_BUCKET_PREFIX: TEST_BUCKET_PREFIX,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`sls package --stage ${stage} failed:\n${stdout}\n${stderr}`, { cause: error });
  }
}

const compiled = new Map<string, Promise<CompiledPackage>>();

async function compile(stage: string): Promise<CompiledPackage> {
  // Entries are named `<stage>-<digest>`, so a stale entry of one stage is removed without touching the others.
  const entryPrefix = `${stage}-`;
  const dir = path.join(CACHE_DIR, `${entryPrefix}${inputDigest(stage)}`);
  const templatePath = path.join(dir, 'cloudformation-template-update-stack.json');

  if (!existsSync(templatePath)) {
    // Package into a scratch folder and rename it into place, so an interrupted run never leaves a half entry.
    const scratch = `${dir}.partial-${process.pid}`;
    rmSync(scratch, { recursive: true, force: true });
    await runPackage(stage, scratch);
    for (const stale of existsSync(CACHE_DIR) ? readdirSync(CACHE_DIR) : []) {
      // Entries of the naming before stages were part of it start with a hex digest instead.
      const sameStage = stale.startsWith(entryPrefix) || /^[0-9a-f]{16}$/.test(stale);
      if (sameStage && !stale.includes('.partial-')) {
        rmSync(path.join(CACHE_DIR, stale), { recursive: true, force: true });
      }
    }
    try {
      renameSync(scratch, dir);
    } catch (error) {
      // Another jest worker finished the same entry first; its result is identical.
      if (!existsSync(templatePath)) throw error;
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  const template = JSON.parse(readFileSync(templatePath, 'utf8')) as CloudFormationTemplate;
  const zipPathOf = (functionLogicalId: string) => {
    const code = template.Resources[functionLogicalId]?.Properties?.Code as { S3Key?: string } | undefined;
    if (code?.S3Key === undefined) throw new Error(`${functionLogicalId} has no Code.S3Key in the template`);
    return path.join(dir, path.basename(code.S3Key));
  };
  return { dir, templatePath, template, zipPathOf };
}

/**
 * Returns the compiled template and zips of a stage, by default the test stage (default architecture arm64).
 * `sls package` runs only when no cached result matches: results are kept under node_modules/.cache, named by
 * the stage and a digest of serverless.yml, config/, resources/, src/, scripts/ and package-lock.json.
 */
export function compiledPackage(stage: string = TEST_STAGE): Promise<CompiledPackage> {
  let result = compiled.get(stage);
  if (result === undefined) {
    result = compile(stage);
    compiled.set(stage, result);
  }
  return result;
}

/** Time that the first `compiledPackage()` of a test file may take: a cold package runs esbuild and npm. */
export const PACKAGE_TIMEOUT_MS = 240_000;
