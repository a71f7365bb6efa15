import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageStaleReason, TEMPLATE_FILE } from '../../local/packaging';

let projectDir: string;
let packageDir: string;

function writePackage(record?: { stage: string; templateModifiedMs?: number }): void {
  writeFileSync(path.join(packageDir, TEMPLATE_FILE), '{}');
  writeFileSync(path.join(packageDir, 'createThumbnail.zip'), 'zip');
  if (record === undefined) return;
  const templateModifiedMs =
    record.templateModifiedMs ?? statSync(path.join(packageDir, TEMPLATE_FILE)).mtimeMs;
  writeFileSync(
    path.join(packageDir, 'local-package.json'),
    JSON.stringify({ stage: record.stage, templateModifiedMs }),
  );
}

beforeEach(() => {
  projectDir = mkdtempSync(path.join(tmpdir(), 'packaging-test-'));
  packageDir = path.join(projectDir, '.serverless');
  mkdirSync(packageDir);
});

afterEach(() => {
  rmSync(projectDir, { recursive: true, force: true });
});

describe('packageStaleReason', () => {
  it('accepts a package made for the stage', async () => {
    writePackage({ stage: 'local' });

    await expect(packageStaleReason(projectDir, packageDir, 'local')).resolves.toBeUndefined();
  });

  it('rejects a package for another stage', async () => {
    writePackage({ stage: 'dev' });

    await expect(packageStaleReason(projectDir, packageDir, 'local')).resolves.toBe(
      'the package is for stage dev',
    );
  });

  it('rejects a package without a record', async () => {
    writePackage();

    await expect(packageStaleReason(projectDir, packageDir, 'local')).resolves.toMatch(/another command/);
  });

  it('rejects a template rewritten since the record', async () => {
    writePackage({ stage: 'local', templateModifiedMs: 1 });

    await expect(packageStaleReason(projectDir, packageDir, 'local')).resolves.toMatch(/another command/);
  });

  it('rejects a package older than an input', async () => {
    writePackage({ stage: 'local' });
    writeFileSync(path.join(projectDir, 'serverless.yml'), 'service: x');
    const future = new Date(Date.now() + 60_000);
    utimesSync(path.join(projectDir, 'serverless.yml'), future, future);

    await expect(packageStaleReason(projectDir, packageDir, 'local')).resolves.toBe(
      'serverless.yml changed since the last package',
    );
  });

  it('rejects a folder without zips', async () => {
    writeFileSync(path.join(packageDir, TEMPLATE_FILE), '{}');

    await expect(packageStaleReason(projectDir, packageDir, 'local')).resolves.toMatch(
      /no packaged template/,
    );
  });
});
