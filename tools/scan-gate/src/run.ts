import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadAllowlist } from './allowlist';
import { connectAnchore, scanWithAnchore } from './anchore/scan';
import type { Clock } from './clock';
import { EXIT_CODES, ToolError } from './errors';
import { evaluateGate, type GateOutcome } from './gate';
import { scanWithGrype } from './grype';
import {
  ENV,
  parseCommand,
  type RegisterRegistryCommand,
  readAnchoreConnection,
  type ScanCommand,
  USAGE,
} from './options';
import { redact } from './redact';
import { renderJunit } from './reports/junit';
import { renderSarif } from './reports/sarif';
import { renderJsonSummary, renderMarkdown } from './reports/summary';
import { neutralizeRunnerCommands } from './runner-commands';
import { SEVERITIES } from './severity';
import type { ScanResult } from './types';

/** Environment, output streams and clock of a run, injected so that tests run the command in-process. */
export interface RunContext {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  clock: Clock;
  /** Working directory for relative report locations. */
  cwd: string;
}

/** Result of a scan command: the exit code and, when the gate ran, its outcome. */
export interface RunResult {
  exitCode: number;
  outcome?: GateOutcome;
}

async function writeReport(file: string | undefined, content: () => string): Promise<void> {
  if (!file) return;
  try {
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(file, content());
  } catch (error) {
    throw new ToolError(`cannot write the report ${file}: ${(error as Error).message}`, { cause: error });
  }
}

async function scanTarget(target: string, command: ScanCommand, context: RunContext): Promise<ScanResult> {
  const log = (message: string) => {
    if (!command.quiet) context.stderr(`${message}\n`);
  };
  if (command.backend === 'grype') {
    log(`grype: scanning ${target}`);
    return scanWithGrype(target, { env: context.env, extraArgs: command.grypeArgs });
  }
  const { connection, api } = readAnchoreConnection(context.env, command.api);
  return scanWithAnchore(target, {
    connection,
    api,
    poll: command.poll,
    httpRetry: command.httpRetry,
    clock: context.clock,
    ...(command.tag ? { tag: command.tag } : {}),
    ...(command.policyId ? { policyId: command.policyId } : {}),
    vulnerabilityType: command.vulnerabilityType,
    force: command.force,
    log,
  });
}

function printOutcome(outcome: GateOutcome, command: ScanCommand, context: RunContext): void {
  if (!command.quiet) {
    for (const target of outcome.targets) {
      const counts = SEVERITIES.slice()
        .reverse()
        .map((s) => `${s} ${target.counts[s]}`)
        .join(', ');
      const policy = target.result.policy ? `; policy ${target.result.policy.finalAction}` : '';
      context.stdout(
        `${target.result.target}: ${target.failures.length === 0 ? 'pass' : 'FAIL'} (${counts}${policy})\n`,
      );
      for (const failure of target.failures) context.stdout(`  fail: ${failure}\n`);
    }
    for (const warning of outcome.warnings) context.stdout(`warning: ${warning}\n`);
  }
  const verdict = outcome.passed
    ? 'scan gate passed'
    : outcome.reportOnly
      ? 'scan gate failed (report-only: exit code 0)'
      : 'scan gate failed';
  context.stdout(`${verdict}\n`);
}

async function runScan(command: ScanCommand, context: RunContext): Promise<RunResult> {
  const allowlist = command.allowlistFile ? await loadAllowlist(command.allowlistFile) : [];
  const results: ScanResult[] = [];
  for (const target of command.targets) results.push(await scanTarget(target, command, context));

  const outcome = evaluateGate(
    results,
    {
      severityThreshold: command.severityThreshold,
      maxCounts: command.maxCounts,
      onlyFixed: command.onlyFixed,
      allowlist,
      reportOnly: command.reportOnly,
    },
    new Date(context.clock.now()),
  );

  await writeReport(command.reports.sarif, () => renderSarif(outcome, context.cwd));
  await writeReport(command.reports.junit, () => renderJunit(outcome));
  await writeReport(command.reports.json, () => renderJsonSummary(outcome));
  await writeReport(command.reports.markdown, () => renderMarkdown(outcome));
  printOutcome(outcome, command, context);
  return { exitCode: outcome.exitCode, outcome };
}

async function runRegisterRegistry(
  command: RegisterRegistryCommand,
  context: RunContext,
): Promise<RunResult> {
  const { connection, api } = readAnchoreConnection(context.env, command.api);
  const user = context.env[ENV.registryUser];
  const password = context.env[ENV.registryPassword];
  if (!user || !password) {
    throw new ToolError(
      `${ENV.registryUser} and ${ENV.registryPassword} must be set to the registry login (for Azure Container ` +
        'Registry with the admin user enabled: the values of `az acr credential show --name REGISTRY`)',
    );
  }
  const client = await connectAnchore(connection, api, context.clock, command.httpRetry);
  const result = await client.addRegistry({
    registry: command.registry,
    user,
    password,
    registryType: command.registryType,
    verifyTls: command.verifyTls,
    ...(command.registryName ? { name: command.registryName } : {}),
  });
  context.stdout(`registry ${command.registry} ${result} on the Anchore server (API ${client.version})\n`);
  return { exitCode: EXIT_CODES.pass };
}

/**
 * Runs the scan gate command line and returns its exit code: 0 passed, 1 tool error, 2 gate failed.
 * Every line written and every error message has the credentials from the environment removed and carries no
 * CI logging command (see {@link neutralizeRunnerCommands}).
 */
export async function runCli(argv: string[], context: RunContext): Promise<RunResult> {
  const secrets = [context.env[ENV.anchorePassword], context.env[ENV.registryPassword]];
  const clean = (text: string) => neutralizeRunnerCommands(redact(text, secrets));
  const safe: RunContext = {
    ...context,
    stdout: (text) => context.stdout(clean(text)),
    stderr: (text) => context.stderr(clean(text)),
  };
  try {
    const command = parseCommand(argv);
    if (command.command === 'help') {
      safe.stdout(USAGE);
      return { exitCode: EXIT_CODES.pass };
    }
    if (command.command === 'register-registry') return await runRegisterRegistry(command, safe);
    return await runScan(command, safe);
  } catch (error) {
    const message =
      error instanceof ToolError ? error.message : `unexpected error: ${(error as Error).stack ?? error}`;
    safe.stderr(`scan-gate: error: ${message}\n`);
    return { exitCode: EXIT_CODES.toolError };
  }
}
