import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import { systemClock } from '../../src/clock';
import { EXIT_CODES } from '../../src/errors';
import { ENV } from '../../src/options';
import { runCli } from '../../src/run';
import { mapTaskInputs } from './inputs';

// Azure DevOps task entry point: map the inputs, run the gate in-process, publish its reports, set the result.
async function main(): Promise<void> {
  // Mask credentials in the pipeline log even if some other step echoes them.
  for (const name of [ENV.anchorePassword, ENV.registryPassword]) {
    const value = process.env[name];
    if (value) tl.setSecret(value);
  }

  const defaultRoot = tl.getVariable('System.DefaultWorkingDirectory') ?? process.cwd();
  const temp = tl.getVariable('Agent.TempDirectory') ?? defaultRoot;
  const invocation = mapTaskInputs(
    (name) => tl.getInput(name, false) || undefined,
    (pattern) => tl.findMatch(defaultRoot, pattern),
    path.join(temp, 'scan-gate'),
  );
  tl.debug(`scan-gate arguments: ${invocation.argv.join(' ')}`);

  const { exitCode, outcome } = await runCli(invocation.argv, {
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stdout.write(text),
    clock: systemClock,
    cwd: defaultRoot,
  });

  if (invocation.publishTestResults && existsSync(invocation.reports.junit)) {
    new tl.TestPublisher('JUnit').publish(
      [invocation.reports.junit],
      'false',
      '',
      '',
      'Vulnerability gate',
      'true',
    );
  }
  if (existsSync(invocation.reports.markdown))
    tl.command('task.uploadsummary', null, invocation.reports.markdown);
  tl.setVariable('ScanGate.SarifPath', invocation.reports.sarif);
  tl.setVariable('ScanGate.JsonPath', invocation.reports.json);

  if (exitCode === EXIT_CODES.gateFailed) {
    tl.setResult(
      tl.TaskResult.Failed,
      'The vulnerability gate failed; see the summary and the test results.',
    );
  } else if (exitCode === EXIT_CODES.toolError) {
    tl.setResult(tl.TaskResult.Failed, 'The vulnerability gate could not run; see the log above.');
  } else if (outcome && (!outcome.passed || outcome.warnings.length > 0)) {
    for (const warning of outcome.warnings) tl.warning(warning);
    tl.setResult(
      tl.TaskResult.SucceededWithIssues,
      outcome.passed
        ? 'The vulnerability gate passed with warnings.'
        : 'The vulnerability gate failed (report-only).',
    );
  } else {
    tl.setResult(tl.TaskResult.Succeeded, 'The vulnerability gate passed.');
  }
}

main().catch((error: Error) => {
  tl.setResult(tl.TaskResult.Failed, `scan-gate task error: ${error.message}`);
});
