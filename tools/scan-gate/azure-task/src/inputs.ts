import path from 'node:path';

/** Reads one task input; returns undefined when it is empty. */
export type InputReader = (name: string) => string | undefined;

/** Expands a file pattern such as `.serverless/*.zip` into matching paths (tl.findMatch in the task). */
export type PatternExpander = (pattern: string) => string[];

/** The gate's command line and report files, derived from the task inputs. */
export interface TaskInvocation {
  argv: string[];
  reports: { sarif: string; junit: string; json: string; markdown: string };
  publishTestResults: boolean;
}

// Numeric inputs and the gate option each one sets.
const NUMERIC_INPUTS: [input: string, option: string][] = [
  ['maxAttempts', '--max-attempts'],
  ['intervalSeconds', '--interval'],
  ['backoff', '--backoff'],
  ['timeoutSeconds', '--timeout'],
  ['stuckAfterSeconds', '--stuck-after'],
  ['httpRetries', '--http-retries'],
];

const GLOB = /[*?[\]{}]/;

function isTrue(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === 'true';
}

/**
 * Maps the task's inputs (see task.json) to the scan gate's command line. Targets are one per line. A line with
 * glob characters is expanded to the files it matches, and kept as it is when it matches none so that an image
 * reference passes through. The command line parser validates the values and names the option at fault.
 */
export function mapTaskInputs(
  getInput: InputReader,
  expand: PatternExpander,
  defaultOutputDirectory: string,
): TaskInvocation {
  const targets = (getInput('targets') ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .flatMap((line) => {
      if (!GLOB.test(line)) return [line];
      const matches = expand(line);
      return matches.length > 0 ? matches : [line];
    });

  const outputDirectory = getInput('outputDirectory') ?? defaultOutputDirectory;
  const reports = {
    sarif: path.join(outputDirectory, 'scan-gate.sarif'),
    junit: path.join(outputDirectory, 'scan-gate.junit.xml'),
    json: path.join(outputDirectory, 'scan-gate.json'),
    markdown: path.join(outputDirectory, 'scan-gate.md'),
  };

  const argv = ['scan', '--backend', getInput('backend') ?? 'grype'];
  const optional: [input: string, option: string][] = [
    ['api', '--api'],
    ['tag', '--tag'],
    ['policyId', '--policy-id'],
    ['vulnerabilityType', '--vuln-type'],
    ['severityThreshold', '--severity-threshold'],
    ['allowlistFile', '--allowlist'],
    ...NUMERIC_INPUTS,
  ];
  for (const [input, option] of optional) {
    const value = getInput(input)?.trim();
    if (value) argv.push(option, value);
  }
  for (const item of (getInput('maxCounts') ?? '').split(/[,\s]+/)) {
    if (item.trim()) argv.push('--max-count', item.trim());
  }
  if (isTrue(getInput('onlyFixed'))) argv.push('--only-fixed');
  if (isTrue(getInput('reportOnly'))) argv.push('--report-only');
  if (isTrue(getInput('force'))) argv.push('--force');
  for (const line of (getInput('grypeArguments') ?? '').split(/\r?\n/)) {
    if (line.trim()) argv.push(`--grype-arg=${line.trim()}`);
  }
  argv.push(
    '--sarif',
    reports.sarif,
    '--junit',
    reports.junit,
    '--json',
    reports.json,
    '--markdown',
    reports.markdown,
    // `--` ends the options so that a target starting with a dash stays a target.
    '--',
    ...targets,
  );

  const publish = getInput('publishTestResults');
  return { argv, reports, publishTestResults: publish === undefined ? true : isTrue(publish) };
}
