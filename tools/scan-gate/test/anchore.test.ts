import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../src/run';
import {
  type AnchoreScenario,
  type AnchoreServer,
  anchoreVulnerability,
  startAnchoreServer,
} from './support/anchore-server';
import { FakeClock } from './support/fake-clock';

// Response bodies of the fake server follow Anchore's published API specifications, whose sources and versions
// test/support/anchore-server.ts lists: Anchore API 2.14.0 (anchore-api-swagger-v5.23.0-release.yaml) and
// Anchore Engine API 0.1.14 (anchore-engine's swagger.yaml).

const PASSWORD = 'S3cret-Anchore-Pw';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const TAG = 'registry.example.test/app:1.0.0';

let server: AnchoreServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function scenario(overrides: Partial<AnchoreScenario> = {}): AnchoreScenario {
  return {
    version: 'v2',
    user: 'admin',
    password: PASSWORD,
    digest: DIGEST,
    statuses: ['not_analyzed', 'analyzing', 'analyzed'],
    finalAction: 'go',
    vulnerabilities: [anchoreVulnerability('CVE-2024-1000', 'Low', 'debug', '2.6.8', 'None')],
    ...overrides,
  };
}

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
  clock: FakeClock;
  reportDir: string;
}

async function run(args: string[], options: { env?: NodeJS.ProcessEnv; url?: string } = {}): Promise<Run> {
  const clock = new FakeClock();
  const reportDir = mkdtempSync(path.join(os.tmpdir(), 'scan-gate-reports-'));
  let stdout = '';
  let stderr = '';
  const reportArgs = [
    '--sarif',
    path.join(reportDir, 'gate.sarif'),
    '--junit',
    path.join(reportDir, 'gate.xml'),
    '--json',
    path.join(reportDir, 'gate.json'),
    '--markdown',
    path.join(reportDir, 'gate.md'),
  ];
  const { exitCode } = await runCli(args[0] === 'register-registry' ? args : [...args, ...reportArgs], {
    env: {
      ANCHORE_URL: options.url ?? server?.url,
      ANCHORE_USER: 'admin',
      ANCHORE_PASSWORD: PASSWORD,
      ...options.env,
    },
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    clock,
    cwd: process.cwd(),
  });
  return { exitCode, stdout, stderr, clock, reportDir };
}

function readReports(reportDir: string): string {
  return readdirSync(reportDir)
    .map((name) => readFileSync(path.join(reportDir, name), 'utf8'))
    .join('\n');
}

describe('anchore backend, v2 API', () => {
  it('passes an analyzed image whose policy says go', async () => {
    server = await startAnchoreServer(scenario());
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(0);
  });

  it('registers a tag with source.tag.pull_string', async () => {
    server = await startAnchoreServer(scenario());
    await run(['--backend', 'anchore', TAG]);
    const add = server.requests.find((r) => r.route === 'add');
    expect(add?.body).toEqual({ source: { tag: { pull_string: TAG } } });
  });

  it('registers a digest with source.digest and the tag', async () => {
    server = await startAnchoreServer(scenario());
    const reference = `registry.example.test/app@${DIGEST}`;
    await run(['--backend', 'anchore', '--tag', TAG, reference]);
    const add = server.requests.find((r) => r.route === 'add');
    expect(add?.body).toEqual({ source: { digest: { pull_string: reference, tag: TAG } } });
  });

  it('rejects a digest without a tag', async () => {
    server = await startAnchoreServer(scenario());
    const result = await run(['--backend', 'anchore', `registry.example.test/app@${DIGEST}`]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('--tag');
  });

  it('reads the status once per poll until analyzed', async () => {
    server = await startAnchoreServer(scenario());
    await run(['--backend', 'anchore', TAG]);
    expect(server.count('image')).toBe(3);
  });

  it('sleeps the fixed interval between reads', async () => {
    server = await startAnchoreServer(scenario());
    const result = await run(['--backend', 'anchore', '--interval', '5', TAG]);
    expect(result.clock.sleeps).toEqual([5000, 5000]);
  });

  it('backs off up to the maximum interval', async () => {
    server = await startAnchoreServer(
      scenario({ statuses: ['analyzing', 'analyzing', 'analyzing', 'analyzing', 'analyzed'] }),
    );
    const result = await run([
      '--backend',
      'anchore',
      '--interval',
      '5',
      '--backoff',
      '2',
      '--max-interval',
      '15',
      TAG,
    ]);
    expect(result.clock.sleeps).toEqual([5000, 10000, 15000, 15000]);
  });

  it('stops at once on analysis_failed', async () => {
    server = await startAnchoreServer(scenario({ statuses: ['analyzing', 'analysis_failed', 'analyzed'] }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('analysis_failed');
    expect(server.count('image')).toBe(2);
  });

  it('treats an unknown status as pending', async () => {
    server = await startAnchoreServer(scenario({ statuses: ['queued_for_review', 'analyzed'] }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(0);
    expect(server.count('image')).toBe(2);
  });

  it('fails with a diagnostic when the status is stuck', async () => {
    server = await startAnchoreServer(scenario({ statuses: ['analyzing'] }));
    const result = await run(['--backend', 'anchore', '--interval', '5', '--stuck-after', '60', TAG]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('looks stuck');
    // Reads at 0, 5, ..., 60 seconds: the status last changed at the first read.
    expect(server.count('image')).toBe(13);
  });

  it('times out when the overall limit is reached', async () => {
    server = await startAnchoreServer(scenario({ statuses: ['analyzing'] }));
    const result = await run([
      '--backend',
      'anchore',
      '--interval',
      '5',
      '--stuck-after',
      '0',
      '--timeout',
      '30',
      TAG,
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('timed out');
    expect(result.clock.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(30_000);
  });

  it('gives up after the maximum number of attempts', async () => {
    server = await startAnchoreServer(scenario({ statuses: ['analyzing'] }));
    const result = await run(['--backend', 'anchore', '--max-attempts', '3', TAG]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('within 3 attempts');
    expect(server.count('image')).toBe(3);
  });

  it('treats a 404 from the policy check as not ready', async () => {
    server = await startAnchoreServer(scenario({ statuses: ['analyzed'], checkNotReady: 2 }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(0);
    expect(server.count('check')).toBe(3);
  });

  it('backs off exponentially between HTTP retries', async () => {
    const errors = Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 500 }));
    server = await startAnchoreServer(scenario({ statuses: ['analyzed'], faults: { add: errors } }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.clock.sleeps).toEqual([1000, 2000, 4000]);
  });

  it('retries HTTP 5xx answers', async () => {
    server = await startAnchoreServer(
      scenario({
        faults: {
          image: [
            { kind: 'status', status: 503 },
            { kind: 'status', status: 500 },
          ],
        },
      }),
    );
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(0);
    expect(server.count('image')).toBe(5);
  });

  it('fails when HTTP 5xx outlasts the retry budget', async () => {
    const errors = Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 502 }));
    server = await startAnchoreServer(scenario({ faults: { add: errors } }));
    const result = await run(['--backend', 'anchore', '--http-retries', '2', TAG]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('HTTP 502 after 3 attempts');
  });

  it('waits as long as Retry-After asks on HTTP 429', async () => {
    server = await startAnchoreServer(
      scenario({ statuses: ['analyzed'], faults: { add: [{ kind: 'status', status: 429, retryAfter: 7 }] } }),
    );
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(0);
    expect(server.count('add')).toBe(2);
    expect(result.clock.sleeps).toEqual([7000]);
  });

  it('retries after a connection reset', async () => {
    server = await startAnchoreServer(scenario({ faults: { check: [{ kind: 'reset' }] } }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(0);
    expect(server.count('check')).toBe(2);
  });

  it('passes a policy warn with a warning', async () => {
    server = await startAnchoreServer(scenario({ finalAction: 'warn' }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(
      'warning: registry.example.test/app:1.0.0: the Anchore policy evaluation returned warn',
    );
  });

  it('fails a policy stop', async () => {
    server = await startAnchoreServer(scenario({ finalAction: 'stop' }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain('returned stop');
  });

  it('fails a critical vulnerability at the default threshold', async () => {
    server = await startAnchoreServer(
      scenario({
        vulnerabilities: [anchoreVulnerability('CVE-2024-2000', 'Critical', 'lodash', '4.17.20', '4.17.21')],
      }),
    );
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(2);
  });

  it('records the image digest in the JSON summary', async () => {
    server = await startAnchoreServer(scenario());
    const result = await run(['--backend', 'anchore', TAG]);
    const summary = JSON.parse(readFileSync(path.join(result.reportDir, 'gate.json'), 'utf8'));
    expect(summary.targets[0].imageDigest).toBe(DIGEST);
  });

  it('detects v2 from the server', async () => {
    server = await startAnchoreServer(scenario());
    const result = await run(['--backend', 'anchore', '--api', 'auto', TAG]);
    expect(result.stderr).toContain('using API v2');
  });
});

describe('anchore backend, v1 API', () => {
  it('detects v1 from the server', async () => {
    server = await startAnchoreServer(scenario({ version: 'v1' }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.stderr).toContain('using API v1');
  });

  it('takes the version from a /v1 suffix on ANCHORE_URL', async () => {
    server = await startAnchoreServer(scenario({ version: 'v1' }));
    await run(['--backend', 'anchore', TAG], { url: `${server.url}/v1` });
    expect(server.count('ping')).toBe(0);
  });

  it('registers a tag with source.tag.pullstring', async () => {
    server = await startAnchoreServer(scenario({ version: 'v1' }));
    await run(['--backend', 'anchore', TAG]);
    const add = server.requests.find((r) => r.route === 'add');
    expect(add?.body).toEqual({ source: { tag: { pullstring: TAG } } });
  });

  it('passes a policy go', async () => {
    server = await startAnchoreServer(scenario({ version: 'v1' }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(0);
  });

  it('passes a policy warn with a warning', async () => {
    server = await startAnchoreServer(scenario({ version: 'v1', finalAction: 'warn' }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('returned warn');
  });

  it('fails a policy stop with the gate reason', async () => {
    server = await startAnchoreServer(scenario({ version: 'v1', finalAction: 'stop' }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain('vulnerabilities/package');
  });

  it('stops at once on analysis_failed', async () => {
    server = await startAnchoreServer(scenario({ version: 'v1', statuses: ['analysis_failed'] }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(1);
    expect(server.count('image')).toBe(1);
  });

  it('treats a 404 from the policy check as not ready', async () => {
    server = await startAnchoreServer(scenario({ version: 'v1', statuses: ['analyzed'], checkNotReady: 1 }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(0);
    expect(server.count('check')).toBe(2);
  });

  it('reads a fix of None as no fix', async () => {
    server = await startAnchoreServer(
      scenario({
        version: 'v1',
        vulnerabilities: [anchoreVulnerability('CVE-2024-3000', 'High', 'tar', '6.1.0', 'None')],
      }),
    );
    const result = await run(['--backend', 'anchore', '--only-fixed', TAG]);
    expect(result.exitCode).toBe(0);
  });
});

describe('register-registry', () => {
  const registryEnv = { REGISTRY_USER: 'myregistry', REGISTRY_PASSWORD: 'Registry-Admin-Pw' };

  it('sends the registry credentials from the environment', async () => {
    server = await startAnchoreServer(scenario());
    await run(['register-registry', '--registry', 'myregistry.azurecr.io'], { env: registryEnv });
    const request = server.requests.find((r) => r.route === 'registry');
    expect(request?.body).toEqual({
      registry: 'myregistry.azurecr.io',
      registry_user: 'myregistry',
      registry_pass: 'Registry-Admin-Pw',
      registry_type: 'docker_v2',
      registry_verify: true,
    });
  });

  it('updates a registry that already exists', async () => {
    server = await startAnchoreServer(scenario({ existingRegistries: ['myregistry.azurecr.io'] }));
    const result = await run(['register-registry', '--registry', 'myregistry.azurecr.io'], {
      env: registryEnv,
    });
    expect(result.stdout).toContain('updated');
    expect(server.requests.map((r) => r.method).filter((m) => m !== 'GET')).toEqual(['POST', 'PUT']);
  });

  it('requires the registry credentials', async () => {
    server = await startAnchoreServer(scenario());
    const result = await run(['register-registry', '--registry', 'myregistry.azurecr.io']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('REGISTRY_PASSWORD');
  });
});

describe('credentials', () => {
  it('never prints the password on success', async () => {
    server = await startAnchoreServer(scenario({ finalAction: 'warn' }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(`${result.stdout}${result.stderr}${readReports(result.reportDir)}`).not.toContain(PASSWORD);
  });

  it('never prints the password when the server echoes it', async () => {
    const message = `login admin:${PASSWORD} is locked`;
    server = await startAnchoreServer(
      scenario({ faults: { add: [{ kind: 'status', status: 400, message }] } }),
    );
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(1);
    expect(`${result.stdout}${result.stderr}`).not.toContain(PASSWORD);
  });

  it('never prints the password on a rejected login', async () => {
    server = await startAnchoreServer(scenario({ password: 'a-different-password' }));
    const result = await run(['--backend', 'anchore', TAG]);
    expect(result.exitCode).toBe(1);
    expect(`${result.stdout}${result.stderr}`).not.toContain(PASSWORD);
  });

  it('never prints the password when the server is unreachable', async () => {
    const result = await run(['--backend', 'anchore', '--http-retries', '0', TAG], {
      url: 'http://127.0.0.1:9',
    });
    expect(result.exitCode).toBe(1);
    expect(`${result.stdout}${result.stderr}`).not.toContain(PASSWORD);
  });

  it('never prints the registry password', async () => {
    const registryPassword = 'Registry-Admin-Pw';
    server = await startAnchoreServer(
      scenario({
        faults: { registry: [{ kind: 'status', status: 400, message: `bad password ${registryPassword}` }] },
      }),
    );
    const result = await run(['register-registry', '--registry', 'myregistry.azurecr.io'], {
      env: { REGISTRY_USER: 'myregistry', REGISTRY_PASSWORD: registryPassword },
    });
    expect(result.exitCode).toBe(1);
    expect(`${result.stdout}${result.stderr}`).not.toContain(registryPassword);
  });

  it('rejects a password option without echoing its value', async () => {
    const result = await run(['--backend', 'anchore', `--password=${PASSWORD}`, TAG]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toContain(PASSWORD);
  });

  it('names the missing variable', async () => {
    const result = await run(['--backend', 'anchore', TAG], {
      url: 'http://127.0.0.1:9',
      env: { ANCHORE_PASSWORD: '' },
    });
    expect(result.stderr).toContain('ANCHORE_PASSWORD is not set');
  });

  it('sends basic authentication', async () => {
    server = await startAnchoreServer(scenario());
    await run(['--backend', 'anchore', TAG]);
    const add = server.requests.find((r) => r.route === 'add');
    expect(add?.authorization).toBe(`Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`);
  });
});
