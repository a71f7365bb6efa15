import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import { parse } from 'yaml';

const execFileAsync = promisify(execFile);

const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const GITHUB_WORKFLOW = '.github/workflows/ci.yml';
const AZURE_PIPELINE = 'azure-pipelines.yml';
const PIPELINE_FILES = [GITHUB_WORKFLOW, AZURE_PIPELINE];
const DEPLOYED_STAGES = ['dev', 'prod'];

type YamlObject = Record<string, unknown>;

/** A GitHub Actions or Azure Pipelines template expression, `${{ inner }}`. */
const expression = (inner: string) => `\${{ ${inner} }}`;

function readText(file: string): string {
  return readFileSync(path.join(PROJECT_DIR, file), 'utf8');
}

function readYaml(file: string): YamlObject {
  return parse(readText(file)) as YamlObject;
}

function asObject(value: unknown, where: string): YamlObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${where} is not a mapping`);
  }
  return value as YamlObject;
}

/** Collects the shell commands of a pipeline file: `run` and `script` steps and the AWS Shell Script task's inline script. */
function shellCommands(file: string): string[] {
  const commands: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      if (['run', 'script', 'bash', 'inlineScript'].includes(key) && typeof value === 'string')
        commands.push(value);
      else visit(value);
    }
  };
  visit(readYaml(file));
  // Join continued lines, so each command is one line.
  return commands.flatMap((command) => command.replace(/\\\n\s*/g, ' ').split('\n'));
}

/** Replaces each stage placeholder of either syntax with a stage name. */
function forStage(text: string, stage: string): string {
  return text.replace(/\$\{\{\s*matrix\.stage\s*\}\}|\$\(deployStage\)/g, stage);
}

/** Help text of a command of this repository, as `--help` prints it. */
async function helpText(script: string): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', script, '--help'], {
    cwd: PROJECT_DIR,
  });
  return stdout;
}

/** Options (`--name`) that a command line passes after `npm run SCRIPT --`. */
function optionsOf(command: string, script: string): string[] {
  const start = command.indexOf(`npm run ${script} --`);
  return [...command.slice(start).matchAll(/\s(--[a-z][a-z-]*)/g)].map((match) => match[1] ?? '');
}

describe.each(PIPELINE_FILES)('%s', (file) => {
  const packageScripts = Object.keys(
    (JSON.parse(readText('package.json')) as { scripts: Record<string, string> }).scripts,
  );
  const commands = shellCommands(file);

  it('parses as YAML', () => {
    expect(() => readYaml(file)).not.toThrow();
  });

  it('runs only npm scripts that package.json defines', () => {
    const used = commands.flatMap((command) =>
      [...command.matchAll(/npm run (?:--\S+ )*([\w:-]+)/g)].map((m) => m[1]),
    );
    const missing = used.filter((script) => !packageScripts.includes(script ?? ''));

    expect(used.length).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  it('names only repository files that exist', () => {
    const text = readText(file);
    const referenced = DEPLOYED_STAGES.flatMap((stage) =>
      [
        ...forStage(text, stage).matchAll(
          /\b((?:config|test|scripts|tools|samples)\/[\w./-]+\.(?:ya?ml|ts|js|jpg|png))/g,
        ),
      ].map((match) => match[1] ?? ''),
    );
    const missing = [...new Set(referenced)].filter(
      (relative) => !existsSync(path.join(PROJECT_DIR, relative)),
    );

    expect(referenced.length).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  it('deploys the package folder with sls deploy --package', () => {
    const deploys = commands.filter((command) => /\bsls deploy\b/.test(command));

    expect(deploys).toHaveLength(DEPLOYED_STAGES.length);
    for (const deploy of deploys) expect(deploy).toMatch(/--package\s+\S+/);
  });

  it('deploys each stage that has a stage file', () => {
    const deployed = commands
      .map((command) => /\bsls deploy --stage (\S+)/.exec(command)?.[1])
      .filter((stage) => stage !== undefined);

    expect(deployed).toEqual(DEPLOYED_STAGES);
    for (const stage of deployed)
      expect(existsSync(path.join(PROJECT_DIR, 'config', 'stages', `${stage}.yml`))).toBe(true);
  });

  it('smoke-tests each stage after deploying it', () => {
    const order = commands
      .map(
        (command) =>
          /\bsls deploy --stage (\S+)/.exec(command)?.[0] ??
          /npm run smoke -- --stage (\S+)/.exec(command)?.[0],
      )
      .filter((step) => step !== undefined);

    expect(order).toEqual([
      'sls deploy --stage dev',
      'npm run smoke -- --stage dev',
      'sls deploy --stage prod',
      'npm run smoke -- --stage prod',
    ]);
  });

  it('checks the bucket prefix before each deploy', () => {
    const order = commands
      .map(
        (command) =>
          /\bsls deploy --stage (\S+)/.exec(command)?.[0] ??
          /grep -q '"example-image-pipeline-' .*?\b(\w+)\/cloudformation-template-update-stack\.json/.exec(
            command,
          )?.[1],
      )
      .filter((step) => step !== undefined);

    expect(order).toEqual(['dev', 'sls deploy --stage dev', 'prod', 'sls deploy --stage prod']);
  });

  it('passes the allowlist to the scan gate', () => {
    const scans = commands.filter((command) => command.includes('npm run scan-gate --'));

    expect(scans.length).toBeGreaterThan(0);
    for (const scan of scans) expect(scan).toContain('--allowlist tools/scan-gate/allowlist.yaml');
  });

  it('holds no AWS access keys', () => {
    const text = readText(file);

    expect(text).not.toMatch(/AKIA[0-9A-Z]{16}/);
    expect(text).not.toMatch(/aws[-_]?secret[-_]?access[-_]?key/i);
    expect(text).not.toMatch(/aws[-_]?access[-_]?key[-_]?id/i);
  });

  it('passes smoke and rehearse only options they accept', async () => {
    for (const [script, source] of [
      ['smoke', 'scripts/smoke.ts'],
      ['rehearse', 'scripts/rehearse.ts'],
    ] as const) {
      const help = await helpText(source);
      const used = commands
        .filter((command) => command.includes(`npm run ${script} --`))
        .flatMap((command) => optionsOf(command, script));

      expect(used).toContain('--stage');
      expect(used.filter((option) => !help.includes(option))).toEqual([]);
    }
  }, 60_000);

  it('passes the scan gate only options it accepts', async () => {
    const help = await helpText('tools/scan-gate/src/cli.ts');
    const used = commands
      .filter((command) => command.includes('npm run scan-gate --'))
      .flatMap((command) => optionsOf(command, 'scan-gate'));
    const unknown = used.filter((option) => !help.includes(option));

    expect(used.length).toBeGreaterThan(0);
    expect(unknown).toEqual([]);
  }, 60_000);
});

describe('GitHub Actions workflow', () => {
  const workflow = readYaml(GITHUB_WORKFLOW);
  const jobs = asObject(workflow.jobs, 'jobs');
  const job = (name: string) => asObject(jobs[name], `jobs.${name}`);
  const steps = (name: string) => job(name).steps as YamlObject[];

  it('passes GitHub workflow parser validation', async () => {
    // @actions/workflow-parser is GitHub's own parser and schema for workflow files (MIT, npm).
    const { stdout } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'support', 'check-workflow.mts'), GITHUB_WORKFLOW],
      { cwd: PROJECT_DIR },
    );

    expect((JSON.parse(stdout) as { errors: string[] }).errors).toEqual([]);
  }, 60_000);

  it('chains validate, package, check and the deploys', () => {
    expect([
      job('package').needs,
      job('check').needs,
      job('deploy-dev').needs,
      job('deploy-prod').needs,
    ]).toEqual(['validate', 'package', 'check', 'deploy-dev']);
  });

  it('deploys dev only from pushes to main', () => {
    expect(job('deploy-dev').if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
  });

  it.each([
    ['deploy-dev', 'dev'],
    ['deploy-prod', 'prod'],
  ])('%s runs in environment %s', (name, environment) => {
    expect(job(name).environment).toBe(environment);
  });

  it.each(['deploy-dev', 'deploy-prod'])('%s may request an OIDC token', (name) => {
    expect(job(name).permissions).toEqual({ contents: 'read', 'id-token': 'write' });
  });

  it.each(['deploy-dev', 'deploy-prod'])('%s assumes the role from a variable', (name) => {
    const credentials = steps(name).find((step) =>
      String(step.uses).startsWith('aws-actions/configure-aws-credentials@'),
    );

    expect(asObject(credentials?.with, 'with')['role-to-assume']).toBe(
      expression('vars.AWS_DEPLOY_ROLE_ARN'),
    );
  });

  it.each([
    ['deploy-dev', 'package-dev'],
    ['deploy-prod', 'package-prod'],
  ])('%s downloads artifact %s', (name, artifact) => {
    const download = steps(name).find((step) => String(step.uses).startsWith('actions/download-artifact@'));

    expect(asObject(download?.with, 'with').name).toBe(artifact);
  });

  it('uploads the scan gate SARIF', () => {
    const upload = steps('check').find((step) =>
      String(step.uses).startsWith('github/codeql-action/upload-sarif@'),
    );

    expect(asObject(upload?.with, 'with').sarif_file).toBe(
      `reports/scan-gate-${expression('matrix.stage')}.sarif`,
    );
  });

  it('check job may write security events', () => {
    expect(asObject(job('check').permissions, 'permissions')['security-events']).toBe('write');
  });
});

describe('Azure Pipelines definition', () => {
  const pipeline = readYaml(AZURE_PIPELINE);
  const stages = pipeline.stages as YamlObject[];
  const stage = (name: string) => {
    const found = stages.find((candidate) => candidate.stage === name);
    if (found === undefined) throw new Error(`no stage ${name}`);
    return found;
  };
  const deploymentJob = (name: string) => asObject((stage(name).jobs as unknown[])[0], `${name}.jobs[0]`);
  const deploySteps = (name: string) => {
    const strategy = asObject(deploymentJob(name).strategy, 'strategy');
    return asObject(asObject(strategy.runOnce, 'runOnce').deploy, 'deploy').steps as YamlObject[];
  };

  it('matches the structural schema', () => {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    const validate = ajv.compile(JSON.parse(readText('test/config/azure-pipelines.schema.json')) as object);
    const valid = validate(pipeline);

    expect(valid ? [] : ajv.errorsText(validate.errors, { separator: '\n' }).split('\n')).toEqual([]);
  });

  // A variable at the root of the YAML overrides the pipeline settings' variable of the same name ("Define
  // variables" in the Azure Pipelines documentation), so these two must stay settings-only.
  it.each(['IMAGE_PIPELINE_BUCKET_PREFIX', 'awsRegion'])('leaves %s to the pipeline settings', (name) => {
    expect(Object.keys(asObject(pipeline.variables, 'variables'))).not.toContain(name);
  });

  it('runs the stages in order', () => {
    expect(stages.map((candidate) => [candidate.stage, candidate.dependsOn])).toEqual([
      ['Validate', undefined],
      ['Package', 'Validate'],
      ['Check', 'Package'],
      ['DeployDev', 'Check'],
      ['DeployProd', 'DeployDev'],
    ]);
  });

  it('deploys dev only from main', () => {
    expect(stage('DeployDev').condition).toContain("eq(variables['Build.SourceBranch'], 'refs/heads/main')");
  });

  it.each([
    ['DeployDev', 'image-pipeline-dev'],
    ['DeployProd', 'image-pipeline-prod'],
  ])('%s is a deployment job on %s', (name, environment) => {
    expect(deploymentJob(name).environment).toBe(environment);
  });

  it.each([
    ['DeployDev', 'package-dev'],
    ['DeployProd', 'package-prod'],
  ])('%s downloads artifact %s', (name, artifact) => {
    expect(deploySteps(name).find((step) => step.download === 'current')?.artifact).toBe(artifact);
  });

  it.each([
    ['DeployDev', 'awsServiceConnectionDev'],
    ['DeployProd', 'awsServiceConnectionProd'],
  ])('%s takes AWS credentials from a service connection', (name, variable) => {
    const shell = deploySteps(name).find((step) => step.task === 'AWSShellScript@1');

    expect(asObject(shell?.inputs, 'inputs').awsCredentials).toBe(expression(`variables.${variable}`));
  });

  it('publishes a package per stage', () => {
    const packageJob = asObject((stage('Package').jobs as unknown[])[0], 'Package.jobs[0]');
    const matrix = asObject(asObject(packageJob.strategy, 'strategy').matrix, 'matrix');

    expect(Object.values(matrix).map((entry) => asObject(entry, 'matrix entry').deployStage)).toEqual(
      DEPLOYED_STAGES,
    );
    expect((packageJob.steps as YamlObject[]).find((step) => 'publish' in step)?.artifact).toBe(
      'package-$(deployStage)',
    );
  });
});
