import path from 'node:path';
import type { EvaluatedFinding, GateOutcome, TargetOutcome } from '../gate';
import type { Severity } from '../severity';

/** Version of this tool, shown as the SARIF driver version. */
export const TOOL_VERSION = '1.0.0';

// GitHub code scanning ranks security results by the rule property `security-severity` (a CVSS-like score as
// text); these values sit inside GitHub's bands: critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9.
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '2.0',
  negligible: '0.5',
  unknown: '0.0',
};

interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  helpUri?: string;
  help: { text: string };
  properties: { 'security-severity': string; tags: string[] };
}

/**
 * Returns the URL when it is an absolute http or https URL, percent-encoded as the WHATWG URL parser writes it,
 * because SARIF's helpUri must be a valid URI and a viewer turns it into a link.
 */
function helpUri(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

function ruleFor(item: EvaluatedFinding): SarifRule {
  const { finding } = item;
  const uri = helpUri(finding.url);
  const rule: SarifRule = {
    id: finding.id,
    name: finding.id.replace(/[^A-Za-z0-9]/g, ''),
    shortDescription: { text: `${finding.id} (${finding.severity})` },
    fullDescription: { text: finding.description ?? `${finding.id}, severity ${finding.severity}` },
    help: { text: finding.url ? `See ${finding.url}` : `No advisory link was reported for ${finding.id}.` },
    properties: {
      'security-severity':
        finding.cvssScore !== undefined ? finding.cvssScore.toFixed(1) : SECURITY_SEVERITY[finding.severity],
      tags: ['security', 'vulnerability', finding.severity],
    },
  };
  if (uri) rule.helpUri = uri;
  return rule;
}

/**
 * Returns the artifact URI of a target: a file path relative to the working directory, or the image name. Each
 * path segment is percent-encoded, because a URI reference cannot hold a space and reads `#` as the start of a
 * fragment and `%` as the start of an escape.
 */
function artifactUri(target: TargetOutcome, cwd: string): string {
  const name = target.result.target;
  if (target.result.backend === 'grype' && !/^[a-z-]+:/.test(name)) {
    const relative = path.relative(cwd, path.resolve(cwd, name)).split(path.sep);
    return relative.map((segment) => encodeURIComponent(segment)).join('/') || '.';
  }
  return name.replace(/^[a-z-]+:/, '');
}

function level(item: EvaluatedFinding): 'error' | 'warning' | 'note' {
  if (item.verdict === 'violation') return 'error';
  return item.finding.severity === 'critical' ||
    item.finding.severity === 'high' ||
    item.finding.severity === 'medium'
    ? 'warning'
    : 'note';
}

/**
 * Renders the outcome as SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), one run with one rule
 * per vulnerability id. Allowlisted findings carry an external suppression with the allowlist reason.
 */
export function renderSarif(outcome: GateOutcome, cwd = process.cwd()): string {
  const rules: SarifRule[] = [];
  const ruleIndex = new Map<string, number>();
  const results = outcome.targets.flatMap((target) =>
    target.findings.map((item) => {
      const { finding } = item;
      if (!ruleIndex.has(finding.id)) {
        ruleIndex.set(finding.id, rules.length);
        rules.push(ruleFor(item));
      }
      const fix =
        finding.fixVersions.length > 0 ? `fixed in ${finding.fixVersions.join(', ')}` : 'no fix available';
      const where = finding.location ? ` at ${finding.location}` : '';
      return {
        ruleId: finding.id,
        ruleIndex: ruleIndex.get(finding.id),
        level: level(item),
        message: {
          text:
            `${finding.id} (${finding.severity}) in ${finding.packageName} ${finding.packageVersion}${where}: ${fix}. ` +
            `Gate verdict: ${item.verdict}.`,
        },
        locations: [{ physicalLocation: { artifactLocation: { uri: artifactUri(target, cwd) } } }],
        partialFingerprints: {
          vulnerabilityPackage: `${finding.id}:${finding.packageName}:${finding.packageVersion}:${target.result.target}`,
        },
        ...(item.allowlistEntry
          ? {
              suppressions: [
                {
                  kind: 'external',
                  justification: `${item.allowlistEntry.reason} (until ${item.allowlistEntry.expires})`,
                },
              ],
            }
          : {}),
      };
    }),
  );

  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'scan-gate',
            version: TOOL_VERSION,
            informationUri: 'https://github.com/anchore/grype',
            rules,
          },
        },
        results,
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: outcome.warnings.map((text) => ({
              level: 'warning',
              message: { text },
            })),
          },
        ],
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}
