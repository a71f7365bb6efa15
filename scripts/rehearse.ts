import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand, UsageError } from '../local/cli-options';
import { deployPackage } from './rehearse/deploy-package';
import { adaptTemplateForMoto } from './rehearse/moto-compat';
import { motoServerInstalled, startMotoServer } from './rehearse/moto-server';
import { compareResources, expectedResources } from './rehearse/template-resources';

/** The service name in serverless.yml; the framework names each stage's stack `<service>-<stage>`. */
const SERVICE_NAME = 'image-pipeline';
const REGION = 'us-east-1';

const USAGE = `Usage: npm run rehearse -- [options]

Rehearses a deployment in moto, an AWS emulator, on 127.0.0.1: starts moto_server on a free port, deploys the
packaged service into its CloudFormation as sls deploy would (deployment bucket, zips and template uploaded, then a
change set), and checks that the stack completes with every resource of the template, by logical id and type.
Resources of types moto cannot model are only counted; the output names those types. Exits 0 with a message when
moto_server is not installed. Nothing reaches AWS: the AWS SDK gets moto's endpoint and fake credentials.

Options:
  --package DIR     use this folder from sls package --package DIR (default: package into a temporary folder)
  --stage NAME      stage to package and name the stack after (default dev)
  --timeout SECONDS how long each stack operation may take (default 120)
  -h, --help        show this help`;

const OPTIONS = {
  package: { type: 'string' },
  stage: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs `sls package` with npm offline and fake credentials, so packaging can reach neither the network nor AWS. */
function packageService(projectDir: string, stage: string, packageDir: string): Promise<void> {
  const cli = path.join(projectDir, 'node_modules', 'osls', 'bin', 'serverless.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'package', '--stage', stage, '--package', packageDir], {
      cwd: projectDir,
      env: {
        ...process.env,
        npm_config_offline: 'true',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
      stdio: ['ignore', 2, 2],
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `sls package --stage ${stage} failed (${signal ?? `exit code ${code}`}); see its output above`,
            ),
          ),
    );
  });
}

async function rehearse(
  projectDir: string,
  values: Record<string, string | boolean | undefined>,
): Promise<number> {
  const log = (line: string) => console.log(`rehearse: ${line}`);
  const stage = (values.stage as string | undefined) ?? 'dev';
  const timeoutSeconds = Number(values.timeout ?? 120);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UsageError(`--timeout must be a positive number of seconds, got "${String(values.timeout)}"`);
  }

  let packageDir = values.package as string | undefined;
  let scratchDir: string | undefined;
  if (packageDir === undefined) {
    scratchDir = await mkdtemp(path.join(tmpdir(), 'rehearse-package-'));
    packageDir = scratchDir;
    log(`packaging stage ${stage} into ${packageDir}`);
    await packageService(projectDir, stage, packageDir);
  }
  packageDir = path.resolve(packageDir);

  const moto = await startMotoServer();
  log(`moto_server is listening on ${moto.url}`);
  try {
    const stackName = `${SERVICE_NAME}-${stage}`;
    const startedAt = Date.now();
    const deployed = await deployPackage({
      endpoint: moto.url,
      region: REGION,
      stackName,
      packageDir,
      waitTimeoutMs: timeoutSeconds * 1000,
      log,
      adaptTemplate: adaptTemplateForMoto,
    });
    log(`stack ${stackName} is UPDATE_COMPLETE after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);

    const expected = expectedResources(deployed.template);
    const skippedByCondition = Object.keys(deployed.template.Resources).length - expected.size;
    const comparison = compareResources(
      expected,
      deployed.resources,
      moto.unsupportedTypes,
      skippedByCondition,
    );
    const problems = [
      ...comparison.missing.map((line) => `missing from the stack: ${line}`),
      ...comparison.unexpected.map((line) => `not in the template: ${line}`),
      ...comparison.wrongType.map((line) => `wrong type: ${line}`),
      ...comparison.incomplete.map((line) => `not complete: ${line}`),
    ];
    if (comparison.unmodeled.length > 0) {
      const types = [...new Set(comparison.unmodeled.map((line) => line.replace(/^.* \((.*)\)$/, '$1')))];
      log(
        `moto accepted ${comparison.unmodeled.length} resources without creating them, because it has no model for ${types.join(', ')}`,
      );
    }
    if (problems.length > 0) {
      for (const problem of problems) console.error(`rehearse: ${problem}`);
      console.error(`rehearse: failed with ${problems.length} problems`);
      return 1;
    }
    log(
      `passed: ${comparison.checked} of the template's ${expected.size} resources created with their logical ids and types, ` +
        `${comparison.unmodeled.length} accepted by moto without a model`,
    );
    return 0;
  } finally {
    await moto.close();
    log('moto_server stopped');
    if (scratchDir !== undefined) await rm(scratchDir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  // The AWS SDK's notice that its 2027 releases need Node.js 22 would interrupt the report on Node.js 20.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({ options: OPTIONS, allowPositionals: false });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!motoServerInstalled()) {
    console.log(
      "rehearse: skipped: moto_server is not on PATH. Install it with pip install 'moto[server]' to rehearse deployments.",
    );
    return 0;
  }
  return rehearse(process.cwd(), values);
}

runCommand(main, USAGE, (error) => `rehearse: failed: ${error.message}`);
