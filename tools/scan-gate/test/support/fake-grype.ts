import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// A stand-in for the grype command, because Grype itself cannot be installed here. It records its arguments
// (and, for a dir: source, the files it finds), then prints a fixture document or fails as the test requests.
const SCRIPT = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const record = { args, files: [], source: args.find((a) => /^[a-z-]+:/.test(a)) || null };
if (record.source && record.source.startsWith('dir:')) {
  const root = record.source.slice(4);
  record.root = root;
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else record.files.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  walk(root);
}
fs.writeFileSync(process.env.FAKE_GRYPE_RECORD, JSON.stringify(record));
if (process.env.FAKE_GRYPE_EXIT) {
  process.stderr.write('failed to catalog: fake failure\\n');
  process.exit(Number(process.env.FAKE_GRYPE_EXIT));
}
process.stdout.write(fs.readFileSync(process.env.FAKE_GRYPE_OUTPUT));
`;

/** What the fake grype saw on its last run. */
export interface GrypeRecord {
  args: string[];
  source: string | null;
  files: string[];
  root?: string;
}

/** A temporary directory holding a `grype` executable, and the environment that puts it on PATH. */
export interface FakeGrype {
  env: NodeJS.ProcessEnv;
  readRecord(): GrypeRecord;
}

/** Installs a fake grype that prints `outputFile`; `exitCode` makes it fail instead. */
export function installFakeGrype(outputFile: string, options: { exitCode?: number } = {}): FakeGrype {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'fake-grype-'));
  const executable = path.join(directory, 'grype');
  writeFileSync(executable, SCRIPT);
  chmodSync(executable, 0o755);
  const recordFile = path.join(directory, 'record.json');
  return {
    env: {
      // The node directory stays on PATH so that `#!/usr/bin/env node` resolves.
      PATH: `${directory}${path.delimiter}${path.dirname(process.execPath)}`,
      FAKE_GRYPE_OUTPUT: outputFile,
      FAKE_GRYPE_RECORD: recordFile,
      ...(options.exitCode === undefined ? {} : { FAKE_GRYPE_EXIT: String(options.exitCode) }),
    },
    readRecord: () => JSON.parse(readFileSync(recordFile, 'utf8')) as GrypeRecord,
  };
}
