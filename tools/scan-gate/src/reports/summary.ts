import type { GateOutcome } from '../gate';
import { SEVERITIES } from '../severity';

/** Version of the JSON summary layout; raise it when a field changes meaning. */
export const SUMMARY_SCHEMA_VERSION = 1;

/** Renders the outcome as a JSON document for other tools (dashboards, promotion steps). */
export function renderJsonSummary(outcome: GateOutcome): string {
  const summary = {
    schemaVersion: SUMMARY_SCHEMA_VERSION,
    result: outcome.passed ? 'pass' : 'fail',
    reportOnly: outcome.reportOnly,
    exitCode: outcome.exitCode,
    warnings: outcome.warnings,
    expiredAllowlist: outcome.expiredAllowlist,
    targets: outcome.targets.map((target) => ({
      target: target.result.target,
      backend: target.result.backend,
      scanner: target.result.scanner,
      ...(target.result.imageDigest ? { imageDigest: target.result.imageDigest } : {}),
      ...(target.result.policy ? { policy: target.result.policy } : {}),
      result: target.failures.length === 0 ? 'pass' : 'fail',
      failures: target.failures,
      counts: target.counts,
      findings: target.findings.map((item) => ({
        id: item.finding.id,
        severity: item.finding.severity,
        package: item.finding.packageName,
        version: item.finding.packageVersion,
        type: item.finding.packageType,
        fixVersions: item.finding.fixVersions,
        fixState: item.finding.fixState,
        verdict: item.verdict,
        ...(item.finding.location ? { location: item.finding.location } : {}),
        ...(item.finding.url ? { url: item.finding.url } : {}),
        ...(item.allowlistEntry ? { allowlist: item.allowlistEntry } : {}),
      })),
    })),
  };
  return `${JSON.stringify(summary, null, 2)}\n`;
}

/**
 * Escapes text for a markdown table cell or list item. CommonMark ends a line at LF, CR or CRLF, so each becomes
 * a space. A backslash goes before the ASCII punctuation that could start markup (`|` ends a GFM cell, `<`
 * raw HTML, `[` and `]` a link, `&` an entity), and CommonMark renders an escaped character as itself.
 */
function cell(text: string): string {
  return text.replace(/\r\n|\r|\n/g, ' ').replace(/[\\`*_[\]<>|&~!]/g, '\\$&');
}

/**
 * Writes text as a CommonMark code span on one line: line breaks become spaces, and the fence is one backtick
 * longer than the longest backtick run inside, padded with spaces when the text starts or ends with a backtick.
 */
function codeSpan(text: string): string {
  const flat = text.replace(/\r\n|\r|\n/g, ' ');
  const longestRun = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const padding = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${padding}${flat}${padding}${fence}`;
}

/**
 * Returns the URL when it is an absolute http or https URL, percent-encoded as the WHATWG URL parser writes it,
 * with `|` encoded as well because a GFM table splits cells on it before it reads links.
 */
function webUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
    return parsed.href.replace(/\|/g, '%7C');
  } catch {
    return undefined;
  }
}

/** Most findings listed per target in the markdown summary, to keep pipeline summaries readable. */
const MARKDOWN_FINDING_LIMIT = 50;

/** Renders the outcome as markdown for a pipeline summary page (Azure DevOps or GitHub step summary). */
export function renderMarkdown(outcome: GateOutcome): string {
  const verdict = outcome.passed
    ? '✅ passed'
    : outcome.reportOnly
      ? '⚠️ failed (report-only, not enforced)'
      : '❌ failed';
  const lines = [`## Vulnerability gate: ${verdict}`, ''];

  for (const target of outcome.targets) {
    lines.push(`### ${codeSpan(target.result.target)}`, '');
    lines.push(
      `Scanner: ${target.result.scanner.name}${target.result.scanner.version ? ` ${target.result.scanner.version}` : ''}`,
    );
    if (target.result.imageDigest) lines.push(`Image digest: ${codeSpan(target.result.imageDigest)}`);
    if (target.result.policy) lines.push(`Policy evaluation: **${target.result.policy.finalAction}**`);
    lines.push('');
    lines.push(`| ${SEVERITIES.slice().reverse().join(' | ')} |`);
    lines.push(`|${SEVERITIES.map(() => '---:').join('|')}|`);
    lines.push(
      `| ${SEVERITIES.slice()
        .reverse()
        .map((s) => target.counts[s])
        .join(' | ')} |`,
      '',
    );

    for (const failure of target.failures) lines.push(`- ❌ ${cell(failure)}`);
    for (const warning of target.warnings) lines.push(`- ⚠️ ${cell(warning)}`);
    if (target.failures.length + target.warnings.length > 0) lines.push('');

    const listed = target.findings.filter((f) => f.verdict === 'violation' || f.verdict === 'allowlisted');
    if (listed.length > 0) {
      lines.push('| Verdict | Vulnerability | Severity | Package | Fix |', '|---|---|---|---|---|');
      for (const item of listed.slice(0, MARKDOWN_FINDING_LIMIT)) {
        const { finding } = item;
        const url = webUrl(finding.url);
        // The destination goes between < and >, where CommonMark allows any character except a line break, < and >.
        const id = url ? `[${cell(finding.id)}](<${url}>)` : cell(finding.id);
        const fix = finding.fixVersions.length > 0 ? finding.fixVersions.join(', ') : 'none';
        const verdictText =
          item.verdict === 'allowlisted' ? `allowlisted until ${item.allowlistEntry?.expires}` : 'fails';
        lines.push(
          `| ${cell(verdictText)} | ${id} | ${finding.severity} | ${cell(`${finding.packageName} ${finding.packageVersion}`)} | ${cell(fix)} |`,
        );
      }
      if (listed.length > MARKDOWN_FINDING_LIMIT) {
        lines.push('', `…and ${listed.length - MARKDOWN_FINDING_LIMIT} more (see the JSON or SARIF report).`);
      }
      lines.push('');
    }
  }

  if (outcome.expiredAllowlist.length > 0) {
    lines.push('### Expired allowlist entries', '');
    for (const entry of outcome.expiredAllowlist) {
      lines.push(`- ${codeSpan(entry.id)} expired on ${entry.expires}: ${cell(entry.reason)}`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
