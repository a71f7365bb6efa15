import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildTask } from '../azure-task/build';
import { mapTaskInputs } from '../azure-task/src/inputs';
import { installFakeGrype } from './support/fake-grype';
import { writeZip } from './support/zip';

// The task library's MockTestRunner (azure-pipelines-task-lib/mock-test, 5.281.0) downloads a Node binary from
// nodejs.org for the handler named in task.json, which this machine cannot reach. These tests therefore check the
// input mapping directly, and run the bundled task under the library's TaskMockRunner (mock-run) with this Node.

const TASK_JSON = path.join(__dirname, '..', 'azure-task', 'task.json');
const ROOT_NODE_MODULES = path.join(__dirname, '..', '..', '..', 'node_modules');
const FIXTURES = path.join(__dirname, 'fixtures');

function reader(inputs: Record<string, string>) {
  return (name: string) => inputs[name] || undefined;
}

function argvFor(inputs: Record<string, string>, expand: (pattern: string) => string[] = () => []): string[] {
  return mapTaskInputs(reader(inputs), expand, '/agent/_temp/scan-gate').argv;
}

function optionValue(argv: string[], option: string): string | undefined {
  const index = argv.indexOf(option);
  return index >= 0 ? argv[index + 1] : undefined;
}

describe('task.json', () => {
  const task = JSON.parse(readFileSync(TASK_JSON, 'utf8')) as {
    execution: Record<string, { target: string }>;
    inputs: { name: string }[];
  };

  it('runs on the Node20_1 handler', () => {
    expect(task.execution.Node20_1?.target).toBe('dist/index.js');
  });

  it('declares every input the mapping reads', () => {
    const read: string[] = [];
    mapTaskInputs(
      (name) => {
        read.push(name);
        return undefined;
      },
      () => [],
      '/tmp',
    );
    const declared = task.inputs.map((input) => input.name);
    expect(read.filter((name) => !declared.includes(name))).toEqual([]);
  });
});

describe('task input mapping', () => {
  it('defaults to the grype backend', () => {
    expect(optionValue(argvFor({ targets: 'dist' }), '--backend')).toBe('grype');
  });

  it('expands a file pattern into the matching zips', () => {
    const argv = argvFor({ targets: '.serverless/*.zip' }, () => [
      '/w/.serverless/a.zip',
      '/w/.serverless/b.zip',
    ]);
    expect(argv.slice(argv.indexOf('--') + 1)).toEqual(['/w/.serverless/a.zip', '/w/.serverless/b.zip']);
  });

  it('keeps an image reference as it is', () => {
    const argv = argvFor({ backend: 'anchore', targets: 'myregistry.azurecr.io/app:1.0.0' });
    expect(argv.slice(argv.indexOf('--') + 1)).toEqual(['myregistry.azurecr.io/app:1.0.0']);
  });

  it('keeps a pattern that matches nothing', () => {
    const argv = argvFor({ targets: 'missing/*.zip' });
    expect(argv.slice(argv.indexOf('--') + 1)).toEqual(['missing/*.zip']);
  });

  it('splits maximum counts', () => {
    const argv = argvFor({ targets: 'x', maxCounts: 'high=5, medium=20' });
    expect(argv.filter((_, i) => argv[i - 1] === '--max-count')).toEqual(['high=5', 'medium=20']);
  });

  it.each([
    ['severityThreshold', 'critical', '--severity-threshold'],
    ['api', 'v1', '--api'],
    ['tag', 'repo/app:1', '--tag'],
    ['policyId', 'p-1', '--policy-id'],
    ['allowlistFile', 'allow.yaml', '--allowlist'],
    ['maxAttempts', '50', '--max-attempts'],
    ['intervalSeconds', '10', '--interval'],
    ['backoff', '1.5', '--backoff'],
    ['timeoutSeconds', '600', '--timeout'],
    ['stuckAfterSeconds', '120', '--stuck-after'],
    ['httpRetries', '3', '--http-retries'],
    ['vulnerabilityType', 'os', '--vuln-type'],
  ])('maps %s to %s', (input, value, option) => {
    expect(optionValue(argvFor({ targets: 'x', [input]: value }), option)).toBe(value);
  });

  it.each([
    ['onlyFixed', '--only-fixed'],
    ['reportOnly', '--report-only'],
    ['force', '--force'],
  ])('maps %s true to %s', (input, option) => {
    expect(argvFor({ targets: 'x', [input]: 'true' })).toContain(option);
  });

  it('leaves out a false flag', () => {
    expect(argvFor({ targets: 'x', onlyFixed: 'false' })).not.toContain('--only-fixed');
  });

  it('writes the reports to the output directory', () => {
    const invocation = mapTaskInputs(reader({ targets: 'x', outputDirectory: '/out' }), () => [], '/tmp');
    expect(invocation.reports.sarif).toBe(path.join('/out', 'scan-gate.sarif'));
  });

  it('publishes test results by default', () => {
    expect(mapTaskInputs(reader({ targets: 'x' }), () => [], '/tmp').publishTestResults).toBe(true);
  });
});

// A harness in the style of the task library's examples: TaskMockRunner sets the inputs and findMatch answers,
// then runs the bundled task with the mock task library in place of the real one.
const HARNESS = `
const { TaskMockRunner } = require('azure-pipelines-task-lib/mock-run');
const settings = JSON.parse(process.env.HARNESS_SETTINGS);
const runner = new TaskMockRunner(settings.bundle);
for (const [name, value] of Object.entries(settings.inputs)) runner.setInput(name, value);
runner.setAnswers({ findMatch: settings.findMatch });
runner.run();
`;

describe('task under TaskMockRunner', () => {
  let bundle: string;
  let workDir: string;

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'scan-gate-task-'));
    bundle = await buildTask(path.join(workDir, 'dist', 'index.js'));
    writeFileSync(path.join(workDir, 'harness.js'), HARNESS);
  });

  function runTask(fixture: string, inputs: Record<string, string>) {
    const zips = ['createThumbnail.zip', 'analyzeImage.zip'].map((name) => path.join(workDir, name));
    for (const zip of zips) writeZip(zip, { 'index.js': '\n' });
    const grype = installFakeGrype(path.join(FIXTURES, fixture));
    const outputDirectory = mkdtempSync(path.join(workDir, 'out-'));
    const child = spawnSync(process.execPath, [path.join(workDir, 'harness.js')], {
      env: {
        ...grype.env,
        NODE_PATH: ROOT_NODE_MODULES,
        HARNESS_SETTINGS: JSON.stringify({
          bundle,
          inputs: { targets: '.serverless/*.zip', outputDirectory, ...inputs },
          findMatch: { '.serverless/*.zip': zips },
        }),
      },
      encoding: 'utf8',
    });
    return { stdout: child.stdout, outputDirectory, grype };
  }

  it('succeeds on clean zips', () => {
    const { stdout } = runTask('grype-clean.json', {});
    expect(stdout).toContain('##vso[task.complete result=Succeeded;]');
  });

  it('fails on zips with high findings', () => {
    const { stdout } = runTask('grype-node-modules.json', {});
    expect(stdout).toContain('##vso[task.complete result=Failed;]');
  });

  it('succeeds with issues in report-only mode', () => {
    const { stdout } = runTask('grype-node-modules.json', { reportOnly: 'true' });
    expect(stdout).toContain('##vso[task.complete result=SucceededWithIssues;]');
  });

  it('publishes the JUnit report', () => {
    const { stdout, outputDirectory } = runTask('grype-clean.json', {});
    expect(stdout).toContain(`##vso[results.publish type=JUnit;mergeResults=false;`);
    expect(stdout).toContain(path.join(outputDirectory, 'scan-gate.junit.xml'));
  });

  it('uploads the markdown summary', () => {
    const { stdout, outputDirectory } = runTask('grype-clean.json', {});
    expect(stdout).toContain(`##vso[task.uploadsummary]${path.join(outputDirectory, 'scan-gate.md')}`);
  });

  it('scans the last matched zip with grype', () => {
    const { grype } = runTask('grype-clean.json', {});
    expect(grype.readRecord().files).toEqual(['index.js']);
  });

  it('fails when the threshold input is invalid', () => {
    const { stdout } = runTask('grype-clean.json', { severityThreshold: 'severe' });
    expect(stdout).toContain('--severity-threshold must be one of');
    expect(stdout).toContain('##vso[task.complete result=Failed;]');
  });
});
