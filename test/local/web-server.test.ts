import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { PUBLIC_DIR, resolveStaticPath, startWebServer, type WebServer } from '../../local/web/web-server';

const API = { url: 'http://127.0.0.1:4571/local', apiKey: 'test-api-key-0123456789' };

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends a request with the path exactly as given (fetch would resolve `..` before sending). */
function rawRequest(
  port: number,
  requestPath: string,
  options: { method?: string; host?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: requestPath,
        method: options.method ?? 'GET',
        headers: { host: options.host ?? `127.0.0.1:${port}` },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    request.on('error', reject);
    request.end();
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('web server with the page files', () => {
  let server: WebServer;

  beforeAll(async () => {
    server = await startWebServer({ api: API, port: 0 });
  });

  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['/', 'text/html; charset=utf-8'],
    ['/index.html', 'text/html; charset=utf-8'],
    ['/app.js', 'text/javascript; charset=utf-8'],
    ['/api.js', 'text/javascript; charset=utf-8'],
    ['/style.css', 'text/css; charset=utf-8'],
    ['/favicon.svg', 'image/svg+xml'],
  ])('serves %s as %s', async (requestPath, contentType) => {
    const response = await rawRequest(server.port, requestPath);

    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe(contentType);
  });

  it('serves the file bytes unchanged', async () => {
    const response = await rawRequest(server.port, '/app.js');

    expect(response.body).toBe(readFileSync(path.join(PUBLIC_DIR, 'app.js'), 'utf8'));
  });

  it('sends the API URL and key as config.json', async () => {
    const response = await rawRequest(server.port, '/config.json');

    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(response.body)).toEqual({ apiUrl: API.url, apiKey: API.apiKey });
  });

  it('forbids caching config.json', async () => {
    const response = await rawRequest(server.port, '/config.json');

    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('limits connections to itself and the API', async () => {
    const response = await rawRequest(server.port, '/');
    const policy = String(response.headers['content-security-policy']);

    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("connect-src 'self' http://127.0.0.1:4571;");
  });

  it('answers 404 for a missing file', async () => {
    const response = await rawRequest(server.port, '/missing.js');

    expect(response.status).toBe(404);
  });

  it('answers 404 for the folder itself', async () => {
    const response = await rawRequest(server.port, '/public/');

    expect(response.status).toBe(404);
  });

  // public/ is local/web/public, so three levels up is the project root.
  it.each(['/../../../package.json', '/%2e%2e/%2e%2e/%2e%2e/package.json', '/..%2f..%2f..%2fpackage.json'])(
    'answers 404 for the traversal %s',
    async (requestPath) => {
      const response = await rawRequest(server.port, requestPath);

      expect(response.status).toBe(404);
    },
  );

  it('rejects a foreign Host header', async () => {
    const response = await rawRequest(server.port, '/config.json', { host: 'attacker.example:80' });

    expect(response.status).toBe(403);
    expect(response.body).not.toContain(API.apiKey);
  });

  it('accepts localhost as the Host', async () => {
    const response = await rawRequest(server.port, '/config.json', { host: `localhost:${server.port}` });

    expect(response.status).toBe(200);
  });

  it('rejects POST with 405', async () => {
    const response = await rawRequest(server.port, '/index.html', { method: 'POST' });

    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
  });

  it('answers HEAD without a body', async () => {
    const response = await rawRequest(server.port, '/index.html', { method: 'HEAD' });

    expect(response.status).toBe(200);
    expect(response.body).toBe('');
  });

  it('listens on 127.0.0.1', async () => {
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
    expect(await canConnect('127.0.0.1', server.port)).toBe(true);
  });

  it('refuses connections on other interfaces', async () => {
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((address) => address !== undefined && !address.internal)
      .map((address) => (address as { address: string }).address);
    const reachable = [];
    for (const address of others) {
      if (await canConnect(address, server.port)) reachable.push(address);
    }

    expect(reachable).toEqual([]);
  });
});

describe('web server with a folder of its own', () => {
  let workDir: string;
  let server: WebServer;

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'web-server-'));
    const rootDir = path.join(workDir, 'public');
    mkdirSync(rootDir);
    writeFileSync(path.join(rootDir, 'index.html'), '<!doctype html><title>test</title>');
    writeFileSync(path.join(rootDir, 'notes.txt'), 'not a page file');
    writeFileSync(path.join(rootDir, '.hidden.js'), 'hidden');
    writeFileSync(path.join(workDir, 'secret.js'), 'outside the folder');
    symlinkSync(path.join(workDir, 'secret.js'), path.join(rootDir, 'link.js'));
    server = await startWebServer({ api: API, port: 0, rootDir });
  });

  afterAll(async () => {
    await server.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it.each([
    '/../secret.js',
    '/%2e%2e/secret.js',
    '/%2E%2E/secret.js',
    '/..%2fsecret.js',
    '/%2e%2e%2fsecret.js',
    '/..%5csecret.js',
    '/./../secret.js',
    '/a/../../secret.js',
    '/index.html%00.js',
    '/%',
  ])('answers 404 for the traversal %s', async (requestPath) => {
    const response = await rawRequest(server.port, requestPath);

    expect(response.status).toBe(404);
    expect(response.body).not.toContain('outside the folder');
  });

  it('answers 404 for a symbolic link that leaves the folder', async () => {
    const response = await rawRequest(server.port, '/link.js');

    expect(response.status).toBe(404);
  });

  it('answers 404 for an unknown extension', async () => {
    const response = await rawRequest(server.port, '/notes.txt');

    expect(response.status).toBe(404);
  });

  it('answers 404 for a hidden file', async () => {
    const response = await rawRequest(server.port, '/.hidden.js');

    expect(response.status).toBe(404);
  });
});

describe('resolveStaticPath', () => {
  const root = path.resolve('/srv/page');

  it('maps / to index.html', () => {
    expect(resolveStaticPath(root, '/')).toBe(path.join(root, 'index.html'));
  });

  it('maps a nested path inside the folder', () => {
    expect(resolveStaticPath(root, '/images/logo%20small.png')).toBe(
      path.join(root, 'images', 'logo small.png'),
    );
  });

  it.each(['/../x.js', '/%2e%2e/x.js', '/a/%2E%2E/%2E%2E/x.js', '/a%5c..%5cx.js', '/a%00.js', '/%E0%A4%A'])(
    'rejects %s',
    (requestPath) => {
      expect(resolveStaticPath(root, requestPath)).toBeUndefined();
    },
  );
});
