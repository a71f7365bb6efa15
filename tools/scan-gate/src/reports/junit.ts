import type { EvaluatedFinding, GateOutcome, TargetOutcome } from '../gate';

/** Whether XML 1.0 can carry a code point (tab, line feed, carriage return and the printable ranges). */
function isXmlChar(codePoint: number): boolean {
  return (
    codePoint === 0x09 ||
    codePoint === 0x0a ||
    codePoint === 0x0d ||
    (codePoint >= 0x20 && codePoint <= 0xd7ff) ||
    (codePoint >= 0xe000 && codePoint <= 0xfffd) ||
    codePoint >= 0x10000
  );
}

/** Escapes text for an XML attribute or element, dropping characters XML 1.0 cannot carry. */
export function escapeXml(text: string): string {
  return Array.from(text)
    .filter((char) => isXmlChar(char.codePointAt(0) ?? 0))
    .join('')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function testcase(target: TargetOutcome, item: EvaluatedFinding): string {
  const { finding } = item;
  const name = escapeXml(`${finding.id} in ${finding.packageName} ${finding.packageVersion}`.trim());
  const classname = escapeXml(target.result.target);
  const open = `    <testcase classname="${classname}" name="${name}" time="0">`;
  const fix =
    finding.fixVersions.length > 0 ? `fixed in ${finding.fixVersions.join(', ')}` : 'no fix available';
  const detail = escapeXml(`${finding.severity}; ${fix}${finding.url ? `; ${finding.url}` : ''}`);
  switch (item.verdict) {
    case 'violation':
      return `${open}\n      <failure message="${escapeXml(`${finding.severity} vulnerability ${finding.id}`)}" type="${finding.severity}">${detail}</failure>\n    </testcase>`;
    case 'allowlisted':
      return `${open}\n      <skipped message="${escapeXml(`allowlisted until ${item.allowlistEntry?.expires}: ${item.allowlistEntry?.reason}`)}"/>\n    </testcase>`;
    case 'no-fix':
      return `${open}\n      <skipped message="no fix available (--only-fixed)"/>\n    </testcase>`;
    default:
      return `${open}</testcase>`;
  }
}

function policyCase(target: TargetOutcome): string | undefined {
  const policy = target.result.policy;
  if (!policy) return undefined;
  const open = `    <testcase classname="${escapeXml(target.result.target)}" name="Anchore policy evaluation" time="0">`;
  const detail = escapeXml(policy.reasons.join('\n'));
  if (policy.finalAction === 'stop') {
    return `${open}\n      <failure message="policy evaluation returned stop" type="policy">${detail}</failure>\n    </testcase>`;
  }
  if (policy.finalAction === 'warn')
    return `${open}\n      <system-out>policy evaluation returned warn\n${detail}</system-out>\n    </testcase>`;
  return `${open}</testcase>`;
}

function maxCountCases(target: TargetOutcome): string[] {
  return target.failures
    .filter((failure) => failure.includes('--max-count'))
    .map(
      (failure) =>
        `    <testcase classname="${escapeXml(target.result.target)}" name="${escapeXml('maximum count')}" time="0">\n` +
        `      <failure message="${escapeXml(failure)}" type="max-count"/>\n    </testcase>`,
    );
}

/**
 * Renders the outcome as JUnit XML (the schema Azure DevOps' PublishTestResults task reads): one test suite per
 * target, one test case per finding, plus cases for the policy evaluation and exceeded maximum counts.
 */
export function renderJunit(outcome: GateOutcome): string {
  let totalTests = 0;
  let totalFailures = 0;
  const suites = outcome.targets.map((target) => {
    const cases = [
      ...target.findings.map((item) => testcase(target, item)),
      ...[policyCase(target)].filter((c): c is string => c !== undefined),
      ...maxCountCases(target),
    ];
    const failures = cases.filter((c) => c.includes('<failure')).length;
    const skipped = cases.filter((c) => c.includes('<skipped')).length;
    totalTests += cases.length;
    totalFailures += failures;
    return (
      `  <testsuite name="${escapeXml(target.result.target)}" tests="${cases.length}" failures="${failures}" ` +
      `errors="0" skipped="${skipped}" time="0">\n${cases.join('\n')}\n  </testsuite>`
    );
  });
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="scan-gate" tests="${totalTests}" failures="${totalFailures}" errors="0" time="0">\n` +
    `${suites.join('\n')}\n</testsuites>\n`
  );
}
