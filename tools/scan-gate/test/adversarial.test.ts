import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AnchoreHttpClient } from '../src/anchore/http';
import { scanWithGrype } from '../src/grype';
import { runCli } from '../src/run';
import { FakeClock } from './support/fake-clock';
import { installFakeGrype } from './support/fake-grype';

// Hostile inputs for the gate: archives, scanner documents, servers and text that try to break its bounds, its
// reports, its secrecy or its exit codes. Each case states the rule it checks in its name.

const PASSWORD = 'S3cret-Anchore-Pw';
const DIGEST = `sha256:${'cd'.repeat(32)}`;
const TAG = 'registry.example.test/app:1.0.0';
const MIB = 1024 * 1024;

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
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

const tempDirs: string[] = [];

function tempDir(): string {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'scan-gate-adversarial-'));
  tempDirs.push(directory);
  return directory;
}

afterAll(() => {
  for (const directory of tempDirs) rmSync(directory, { recursive: true, force: true });
});

/**
 * Splits output into the lines a CI runner reads: the GitHub runner and the Azure Pipelines agent read lines with
 * .NET's TextReader.ReadLine, which ends a line at LF, CR or CRLF.
 */
function runnerLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/**
 * Lines that a runner would execute as a command: Azure Pipelines reads `##vso[` anywhere in a line, the GitHub
 * runner reads `##[` anywhere and `::` at the start of a line after leading white space.
 */
function commandLines(text: string): string[] {
  return runnerLines(text).filter(
    (line) => line.includes('##vso[') || line.includes('##[') || line.trimStart().startsWith('::'),
  );
}

interface ZipEntry {
  name: string;
  /** Stored bytes (deflated when `deflated` is set). */
  data: Buffer;
  uncompressedSize: number;
  crc: number;
  deflated?: boolean;
  /** Unix mode for the external attributes, such as 0o120777 for a symbolic link. */
  unixMode?: number;
}

function storedEntry(name: string, content: string | Buffer, unixMode?: number): ZipEntry {
  const data = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
  return {
    name,
    data,
    uncompressedSize: data.length,
    crc: crc32(data),
    ...(unixMode === undefined ? {} : { unixMode }),
  };
}

/** Writes a zip archive (PKWARE APPNOTE layout, no zip64) from prepared entries. */
function writeZipEntries(file: string, entries: ZipEntry[]): void {
  const parts: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const method = entry.deflated ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(entry.crc, 14);
    local.writeUInt32LE(entry.data.length, 18);
    local.writeUInt32LE(entry.uncompressedSize, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, entry.data);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    // Version made by: 3 (Unix) in the high byte, so that the external attributes carry a Unix mode.
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(entry.crc, 16);
    central.writeUInt32LE(entry.data.length, 20);
    central.writeUInt32LE(entry.uncompressedSize, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((entry.unixMode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + entry.data.length;
  }
  const directory = Buffer.concat(centrals);
  // Above 65535 entries the counts go into the zip64 end of central directory record and its locator.
  const zip64 = entries.length > 0xffff;
  const zip64Records: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(entries.length), 24);
    record.writeBigUInt64LE(BigInt(entries.length), 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
    locator.writeUInt32LE(1, 16);
    zip64Records.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(file, Buffer.concat([...parts, directory, ...zip64Records, end]));
}

/** Builds a Grype document (grype/presenter/models/document.go) with the given matches. */
function grypeDocument(matches: unknown[]): string {
  return JSON.stringify({ matches, descriptor: { name: 'grype', version: '0.87.0' } });
}

function grypeMatch(id: string, severity: string, overrides: Record<string, unknown> = {}): unknown {
  return {
    vulnerability: {
      id,
      dataSource: `https://nvd.nist.gov/vuln/detail/${id}`,
      severity,
      fix: { versions: ['9.9.9'], state: 'fixed' },
      ...overrides,
    },
    relatedVulnerabilities: [],
    artifact: {
      name: 'lodash',
      version: '4.17.20',
      type: 'npm',
      locations: [{ path: '/node_modules/lodash/package.json' }],
    },
  };
}

function writeGrypeOutput(content: string): string {
  const file = path.join(tempDir(), 'grype.json');
  writeFileSync(file, content);
  return file;
}

type Handler = (request: http.IncomingMessage, response: http.ServerResponse, body: string) => void;

interface TestServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

async function startServer(handler: Handler): Promise<TestServer> {
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push(`${request.method} ${request.url}`);
      handler(request, response, Buffer.concat(chunks).toString('utf8'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/**
 * A v2 Anchore server whose image is analyzed at once and whose policy check returns `stop` with `message`
 * (shapes of AnchoreImage and PolicyEvaluation in the Anchore API 2.14.0 document).
 */
function policyServer(message: string): Promise<TestServer> {
  return startServer((request, response) => {
    const url = request.url ?? '/';
    if (url === '/v2/') return sendJson(response, 200, 'v2');
    if (url.startsWith('/v2/images') && url.includes('/check')) {
      return sendJson(response, 200, {
        policy_id: 'default-policy',
        image_digest: DIGEST,
        evaluated_tag: TAG,
        evaluations: [
          {
            final_action: 'stop',
            status: 'fail',
            details: {
              findings: [
                { gate: 'dockerfile', trigger: 'instruction', message, action: 'stop', allowlisted: false },
              ],
            },
          },
        ],
      });
    }
    if (url.includes('/vuln/')) return sendJson(response, 200, { image_digest: DIGEST, vulnerabilities: [] });
    if (url.startsWith('/v2/images')) {
      return sendJson(response, 200, { image_digest: DIGEST, analysis_status: 'analyzed' });
    }
    sendJson(response, 404, { message: 'not found' });
  });
}

const servers: TestServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function track(server: Promise<TestServer>): Promise<TestServer> {
  const started = await server;
  servers.push(started);
  return started;
}

function anchoreEnv(url: string): NodeJS.ProcessEnv {
  return { ANCHORE_URL: url, ANCHORE_USER: 'admin', ANCHORE_PASSWORD: PASSWORD };
}

describe('scan gate credentials', () => {
  it('hides the password of an invalid ANCHORE_URL', async () => {
    // The port is out of range, so the URL does not parse and the credential check never runs.
    const result = await run(['--backend', 'anchore', TAG], {
      ...anchoreEnv('https://admin:hunter2-url-pw@anchore.example.test:99999'),
    });

    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toContain('hunter2-url-pw');
  });

  it('hides the password of an ANCHORE_URL with a space', async () => {
    const result = await run(['--backend', 'anchore', TAG], {
      ...anchoreEnv('https://admin:hunter2-url-pw@anchore example.test'),
    });

    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toContain('hunter2-url-pw');
  });

  it('hides a password with an unescaped slash', async () => {
    const result = await run(['--backend', 'anchore', TAG], {
      ...anchoreEnv('https://admin:hunter2/url-pw@anchore.example.test'),
    });

    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('hides the password of an ANCHORE_URL without a scheme', async () => {
    const result = await run(['--backend', 'anchore', TAG], {
      ...anchoreEnv('admin:hunter2-url-pw@anchore.example.test'),
    });

    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toContain('hunter2-url-pw');
  });

  it('hides the password of a valid ANCHORE_URL with credentials', async () => {
    const result = await run(['--backend', 'anchore', TAG], {
      ...anchoreEnv('https://admin:hunter2-url-pw@anchore.example.test/'),
    });

    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toContain('hunter2-url-pw');
  });

  it('hides the value of an unknown password option', async () => {
    const result = await run(['--anchore-password=hunter2-option', 'app:1'], {});

    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toContain('hunter2-option');
  });

  it('sends no credentials after a redirect to another host', async () => {
    const other = await track(startServer((_request, response) => sendJson(response, 200, 'v2')));
    const redirecting = await track(
      startServer((request, response) => {
        response.writeHead(307, { location: `${other.url.replace('127.0.0.1', 'localhost')}${request.url}` });
        response.end();
      }),
    );
    const result = await run(['--backend', 'anchore', TAG], anchoreEnv(redirecting.url));

    expect(result.exitCode).toBe(1);
    expect(other.requests).toEqual([]);
  });
});

describe('scan gate output on a CI runner', () => {
  it('prints no runner command from a zip entry name', async () => {
    const grype = installFakeGrype(writeGrypeOutput(grypeDocument([])));
    const zip = path.join(tempDir(), 'function.zip');
    writeZipEntries(zip, [
      storedEntry('../x\n##vso[task.setvariable variable=injected]yes\r::add-mask::Failed', 'x'),
    ]);
    const result = await run([zip], grype.env);

    expect(result.exitCode).toBe(1);
    expect(commandLines(result.stdout + result.stderr)).toEqual([]);
  });

  it('prints no runner command from a policy message', async () => {
    const server = await track(
      policyServer(
        'RUN echo hi\n##vso[task.complete result=Succeeded;]done\r::stop-commands::x ##[add-mask]Failed',
      ),
    );
    const result = await run(['--backend', 'anchore', TAG], anchoreEnv(server.url));

    expect(result.exitCode).toBe(2);
    expect(commandLines(result.stdout + result.stderr)).toEqual([]);
  });

  it('keeps the policy message readable', async () => {
    const server = await track(policyServer('RUN curl http://example.test/install.sh | sh'));
    const result = await run(['--backend', 'anchore', TAG], anchoreEnv(server.url));

    expect(result.stdout).toContain('RUN curl http://example.test/install.sh | sh');
  });

  it('prints no runner command from an Anchore error message', async () => {
    const server = await track(
      startServer((request, response) => {
        if (request.url === '/v2/') return sendJson(response, 200, 'v2');
        sendJson(response, 400, { message: 'bad tag\n::error::forged annotation' });
      }),
    );
    const result = await run(['--backend', 'anchore', TAG], anchoreEnv(server.url));

    expect(result.exitCode).toBe(1);
    expect(commandLines(result.stdout + result.stderr)).toEqual([]);
  });
});

describe('scan gate archive bounds', () => {
  it('rejects a zip that expands beyond the size limit', async () => {
    // 40 entries of 64 MiB of zeros, deflated to about 64 KiB each: 2.5 GiB once unpacked.
    const zeros = Buffer.alloc(64 * MIB);
    const deflated = deflateRawSync(zeros, { level: 9 });
    const crc = crc32(zeros);
    const entries = Array.from({ length: 40 }, (_, index) => ({
      name: `layer/${index}.bin`,
      data: deflated,
      uncompressedSize: zeros.length,
      crc,
      deflated: true,
    }));
    const zip = path.join(tempDir(), 'bomb.zip');
    writeZipEntries(zip, entries);
    const grype = installFakeGrype(writeGrypeOutput(grypeDocument([])));
    const result = await run([zip], grype.env);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('more than the limit of 2147483648');
    expect(existsSync(grype.env.FAKE_GRYPE_RECORD ?? '')).toBe(false);
  }, 120_000);

  it('rejects a zip with too many entries', async () => {
    const entries = Array.from({ length: 100_001 }, (_, index) => storedEntry(`f/${index}`, ''));
    const zip = path.join(tempDir(), 'many.zip');
    writeZipEntries(zip, entries);
    const grype = installFakeGrype(writeGrypeOutput(grypeDocument([])));
    const result = await run([zip], grype.env);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('more than the limit of 100000');
  }, 120_000);

  it('unpacks a symbolic link entry as a plain file', async () => {
    const grype = installFakeGrype(writeGrypeOutput(grypeDocument([])));
    const zip = path.join(tempDir(), 'link.zip');
    writeZipEntries(zip, [storedEntry('escape', '/etc', 0o120777), storedEntry('index.js', '\n')]);
    const result = await run([zip], grype.env);

    expect(result.exitCode).toBe(0);
    expect(grype.readRecord().files.sort()).toEqual(['escape', 'index.js']);
  });

  it('writes nothing through a symbolic link entry', async () => {
    const outside = tempDir();
    const grype = installFakeGrype(writeGrypeOutput(grypeDocument([])));
    const zip = path.join(tempDir(), 'link-write.zip');
    writeZipEntries(zip, [storedEntry('escape', outside, 0o120777), storedEntry('escape/planted.txt', 'x')]);
    const result = await run([zip], grype.env);

    expect(result.exitCode).toBe(1);
    expect(existsSync(path.join(outside, 'planted.txt'))).toBe(false);
  });

  it.each([
    ['an absolute path', '/tmp/scan-gate-absolute.txt'],
    ['a backslash path', '..\\outside.txt'],
    ['a drive letter', 'C:/outside.txt'],
    ['a nested climb', 'a/../../outside.txt'],
  ])('rejects %s as a tool error', async (_case, name) => {
    const grype = installFakeGrype(writeGrypeOutput(grypeDocument([])));
    const zip = path.join(tempDir(), 'paths.zip');
    writeZipEntries(zip, [storedEntry(name, 'x')]);
    const result = await run([zip], grype.env);

    expect(result.exitCode).toBe(1);
  });
});

describe('scan gate grype documents', () => {
  it('reports truncated output as a tool error', async () => {
    const full = grypeDocument([grypeMatch('CVE-2024-0001', 'High')]);
    const grype = installFakeGrype(writeGrypeOutput(full.slice(0, full.length / 2)));
    const result = await run([tempDir()], grype.env);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('not valid JSON');
  });

  it.each([
    ['a null match', [null]],
    ['a numeric id', [grypeMatch('CVE-2024-0001', 'High', { id: 12345 })]],
    ['fix versions as text', [grypeMatch('CVE-2024-0001', 'High', { fix: { versions: '1.0.0' } })]],
    [
      'an artifact name object',
      [{ ...(grypeMatch('CVE-2024-0001', 'High') as object), artifact: { name: {} } }],
    ],
  ])('handles %s without an unexpected error', async (_case, matches) => {
    const grype = installFakeGrype(writeGrypeOutput(grypeDocument(matches)));
    const reports = tempDir();
    const result = await run(
      ['--sarif', path.join(reports, 'g.sarif'), '--junit', path.join(reports, 'g.xml'), tempDir()],
      grype.env,
    );

    expect([0, 1, 2]).toContain(result.exitCode);
    expect(result.stderr).not.toContain('unexpected error');
  });

  it('rejects output above the size limit', async () => {
    const grype = installFakeGrype(writeGrypeOutput(grypeDocument([grypeMatch('CVE-2024-0001', 'High')])));

    await expect(scanWithGrype(tempDir(), { env: grype.env, maxOutputBytes: 100 })).rejects.toThrow(
      'more than 100 bytes',
    );
  });

  it('ignores an unknown severity under the threshold', async () => {
    const grype = installFakeGrype(
      writeGrypeOutput(grypeDocument([grypeMatch('CVE-2024-0001', 'Apocalyptic')])),
    );
    const result = await run(['--severity-threshold', 'negligible', tempDir()], grype.env);

    expect(result.exitCode).toBe(0);
  });

  it('counts a duplicated match once', async () => {
    const match = grypeMatch('CVE-2024-0001', 'High');
    const grype = installFakeGrype(writeGrypeOutput(grypeDocument([match, match])));
    const result = await run(['--max-count', 'high=1', tempDir()], grype.env);

    expect(result.exitCode).toBe(0);
  });

  it('counts the same package at two locations twice', async () => {
    const first = grypeMatch('CVE-2024-0001', 'High') as { artifact: object };
    const second = {
      ...first,
      artifact: {
        ...first.artifact,
        locations: [{ path: '/node_modules/a/node_modules/lodash/package.json' }],
      },
    };
    const grype = installFakeGrype(writeGrypeOutput(grypeDocument([first, second])));
    const result = await run(['--max-count', 'high=1', tempDir()], grype.env);

    expect(result.exitCode).toBe(2);
  });

  it('gates 20000 matches', async () => {
    const matches = Array.from({ length: 20_000 }, (_, index) => grypeMatch(`CVE-2024-${index}`, 'Medium'));
    const grype = installFakeGrype(writeGrypeOutput(grypeDocument(matches)));
    const reports = tempDir();
    const result = await run(
      ['--sarif', path.join(reports, 'g.sarif'), '--junit', path.join(reports, 'g.xml'), tempDir()],
      grype.env,
    );

    expect(result.exitCode).toBe(0);
  }, 60_000);
});

describe('scan gate reports with hostile text', () => {
  const HOSTILE_ID = 'CVE-2024-1]]></failure><x a="1">&amp;\'"\u0000\u0001|pipe\nnew|line\rcarriage';

  async function hostileReports(url = 'https://example.test/a b') {
    const grype = installFakeGrype(
      writeGrypeOutput(grypeDocument([grypeMatch(HOSTILE_ID, 'Critical', { dataSource: url })])),
    );
    const reports = tempDir();
    const target = path.join(tempDir(), 'my dir#1 100% `tick`\n## heading');
    mkdirSync(target);
    const files = {
      sarif: path.join(reports, 'g.sarif'),
      junit: path.join(reports, 'g.xml'),
      markdown: path.join(reports, 'g.md'),
    };
    const result = await run(
      ['--sarif', files.sarif, '--junit', files.junit, '--markdown', files.markdown, target],
      grype.env,
    );
    return {
      result,
      target,
      sarif: readFileSync(files.sarif, 'utf8'),
      junit: readFileSync(files.junit, 'utf8'),
      markdown: readFileSync(files.markdown, 'utf8'),
    };
  }

  it('writes well-formed JUnit XML', async () => {
    const { junit } = await hostileReports();

    expect(XMLValidator.validate(junit)).toBe(true);
  });

  it('keeps the id in the JUnit test name', async () => {
    const { junit } = await hostileReports();
    const parsed = new XMLParser({
      ignoreAttributes: false,
      processEntities: true,
      htmlEntities: true,
    }).parse(junit) as { testsuites: { testsuite: { testcase: { '@_name': string } } } };

    // XML 1.0 cannot carry U+0000 or U+0001; an attribute value turns a line break into a space.
    expect(parsed.testsuites.testsuite.testcase['@_name']).toContain(
      'CVE-2024-1]]></failure><x a="1">&amp;\'"',
    );
  });

  it('keeps each markdown table row on one line', async () => {
    const { markdown } = await hostileReports();
    // CommonMark ends a line at LF, CR or CRLF, so a row must contain neither.
    const row = runnerLines(markdown).find((line) => line.includes('CVE-2024-1'));

    expect(row?.startsWith('| fails |')).toBe(true);
    expect(row?.endsWith('| 9.9.9 |')).toBe(true);
  });

  it('keeps the markdown target heading on one line', async () => {
    const { markdown } = await hostileReports();
    const heading = runnerLines(markdown).find((line) => line.startsWith('### '));

    expect(heading).toContain('`tick` ## heading');
  });

  it('escapes raw HTML in markdown', async () => {
    const { markdown } = await hostileReports();

    expect(markdown).not.toContain('<x a="1">');
  });

  it('links no javascript: URL in markdown', async () => {
    const { markdown } = await hostileReports('javascript:alert(document.domain)');

    expect(markdown).not.toContain('](javascript:');
  });

  it('writes a SARIF helpUri only when it is a valid URI', async () => {
    const { sarif } = await hostileReports('https://example.test/a b');
    const rule = (JSON.parse(sarif) as { runs: { tool: { driver: { rules: { helpUri?: string }[] } } }[] })
      .runs[0]?.tool.driver.rules[0];

    // RFC 3986 has no space in a URI.
    expect(rule?.helpUri ?? '').not.toContain(' ');
  });

  it('encodes an awkward SARIF artifact path', async () => {
    const { sarif, target } = await hostileReports();
    const uri = (
      JSON.parse(sarif) as {
        runs: { results: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[] }[];
      }
    ).runs[0]?.results[0]?.locations[0]?.physicalLocation.artifactLocation.uri;
    const expected = path.relative(process.cwd(), target).split(path.sep).join('/');

    // RFC 3986: a space is not allowed, # starts the fragment and % starts an escape.
    expect(uri).not.toMatch(/[ #]/);
    expect(decodeURI(uri ?? '')).toBe(expected.replace(/#/g, '%23'));
    expect(decodeURIComponent(uri ?? '')).toBe(expected);
  });
});

describe('scan gate exit codes', () => {
  it('reports an unwritable report file as a tool error', async () => {
    const grype = installFakeGrype(writeGrypeOutput(grypeDocument([])));
    // The report path is an existing directory, so writing the file fails with EISDIR.
    const result = await run(['--json', tempDir(), tempDir()], grype.env);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toContain('unexpected error');
  });

  it('reports an unknown option as a tool error', async () => {
    const result = await run(['--severity', 'high', tempDir()], {});

    expect(result.exitCode).toBe(1);
  });

  it('reports a missing grype as a tool error', async () => {
    const result = await run([tempDir()], { PATH: tempDir() });

    expect(result.exitCode).toBe(1);
  });
});

/**
 * Builds a YAML "billion laughs" document: each of 12 levels lists the previous anchor 9 times, so expanding
 * every alias would build 9^13 nodes.
 */
function aliasBomb(): string {
  const names = Array.from({ length: 13 }, (_, index) => `level${index}`);
  const lines = [`${names[0]}: &${names[0]} [${Array(9).fill('x').join(', ')}]`];
  for (let index = 1; index < names.length; index += 1) {
    const previous = `*${names[index - 1]}`;
    lines.push(`${names[index]}: &${names[index]} [${Array(9).fill(previous).join(', ')}]`);
  }
  return `${lines.join('\n')}\nentries: []\n`;
}

describe('scan gate allowlists', () => {
  async function runWithAllowlist(name: string, content: string): Promise<Run> {
    const file = path.join(tempDir(), name);
    writeFileSync(file, content);
    const grype = installFakeGrype(writeGrypeOutput(grypeDocument([grypeMatch('CVE-2024-0001', 'High')])));
    return run(['--allowlist', file, tempDir()], grype.env);
  }

  it.each([
    [
      'a date that does not exist',
      'entries:\n  - id: CVE-2024-0001\n    reason: r\n    expires: 2026-02-30\n',
    ],
    [
      'a date with a time',
      'entries:\n  - id: CVE-2024-0001\n    reason: r\n    expires: 2026-01-31T23:00:00-05:00\n',
    ],
    ['a missing reason', 'entries:\n  - id: CVE-2024-0001\n    expires: 2099-01-01\n'],
    ['a blank id', 'entries:\n  - id: "  "\n    reason: r\n    expires: 2099-01-01\n'],
    ['an alias bomb', aliasBomb()],
  ])('rejects %s as a tool error', async (_case, content) => {
    const result = await runWithAllowlist('allowlist.yaml', content);

    expect(result.exitCode).toBe(1);
  });

  it('applies an active duplicate of an expired entry', async () => {
    const result = await runWithAllowlist(
      'allowlist.yaml',
      'entries:\n  - id: CVE-2024-0001\n    reason: old\n    expires: 2020-01-01\n' +
        '  - id: CVE-2024-0001\n    reason: renewed\n    expires: 2099-01-01\n',
    );

    expect(result.exitCode).toBe(0);
  });
});

describe('scan gate against a hostile Anchore server', () => {
  it('reports HTML in place of JSON as a tool error', async () => {
    const server = await track(
      startServer((request, response) => {
        if (request.url === '/v2/') return sendJson(response, 200, 'v2');
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end('<html><body>Sign in</body></html>');
      }),
    );
    const result = await run(['--backend', 'anchore', TAG], anchoreEnv(server.url));

    expect(result.exitCode).toBe(1);
  });

  it('bounds a status that flips between analyzing and analyzed', async () => {
    let reads = 0;
    const server = await track(
      startServer((request, response) => {
        const url = request.url ?? '';
        if (url === '/v2/') return sendJson(response, 200, 'v2');
        if (url.includes('/check')) return sendJson(response, 404, { message: 'not evaluated yet' });
        reads += 1;
        sendJson(response, 200, {
          image_digest: DIGEST,
          analysis_status: reads % 2 === 0 ? 'analyzed' : 'analyzing',
        });
      }),
    );
    const result = await run(['--backend', 'anchore', '--max-attempts', '20', TAG], anchoreEnv(server.url));

    expect(result.exitCode).toBe(1);
  });

  it('rejects a response body above the limit', async () => {
    const server = await track(
      startServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify('x'.repeat(64 * 1024)));
      }),
    );
    const client = new AnchoreHttpClient(
      { rootUrl: server.url, user: 'admin', password: PASSWORD },
      new FakeClock(),
      { maxRetries: 0, initialDelayMs: 0, maxDelayMs: 0 },
      10_000,
      1024,
    );

    await expect(client.request('GET', '/v2/')).rejects.toThrow('larger than 1024 bytes');
  });

  it('ends a response that trickles forever', async () => {
    const server = await track(
      startServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('"');
        const timer = setInterval(() => response.write(' '), 50);
        response.on('close', () => clearInterval(timer));
      }),
    );
    const client = new AnchoreHttpClient(
      { rootUrl: server.url, user: 'admin', password: PASSWORD },
      new FakeClock(),
      { maxRetries: 0, initialDelayMs: 0, maxDelayMs: 0 },
      500,
    );

    await expect(client.request('GET', '/v2/')).rejects.toThrow('ETIMEDOUT');
  }, 10_000);
});
