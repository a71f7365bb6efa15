import { readFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { evaluateGate, type GateOutcome } from '../src/gate';
import { parseGrypeDocument } from '../src/grype-document';
import { renderJunit } from '../src/reports/junit';
import { renderSarif } from '../src/reports/sarif';
import { renderJsonSummary, renderMarkdown } from '../src/reports/summary';
import type { ScanResult } from '../src/types';

// Input: the Grype-shaped fixture described in gate.test.ts, gated at the default threshold (high), so the
// violations are CVE-2024-0001 (critical), CVE-2024-0002 and GHSA-aaaa-bbbb-cccc (high); CVE-2024-0004 is
// allowlisted below. CVE-2024-0001's description contains <, > , & and quotes.
const FIXTURE = path.join(__dirname, 'fixtures', 'grype-node-modules.json');
const NOW = new Date('2026-06-15T12:00:00Z');

function outcome(policy?: ScanResult['policy']): GateOutcome {
  const { findings } = parseGrypeDocument(readFileSync(FIXTURE, 'utf8'));
  const result: ScanResult = {
    backend: 'grype',
    target: '.serverless/createThumbnail.zip',
    findings,
    scanner: { name: 'grype', version: '0.87.0' },
    ...(policy ? { policy } : {}),
  };
  return evaluateGate(
    [result],
    {
      severityThreshold: 'high',
      maxCounts: {},
      onlyFixed: false,
      allowlist: [
        { id: 'CVE-2024-0004', reason: 'only used by a build script', expires: '2026-12-31' },
        { id: 'CVE-2020-9999', reason: 'old entry', expires: '2026-01-01' },
      ],
      reportOnly: false,
    },
    NOW,
  );
}

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations: { physicalLocation: { artifactLocation: { uri: string } } }[];
  suppressions?: { kind: string; justification: string }[];
}

describe('SARIF report', () => {
  const sarif = JSON.parse(renderSarif(outcome(), '/work/project')) as {
    version: string;
    $schema: string;
    runs: { tool: { driver: { name: string; rules: { id: string }[] } }; results: SarifResult[] }[];
  };
  const run = sarif.runs[0];
  const results = run?.results ?? [];

  it('declares version 2.1.0', () => {
    expect(sarif.version).toBe('2.1.0');
  });

  it('names the 2.1.0 schema', () => {
    expect(sarif.$schema).toMatch(/sarif-2\.1\.0/);
  });

  it('has exactly one run', () => {
    expect(sarif.runs).toHaveLength(1);
  });

  it('names the tool driver', () => {
    expect(run?.tool.driver.name).toBe('scan-gate');
  });

  it('has one result per finding', () => {
    expect(results).toHaveLength(7);
  });

  it('has unique rule ids', () => {
    const ids = run?.tool.driver.rules.map((r) => r.id) ?? [];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('points every ruleIndex at the rule with the same id', () => {
    const mismatched = results.filter((r) => run?.tool.driver.rules[r.ruleIndex]?.id !== r.ruleId);
    expect(mismatched).toEqual([]);
  });

  it('uses only SARIF levels', () => {
    const levels = new Set(results.map((r) => r.level));
    expect([...levels].every((l) => ['none', 'note', 'warning', 'error'].includes(l))).toBe(true);
  });

  it('gives every result a message text', () => {
    expect(results.every((r) => typeof r.message.text === 'string' && r.message.text.length > 0)).toBe(true);
  });

  it('locates results at the zip relative to the working directory', () => {
    expect(results[0]?.locations[0]?.physicalLocation.artifactLocation.uri).toBe(
      '.serverless/createThumbnail.zip',
    );
  });

  it('marks violations as errors', () => {
    const errors = results.filter((r) => r.level === 'error').map((r) => r.ruleId);
    expect(errors.sort()).toEqual(['CVE-2024-0001', 'CVE-2024-0002', 'GHSA-aaaa-bbbb-cccc'].sort());
  });

  it('suppresses allowlisted findings with the reason', () => {
    const allowlisted = results.find((r) => r.ruleId === 'CVE-2024-0004');
    expect(allowlisted?.suppressions?.[0]?.justification).toContain('only used by a build script');
  });
});

describe('JUnit report', () => {
  const xml = renderJunit(
    outcome({ finalAction: 'stop', reasons: ['stop: vulnerabilities/package: <lodash>'] }),
  );
  const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as {
    testsuites: {
      tests: string;
      failures: string;
      testsuite: { name: string; tests: string; skipped: string; testcase: { name: string }[] };
    };
  };

  it('is well-formed XML', () => {
    expect(XMLValidator.validate(xml)).toBe(true);
  });

  it('counts a test per finding plus the policy', () => {
    expect(parsed.testsuites.tests).toBe('8');
  });

  it('counts the violations and the policy stop as failures', () => {
    expect(parsed.testsuites.failures).toBe('4');
  });

  it('skips the allowlisted finding', () => {
    expect(parsed.testsuites.testsuite.skipped).toBe('1');
  });

  it('names the suite after the target', () => {
    expect(parsed.testsuites.testsuite.name).toBe('.serverless/createThumbnail.zip');
  });

  it('names a test case after the vulnerability and package', () => {
    expect(parsed.testsuites.testsuite.testcase.map((c) => c.name)).toContain(
      'CVE-2024-0001 in lodash 4.17.20',
    );
  });
});

describe('JSON and markdown summaries', () => {
  const summary = JSON.parse(renderJsonSummary(outcome())) as {
    result: string;
    exitCode: number;
    expiredAllowlist: { id: string }[];
    targets: { counts: Record<string, number>; findings: { verdict: string }[] }[];
  };
  const markdown = renderMarkdown(outcome());

  it('reports the failed result', () => {
    expect(summary.result).toBe('fail');
  });

  it('reports exit code 2', () => {
    expect(summary.exitCode).toBe(2);
  });

  it('lists the expired allowlist entry', () => {
    expect(summary.expiredAllowlist.map((e) => e.id)).toEqual(['CVE-2020-9999']);
  });

  it('counts high findings', () => {
    expect(summary.targets[0]?.counts.high).toBe(2);
  });

  it('has a failed heading in markdown', () => {
    expect(markdown).toContain('## Vulnerability gate: ❌ failed');
  });

  it('lists the expired entry in markdown', () => {
    expect(markdown).toContain('`CVE-2020-9999` expired on 2026-01-01');
  });

  it('has the counts row in markdown, critical first', () => {
    expect(markdown).toContain('| 1 | 2 | 0 | 1 | 1 | 1 |');
  });
});
