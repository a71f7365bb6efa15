import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { StackDescription } from '../../../local/stack-file';
import { PROJECT_DIR } from './pipeline-stack';

const TSX = path.join(PROJECT_DIR, 'node_modules', '.bin', 'tsx');

/** A command of this project run as `npm run` runs it (through tsx), in its own process group. */
export interface ProjectCommand {
  child: ChildProcess;
  /** Standard output and standard error together. */
  output(): string;
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal to the whole process group, as a terminal's Ctrl+C does. */
  signalGroup(signal: NodeJS.Signals): void;
}

/** Runs a TypeScript entry point through tsx, or an npm script (`npm run NAME -- ARGS`) when `script` has no slash. */
export function runProjectCommand(script: string, args: string[]): ProjectCommand {
  const [file, commandArgs] = script.includes('/')
    ? [TSX, [script, ...args]]
    : ['npm', ['run', '--silent', script, '--', ...args]];
  const child = spawn(file, commandArgs, {
    cwd: PROJECT_DIR,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    output: () => `${stdout}\n${stderr}`,
    stdout: () => stdout,
    exited,
    signalGroup: (signal) => {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    },
  };
}

/** Polls until the text appears in a command's output; false when the command ends first or never prints it. */
export async function waitForOutput(command: ProjectCommand, text: string, attempts = 600): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (command.output().includes(text)) return true;
    if (command.child.exitCode !== null) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** Waits for `<dataDir>/stack.json` of a starting stack and returns it; undefined when the command ends first. */
export async function waitForStackFile(
  command: ProjectCommand,
  dataDir: string,
  attempts = 600,
): Promise<StackDescription | undefined> {
  const file = path.join(dataDir, 'stack.json');
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as StackDescription;
    if (command.child.exitCode !== null) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

/** True while any process of the command's group is alive. */
export function groupIsAlive(command: ProjectCommand): boolean {
  if (command.child.pid === undefined) return false;
  try {
    process.kill(-command.child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until a command's process group has no process left, or `limitMs` passed, and returns whether it is gone.
 * Processes killed during the command's shutdown can still be exiting for a moment after the command itself exits.
 */
export async function groupEnds(command: ProjectCommand, limitMs = 5000): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (groupIsAlive(command)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/** Stops whatever is left of a command's process group. */
export function killGroup(command: ProjectCommand | undefined): void {
  if (command === undefined || !groupIsAlive(command)) return;
  command.signalGroup('SIGKILL');
}
