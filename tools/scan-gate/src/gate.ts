import { type AllowlistEntry, isExpired, matchAllowlist } from './allowlist';
import { EXIT_CODES } from './errors';
import { SEVERITIES, type Severity, severityRank } from './severity';
import type { Finding, ScanResult } from './types';

/** Rules of the gate. */
export interface GateOptions {
  /** Findings at or above this severity fail the gate; `none` turns the rule off. */
  severityThreshold: Severity | 'none';
  /**
   * Maximum number of findings per severity. A severity listed here is governed by its count instead of the
   * threshold: up to that many findings pass.
   */
  maxCounts: Partial<Record<Severity, number>>;
  /** Ignore findings that have no fixed version. */
  onlyFixed: boolean;
  allowlist: AllowlistEntry[];
  /** Evaluate and report, but always exit 0. */
  reportOnly: boolean;
}

/** Gate verdict on one finding. */
export type Verdict = 'violation' | 'allowlisted' | 'no-fix' | 'below-threshold' | 'within-max-count';

/** A finding with the gate's verdict on it. */
export interface EvaluatedFinding {
  finding: Finding;
  verdict: Verdict;
  /** The allowlist entry that covered it, for `allowlisted`. */
  allowlistEntry?: AllowlistEntry;
}

/** Gate result for one scanned target. */
export interface TargetOutcome {
  result: ScanResult;
  findings: EvaluatedFinding[];
  /** Findings that count (neither allowlisted nor skipped by only-fixed), per severity. */
  counts: Record<Severity, number>;
  failures: string[];
  warnings: string[];
}

/** Gate result for a whole run. */
export interface GateOutcome {
  /** Whether the gate's rules passed; report-only mode does not change this, only the exit code. */
  passed: boolean;
  reportOnly: boolean;
  exitCode: number;
  targets: TargetOutcome[];
  /** Allowlist entries whose date has passed; they no longer apply. */
  expiredAllowlist: AllowlistEntry[];
  warnings: string[];
}

function emptyCounts(): Record<Severity, number> {
  return Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * Drops findings that repeat an earlier one exactly (same id, package, version, type and location), so that a
 * scanner that lists a match twice does not use up a maximum count twice. The same package found at two
 * locations stays two findings.
 */
function uniqueFindings(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((finding) => {
    const key = JSON.stringify([
      finding.id,
      finding.packageName,
      finding.packageVersion,
      finding.packageType,
      finding.location ?? null,
    ]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function evaluateTarget(
  result: ScanResult,
  options: GateOptions,
  activeAllowlist: AllowlistEntry[],
): TargetOutcome {
  const counts = emptyCounts();
  const failures: string[] = [];
  const warnings: string[] = [];
  const thresholdRank =
    options.severityThreshold === 'none' ? Infinity : severityRank(options.severityThreshold);

  const findings: EvaluatedFinding[] = uniqueFindings(result.findings).map((finding) => {
    const entry = matchAllowlist(finding, activeAllowlist);
    if (entry) return { finding, verdict: 'allowlisted', allowlistEntry: entry };
    if (options.onlyFixed && finding.fixState !== 'fixed') return { finding, verdict: 'no-fix' };
    counts[finding.severity] += 1;
    if (options.maxCounts[finding.severity] !== undefined) return { finding, verdict: 'within-max-count' };
    const atOrAbove = finding.severity !== 'unknown' && severityRank(finding.severity) >= thresholdRank;
    return { finding, verdict: atOrAbove ? 'violation' : 'below-threshold' };
  });

  const thresholdViolations = findings.filter((f) => f.verdict === 'violation').length;
  if (thresholdViolations > 0) {
    failures.push(
      `${result.target}: ${plural(thresholdViolations, 'finding')} at or above ${options.severityThreshold} ` +
        '(--severity-threshold)',
    );
  }

  for (const severity of SEVERITIES) {
    const max = options.maxCounts[severity];
    if (max === undefined || counts[severity] <= max) continue;
    failures.push(
      `${result.target}: ${plural(counts[severity], `${severity} finding`)}, more than the maximum of ${max} ` +
        `(--max-count ${severity}=${max})`,
    );
    for (const item of findings) {
      if (item.verdict === 'within-max-count' && item.finding.severity === severity)
        item.verdict = 'violation';
    }
  }

  if (result.policy?.finalAction === 'stop') {
    failures.push(`${result.target}: the Anchore policy evaluation returned stop${policyDetail(result)}`);
  } else if (result.policy?.finalAction === 'warn') {
    warnings.push(`${result.target}: the Anchore policy evaluation returned warn${policyDetail(result)}`);
  }

  return { result, findings, counts, failures, warnings };
}

function policyDetail(result: ScanResult): string {
  const id = result.policy?.policyId ? ` (policy ${result.policy.policyId})` : '';
  const reasons = result.policy?.reasons.length ? `: ${result.policy.reasons.slice(0, 5).join('; ')}` : '';
  return `${id}${reasons}`;
}

/** Applies the gate's rules to the scan results of every target. */
export function evaluateGate(results: ScanResult[], options: GateOptions, now: Date): GateOutcome {
  const expiredAllowlist = options.allowlist.filter((entry) => isExpired(entry, now));
  const activeAllowlist = options.allowlist.filter((entry) => !isExpired(entry, now));
  const targets = results.map((result) => evaluateTarget(result, options, activeAllowlist));

  const warnings = [
    ...expiredAllowlist.map(
      (entry) =>
        `allowlist entry ${entry.id}${entry.package ? ` (${entry.package})` : ''} expired on ${entry.expires} and ` +
        `no longer applies: ${entry.reason}`,
    ),
    ...targets.flatMap((target) => target.warnings),
  ];
  const passed = targets.every((target) => target.failures.length === 0);
  const exitCode = passed || options.reportOnly ? EXIT_CODES.pass : EXIT_CODES.gateFailed;
  return { passed, reportOnly: options.reportOnly, exitCode, targets, expiredAllowlist, warnings };
}
