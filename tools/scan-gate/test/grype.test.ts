import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseGrypeDocument } from '../src/grype-document';
import { runCli } from '../src/run';
import { FakeClock } from './support/fake-clock';
import { installFakeGrype } from './support/fake-grype';
import { writeZip } from './support/zip';

// Fixtures are shaped as Grype's JSON output, which the presenter models in anchore/grype define.
// grype/presenter/models/document.go has matches, source, distro and descriptor. match.go has vulnerability,
// relatedVulnerabilities, matchDetails and artifact, and vulnerability.go has fix.versions and fix.state.
const FIXTURES = path.join(__dirname, 'fixtures');
const FULL = path.join(FIXTURES, 'grype-node-modules.json');
const CLEAN = path.join(FIXTURES, 'grype-clean.json');

async function run(args: string[], env: NodeJS.ProcessEnv) {
  let stdout = '';
  let stderr = '';
  const { exitCode } = await runCli(args, {
    env,
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    clock: new FakeClock(),
    cwd: process.cwd(),
  });
  return { exitCode, stdout, stderr };
}

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'scan-gate-grype-'));
}

describe('grype backend', () => {
  it('scans a directory as a dir: source', async () => {
    const grype = installFakeGrype(CLEAN);
    const directory = tempDir();
    await run([directory], grype.env);
    expect(grype.readRecord().source).toBe(`dir:${directory}`);
  });

  it('asks grype for JSON output', async () => {
    const grype = installFakeGrype(CLEAN);
    await run([tempDir()], grype.env);
    expect(grype.readRecord().args).toEqual(expect.arrayContaining(['-o', 'json']));
  });

  it('passes a clean directory', async () => {
    const grype = installFakeGrype(CLEAN);
    const result = await run([tempDir()], grype.env);
    expect(result.exitCode).toBe(0);
  });

  it('fails a directory with high findings', async () => {
    const grype = installFakeGrype(FULL);
    const result = await run([tempDir()], grype.env);
    expect(result.exitCode).toBe(2);
  });

  it('unpacks a function zip and scans its files', async () => {
    const grype = installFakeGrype(CLEAN);
    const zip = path.join(tempDir(), 'createThumbnail.zip');
    writeZip(zip, {
      'src/handlers/create-thumbnail.js': 'exports.handler = async () => {};\n',
      'node_modules/sharp/package.json': '{"name":"sharp","version":"0.35.6"}\n',
    });
    await run([zip], grype.env);
    expect(grype.readRecord().files.sort()).toEqual(
      ['node_modules/sharp/package.json', 'src/handlers/create-thumbnail.js'].sort(),
    );
  });

  it('removes the unpacked zip afterwards', async () => {
    const grype = installFakeGrype(CLEAN);
    const zip = path.join(tempDir(), 'analyzeImage.zip');
    writeZip(zip, { 'index.js': '\n' });
    await run([zip], grype.env);
    expect(existsSync(grype.readRecord().root ?? '')).toBe(false);
  });

  it('rejects a zip entry that climbs out of the archive', async () => {
    const grype = installFakeGrype(CLEAN);
    const zip = path.join(tempDir(), 'evil.zip');
    writeZip(zip, { '../outside.txt': 'x' });
    const result = await run([zip], grype.env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('../outside.txt');
  });

  it('scans another file as a file: source', async () => {
    const grype = installFakeGrype(CLEAN);
    const file = path.join(tempDir(), 'sbom.spdx.json');
    writeFileSync(file, '{}');
    await run([file], grype.env);
    expect(grype.readRecord().source).toBe(`file:${file}`);
  });

  it('passes an image reference as it is', async () => {
    const grype = installFakeGrype(CLEAN);
    await run(['registry.example.test/app:1.0.0'], grype.env);
    expect(grype.readRecord().args).toContain('registry.example.test/app:1.0.0');
  });

  it('keeps an explicit source scheme', async () => {
    const grype = installFakeGrype(CLEAN);
    await run(['registry:registry.example.test/app:1.0.0'], grype.env);
    expect(grype.readRecord().source).toBe('registry:registry.example.test/app:1.0.0');
  });

  it('passes extra grype arguments', async () => {
    const grype = installFakeGrype(CLEAN);
    await run(['--grype-arg=--platform=linux/arm64', tempDir()], grype.env);
    expect(grype.readRecord().args[0]).toBe('--platform=linux/arm64');
  });

  it('scans several targets and fails when one fails', async () => {
    const grype = installFakeGrype(FULL);
    const result = await run([tempDir(), tempDir()], grype.env);
    expect(result.stdout.match(/: FAIL/g)).toHaveLength(2);
  });

  it('reports a missing grype with install advice', async () => {
    const emptyPath = tempDir();
    const result = await run([tempDir()], { PATH: emptyPath });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('grype was not found on PATH');
    expect(result.stderr).toContain('https://github.com/anchore/grype#installation');
  });

  it('reports a grype failure with its stderr', async () => {
    const grype = installFakeGrype(CLEAN, { exitCode: 1 });
    const result = await run([tempDir()], grype.env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('failed to catalog');
  });

  it('rejects output that is not a grype document', async () => {
    const notJson = path.join(tempDir(), 'out.txt');
    writeFileSync(notJson, 'NAME INSTALLED FIXED-IN\n');
    const grype = installFakeGrype(notJson);
    const result = await run([tempDir()], grype.env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('not valid JSON');
  });
});

describe('grype document', () => {
  const { findings, descriptor } = parseGrypeDocument(readFileSync(FULL, 'utf8'));
  const byId = (id: string) => findings.find((f) => f.id === id);

  it('reads every match', () => {
    expect(findings).toHaveLength(7);
  });

  it('reads the grype version', () => {
    expect(descriptor.version).toBe('0.87.0');
  });

  it('lowercases the severity', () => {
    expect(byId('CVE-2024-0001')?.severity).toBe('critical');
  });

  it('maps an Unknown severity to unknown', () => {
    expect(byId('CVE-2024-0007')?.severity).toBe('unknown');
  });

  it('reads fixed versions', () => {
    expect(byId('CVE-2024-0002')?.fixVersions).toEqual(['7.5.2']);
  });

  it.each([
    ['CVE-2024-0001', 'fixed'],
    ['GHSA-aaaa-bbbb-cccc', 'not-fixed'],
    ['CVE-2024-0005', 'not-fixed'],
    ['CVE-2024-0006', 'unknown'],
  ])('maps the fix state of %s to %s', (id, state) => {
    expect(byId(id)?.fixState).toBe(state);
  });

  it('falls back to the related vulnerability description', () => {
    expect(byId('GHSA-aaaa-bbbb-cccc')?.description).toBe('Arbitrary file write in tar');
  });

  it('falls back to the related vulnerability score', () => {
    expect(byId('GHSA-aaaa-bbbb-cccc')?.cvssScore).toBe(8.1);
  });

  it('reads the package location', () => {
    expect(byId('CVE-2024-0004')?.location).toBe('/node_modules/minimist/package.json');
  });

  it('rejects a document without matches', () => {
    expect(() => parseGrypeDocument('{"source":{}}')).toThrow('no "matches" array');
  });
});

describe('command line', () => {
  it('rejects an unknown option', async () => {
    const result = await run(['--colour', 'x'], {});
    expect(result.exitCode).toBe(1);
  });

  it('rejects a bad maximum count', async () => {
    const result = await run(['--max-count', 'severe=2', 'x'], {});
    expect(result.stderr).toContain('--max-count must look like LEVEL=N');
  });

  it('rejects an unknown threshold', async () => {
    const result = await run(['--severity-threshold', 'urgent', 'x'], {});
    expect(result.stderr).toContain('--severity-threshold must be one of');
  });

  it('requires a target', async () => {
    const result = await run([], {});
    expect(result.stderr).toContain('no target given');
  });

  it('prints usage', async () => {
    const result = await run(['--help'], {});
    expect(result.stdout).toContain('Exit codes: 0 passed');
  });

  it('writes reports into missing directories', async () => {
    const grype = installFakeGrype(CLEAN);
    const out = path.join(tempDir(), 'nested', 'deeper');
    mkdirSync(path.dirname(out), { recursive: true });
    await run(['--json', path.join(out, 'gate.json'), tempDir()], grype.env);
    expect(existsSync(path.join(out, 'gate.json'))).toBe(true);
  });
});
