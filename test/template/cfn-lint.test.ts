import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { compiledPackage, PACKAGE_TIMEOUT_MS, TEST_STAGE } from './compiled-template';

const execFileAsync = promisify(execFile);

/** One finding in cfn-lint's JSON output. */
interface LintMatch {
  Level: 'Error' | 'Warning' | 'Informational';
  Message: string;
  Rule: { Id: string };
  Location: { Path: Array<string | number> };
}

// cfn-lint is a Python tool, not an npm package, so a machine may lack it.
const cfnLintInstalled = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;

/** Title suffix with the reason jest reports the suites as skipped when cfn-lint is not on PATH. */
const SKIP_REASON = cfnLintInstalled
  ? ''
  : ' (skipped: cfn-lint is not on PATH; install it with pip install cfn-lint)';
const describeWithCfnLint = cfnLintInstalled ? describe : describe.skip;

async function lint(templatePath: string): Promise<LintMatch[]> {
  try {
    const { stdout } = await execFileAsync('cfn-lint', ['--format', 'json', '--', templatePath]);
    return JSON.parse(stdout || '[]') as LintMatch[];
  } catch (error) {
    // cfn-lint exits non-zero whenever it reports a finding; the findings are still on stdout.
    const { stdout } = error as { stdout?: string };
    if (stdout === undefined || stdout.trim() === '') throw error;
    return JSON.parse(stdout) as LintMatch[];
  }
}

const describeFinding = (match: LintMatch) =>
  `${match.Rule.Id} at ${match.Location.Path.join('/')}: ${match.Message}`;

// The stages with a parameter file of their own, and the test stage, which gets what any new stage gets.
const STAGES = [TEST_STAGE, 'dev', 'local', 'prod'];

describeWithCfnLint.each(STAGES)(`cfn-lint on the compiled template of stage %s${SKIP_REASON}`, (stage) => {
  let matches: LintMatch[];

  beforeAll(async () => {
    const { templatePath } = await compiledPackage(stage);
    matches = await lint(templatePath);
  }, PACKAGE_TIMEOUT_MS);

  it('reports no errors', () => {
    expect(matches.filter((match) => match.Level === 'Error').map(describeFinding)).toEqual([]);
  });

  it('reports no warnings', () => {
    expect(matches.filter((match) => match.Level === 'Warning').map(describeFinding)).toEqual([]);
  });
});
