import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type AllowlistEntry, loadAllowlist, parseAllowlist } from '../src/allowlist';
import { evaluateGate, type GateOptions } from '../src/gate';
import { parseGrypeDocument } from '../src/grype-document';
import type { ScanResult } from '../src/types';

// The fixture is shaped as Grype's JSON output (anchore/grype grype/presenter/models: Document, Match,
// Vulnerability, Package). Its seven matches, read from the file: CVE-2024-0001 Critical lodash (fixed),
// CVE-2024-0002 High semver (fixed), GHSA-aaaa-bbbb-cccc High tar (not-fixed), CVE-2024-0004 Medium minimist
// (fixed), CVE-2024-0005 Low debug (wont-fix), CVE-2024-0006 Negligible ms (unknown), CVE-2024-0007 Unknown
// inherits (not-fixed).
const FIXTURE = path.join(__dirname, 'fixtures', 'grype-node-modules.json');
const NOW = new Date('2026-06-15T12:00:00Z');

function scan(): ScanResult {
  const { findings } = parseGrypeDocument(readFileSync(FIXTURE, 'utf8'));
  return { backend: 'grype', target: 'function.zip', findings, scanner: { name: 'grype' } };
}

function options(overrides: Partial<GateOptions> = {}): GateOptions {
  return {
    severityThreshold: 'high',
    maxCounts: {},
    onlyFixed: false,
    allowlist: [],
    reportOnly: false,
    ...overrides,
  };
}

function violations(overrides: Partial<GateOptions>, result = scan()): string[] {
  const outcome = evaluateGate([result], options(overrides), NOW);
  return (outcome.targets[0]?.findings ?? [])
    .filter((f) => f.verdict === 'violation')
    .map((f) => f.finding.id);
}

describe('severity threshold', () => {
  it.each([
    ['critical', ['CVE-2024-0001']],
    ['high', ['CVE-2024-0001', 'CVE-2024-0002', 'GHSA-aaaa-bbbb-cccc']],
    ['medium', ['CVE-2024-0001', 'CVE-2024-0002', 'GHSA-aaaa-bbbb-cccc', 'CVE-2024-0004']],
    ['low', ['CVE-2024-0001', 'CVE-2024-0002', 'GHSA-aaaa-bbbb-cccc', 'CVE-2024-0004', 'CVE-2024-0005']],
    [
      'negligible',
      [
        'CVE-2024-0001',
        'CVE-2024-0002',
        'GHSA-aaaa-bbbb-cccc',
        'CVE-2024-0004',
        'CVE-2024-0005',
        'CVE-2024-0006',
      ],
    ],
    ['none', []],
  ] as const)('threshold %s fails exactly the findings at or above it', (threshold, expected) => {
    expect(violations({ severityThreshold: threshold }).sort()).toEqual([...expected].sort());
  });

  it.each(['critical', 'high', 'medium', 'low', 'negligible'] as const)(
    'threshold %s fails the gate',
    (threshold) => {
      const outcome = evaluateGate([scan()], options({ severityThreshold: threshold }), NOW);
      expect(outcome.exitCode).toBe(2);
    },
  );

  it('passes with threshold none and no other rule', () => {
    const outcome = evaluateGate([scan()], options({ severityThreshold: 'none' }), NOW);
    expect(outcome.exitCode).toBe(0);
  });

  it('passes findings below the threshold', () => {
    const result = scan();
    result.findings = result.findings.filter((f) => f.id === 'CVE-2024-0005');
    const outcome = evaluateGate([result], options({ severityThreshold: 'medium' }), NOW);
    expect(outcome.passed).toBe(true);
  });

  it('counts findings per severity', () => {
    const outcome = evaluateGate([scan()], options(), NOW);
    expect(outcome.targets[0]?.counts).toEqual({
      critical: 1,
      high: 2,
      medium: 1,
      low: 1,
      negligible: 1,
      unknown: 1,
    });
  });
});

describe('maximum counts', () => {
  it('allows up to the maximum of a severity', () => {
    const outcome = evaluateGate(
      [scan()],
      options({ severityThreshold: 'critical', maxCounts: { high: 2 } }),
      NOW,
    );
    expect(violations({ severityThreshold: 'critical', maxCounts: { high: 2 } })).toEqual(['CVE-2024-0001']);
    expect(outcome.targets[0]?.failures).toHaveLength(1);
  });

  it('fails every finding of a severity over its maximum', () => {
    expect(violations({ severityThreshold: 'none', maxCounts: { high: 1 } }).sort()).toEqual(
      ['CVE-2024-0002', 'GHSA-aaaa-bbbb-cccc'].sort(),
    );
  });

  it('replaces the threshold for the listed severity', () => {
    const outcome = evaluateGate(
      [scan()],
      options({ severityThreshold: 'high', maxCounts: { critical: 1, high: 2 } }),
      NOW,
    );
    expect(outcome.passed).toBe(true);
  });

  it('applies to unknown severity', () => {
    expect(violations({ severityThreshold: 'none', maxCounts: { unknown: 0 } })).toEqual(['CVE-2024-0007']);
  });
});

describe('only fixed', () => {
  it('ignores findings without a fix', () => {
    expect(violations({ severityThreshold: 'negligible', onlyFixed: true }).sort()).toEqual(
      ['CVE-2024-0001', 'CVE-2024-0002', 'CVE-2024-0004'].sort(),
    );
  });

  it('leaves unfixed findings out of the counts', () => {
    const outcome = evaluateGate([scan()], options({ onlyFixed: true }), NOW);
    expect(outcome.targets[0]?.counts.high).toBe(1);
  });
});

describe('allowlist', () => {
  const entry = (overrides: Partial<AllowlistEntry>): AllowlistEntry => ({
    id: 'CVE-2024-0001',
    reason: 'not reachable from the handler',
    expires: '2026-12-31',
    ...overrides,
  });

  it('removes an allowlisted finding from the gate', () => {
    const outcome = evaluateGate(
      [scan()],
      options({ severityThreshold: 'critical', allowlist: [entry({})] }),
      NOW,
    );
    expect(outcome.passed).toBe(true);
  });

  it('marks the finding with its entry', () => {
    const outcome = evaluateGate([scan()], options({ allowlist: [entry({})] }), NOW);
    const item = outcome.targets[0]?.findings.find((f) => f.finding.id === 'CVE-2024-0001');
    expect(item?.verdict).toBe('allowlisted');
    expect(item?.allowlistEntry?.reason).toBe('not reachable from the handler');
  });

  it('still applies on its expiry day', () => {
    const outcome = evaluateGate(
      [scan()],
      options({ severityThreshold: 'critical', allowlist: [entry({ expires: '2026-06-15' })] }),
      NOW,
    );
    expect(outcome.passed).toBe(true);
  });

  it('no longer applies after its expiry day', () => {
    const outcome = evaluateGate(
      [scan()],
      options({ severityThreshold: 'critical', allowlist: [entry({ expires: '2026-06-14' })] }),
      NOW,
    );
    expect(outcome.passed).toBe(false);
  });

  it('reports an expired entry', () => {
    const expired = entry({ expires: '2026-06-14' });
    const outcome = evaluateGate([scan()], options({ allowlist: [expired] }), NOW);
    expect(outcome.expiredAllowlist).toEqual([expired]);
    expect(outcome.warnings[0]).toContain('CVE-2024-0001 expired on 2026-06-14');
  });

  it('limits an entry to its package', () => {
    const outcome = evaluateGate(
      [scan()],
      options({ severityThreshold: 'critical', allowlist: [entry({ package: 'underscore' })] }),
      NOW,
    );
    expect(outcome.passed).toBe(false);
  });

  it('loads a YAML file with unquoted dates', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'allowlist-'));
    const file = path.join(dir, 'allowlist.yaml');
    writeFileSync(
      file,
      'entries:\n  - id: CVE-2024-0001\n    reason: vendored, not loaded\n    expires: 2026-12-31\n',
    );
    await expect(loadAllowlist(file)).resolves.toEqual([
      { id: 'CVE-2024-0001', reason: 'vendored, not loaded', expires: '2026-12-31' },
    ]);
  });

  it('loads a JSON list', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'allowlist-'));
    const file = path.join(dir, 'allowlist.json');
    writeFileSync(
      file,
      JSON.stringify([
        { id: 'GHSA-aaaa-bbbb-cccc', reason: 'tar is a build tool', expires: '2027-01-01', package: 'tar' },
      ]),
    );
    await expect(loadAllowlist(file)).resolves.toHaveLength(1);
  });

  it('rejects an entry without a reason', () => {
    expect(() => parseAllowlist([{ id: 'CVE-1', expires: '2026-01-01' }], 'allow.yaml')).toThrow(
      'has no "reason"',
    );
  });

  it('rejects an impossible date', () => {
    expect(() => parseAllowlist([{ id: 'CVE-1', reason: 'r', expires: '2026-02-30' }], 'allow.yaml')).toThrow(
      'YYYY-MM-DD',
    );
  });

  it('rejects a file that is not a list', () => {
    expect(() => parseAllowlist({ id: 'CVE-1' }, 'allow.yaml')).toThrow('"entries" list');
  });
});

describe('policy and report-only', () => {
  it('fails a policy stop with no findings', () => {
    const result: ScanResult = {
      ...scan(),
      findings: [],
      policy: { finalAction: 'stop', reasons: [] },
    };
    expect(evaluateGate([result], options(), NOW).exitCode).toBe(2);
  });

  it('passes a policy warn with a warning', () => {
    const result: ScanResult = {
      ...scan(),
      findings: [],
      policy: { finalAction: 'warn', reasons: ['warn: a/b: c'] },
    };
    const outcome = evaluateGate([result], options(), NOW);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.warnings).toHaveLength(1);
  });

  it('exits 0 in report-only mode', () => {
    const outcome = evaluateGate([scan()], options({ reportOnly: true }), NOW);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.passed).toBe(false);
  });

  it('fails the run when any target fails', () => {
    const clean: ScanResult = { ...scan(), target: 'other.zip', findings: [] };
    expect(evaluateGate([clean, scan()], options(), NOW).exitCode).toBe(2);
  });
});
