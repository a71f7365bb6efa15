import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  acknowledgedIds,
  type NagFinding,
  type NagSuppression,
  runAwsSolutionsChecks,
  suppressionsOf,
} from './cdk-nag';
import { type CloudFormationTemplate, compiledPackage, PACKAGE_TIMEOUT_MS } from './compiled-template';

// A reason is read by the next reviewer, so it needs at least this many words to state a fact.
const MIN_REASON_WORDS = 6;

const describeFinding = (finding: NagFinding) => `${finding.ruleId} on ${finding.logicalId}`;

let template: CloudFormationTemplate;
let templatePath: string;
let workDir: string;

beforeAll(async () => {
  ({ template, templatePath } = await compiledPackage());
  workDir = mkdtempSync(path.join(tmpdir(), 'cdk-nag-test-'));
}, PACKAGE_TIMEOUT_MS);

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/** Writes a copy of the template without any cdk_nag metadata and returns its path. */
function templateWithoutSuppressions(): string {
  const copy = JSON.parse(JSON.stringify(template)) as CloudFormationTemplate;
  for (const resource of Object.values(copy.Resources)) {
    const metadata = resource.Metadata as Record<string, unknown> | undefined;
    if (metadata !== undefined) delete metadata.cdk_nag;
  }
  const file = path.join(workDir, 'template-without-nag-suppressions.json');
  writeFileSync(file, JSON.stringify(copy));
  return file;
}

function templateSuppressions(): Array<{ logicalId: string; suppression: NagSuppression }> {
  return Object.keys(template.Resources).flatMap((logicalId) =>
    suppressionsOf(template, logicalId).map((suppression) => ({ logicalId, suppression })),
  );
}

describe('cdk-nag AwsSolutions checks', () => {
  it(
    'compiled template has no unsuppressed findings',
    () => {
      const findings = runAwsSolutionsChecks(templatePath);

      expect(findings.map(describeFinding)).toEqual([]);
    },
    PACKAGE_TIMEOUT_MS,
  );

  it(
    'every suppression in the template matches a finding',
    () => {
      // Without the template's suppressions, the checks must report each suppressed finding. A suppression
      // that matches nothing is stale, and it would hide a future finding of the same rule.
      const findings = new Set(runAwsSolutionsChecks(templateWithoutSuppressions()).map(describeFinding));
      const unmatched = templateSuppressions()
        .flatMap(({ logicalId, suppression }) =>
          acknowledgedIds(suppression).map((ruleId) => `${ruleId} on ${logicalId}`),
        )
        .filter((described) => !findings.has(described));

      expect(unmatched).toEqual([]);
    },
    PACKAGE_TIMEOUT_MS,
  );

  it('template carries suppressions', () => {
    expect(templateSuppressions().length).toBeGreaterThan(0);
  });

  it('every suppression in the template gives a reason', () => {
    const unexplained = templateSuppressions()
      .filter(({ suppression }) => (suppression.reason ?? '').trim().split(/\s+/).length < MIN_REASON_WORDS)
      .map(({ logicalId, suppression }) => `${suppression.id} on ${logicalId}`);

    expect(unexplained).toEqual([]);
  });

  it('no suppression in the template covers a whole IAM5 rule', () => {
    // A bare IAM5 suppression would also hide every wildcard added later; each must name its resource.
    const broad = templateSuppressions()
      .filter(({ suppression }) => suppression.id === 'AwsSolutions-IAM5')
      .filter(({ suppression }) => (suppression.applies_to ?? []).length === 0)
      .map(({ logicalId }) => logicalId);

    expect(broad).toEqual([]);
  });
});
