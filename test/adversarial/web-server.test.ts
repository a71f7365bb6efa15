import { connect } from 'node:net';
import { startWebServer, type WebServer } from '../../local/web/web-server';

// Hostile requests against the web page's static server, sent as raw bytes so that nothing normalises them first.

const API = { url: 'http://127.0.0.1:4571/local', apiKey: 'adversarial-api-key-0123456789' };

interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/** Sends raw request bytes and reads the first response (the server closes after it: Connection: close). */
function sendRaw(port: number, text: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const response = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = response.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), head, body: rest.join('\r\n\r\n') });
    });
    // write, not end: a half-closed socket lets the server drop the connection before an async response.
    socket.write(text);
  });
}

function get(
  port: number,
  target: string,
  headers: string[] = [`Host: 127.0.0.1:${port}`],
): Promise<RawResponse> {
  return sendRaw(port, `GET ${target} HTTP/1.1\r\n${headers.join('\r\n')}\r\nConnection: close\r\n\r\n`);
}

let server: WebServer;
const logLines: string[] = [];

beforeAll(async () => {
  server = await startWebServer({ api: API, port: 0, log: (line) => logLines.push(line) });
});

afterAll(async () => {
  await server.close();
});

describe('web server path handling', () => {
  it.each([
    '/../../etc/passwd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/%252e%252e/etc/passwd',
    '//etc/passwd',
    '/..%2f..%2fetc/passwd',
    '/..\\..\\etc\\passwd',
    '/%5c..%5cetc%5cpasswd',
    '/app.js%00.html',
    '/%c0%ae%c0%ae/etc/passwd',
    '/%e0%80%ae%e0%80%ae/etc/passwd',
    '/%ef%bc%8e%ef%bc%8e/etc/passwd',
    '/.%2e/web-server.ts',
    '/..%2fweb-server.ts',
    '/public/../web-server.ts',
    'http://127.0.0.1/../web-server.ts',
    '/%',
  ])('answers 404 for %s', async (target) => {
    const response = await get(server.port, target);

    expect(response.status).toBe(404);
  });

  it('answers 404 for a segment longer than a file name may be', async () => {
    // Linux limits one path segment to 255 bytes (NAME_MAX), so the lookup fails with ENAMETOOLONG.
    const response = await get(server.port, `/${'a'.repeat(300)}.js`);

    expect(response.status).toBe(404);
  });

  it('answers 404 for a path longer than PATH_MAX', async () => {
    const response = await get(server.port, `/${'a/'.repeat(2500)}app.js`);

    expect(response.status).toBe(404);
  });

  it('sends its security headers on every error', async () => {
    const response = await get(server.port, `/${'a'.repeat(300)}.js`);

    expect(response.head.toLowerCase()).toContain("content-security-policy: default-src 'none'");
  });
});

describe('web server Host header', () => {
  it.each([
    ['a rebinding name', 'Host: attacker.example:PORT'],
    ['no port', 'Host: 127.0.0.1'],
    ['a trailing dot', 'Host: 127.0.0.1.:PORT'],
    ['a short IPv4 form', 'Host: 127.1:PORT'],
    ['a decimal IPv4 form', 'Host: 2130706433:PORT'],
    ['IPv6 loopback', 'Host: [::1]:PORT'],
    ['userinfo', 'Host: localhost:PORT@attacker.example'],
  ])('rejects %s', async (_case, header) => {
    const response = await get(server.port, '/config.json', [header.replace('PORT', String(server.port))]);

    expect(response.status).toBe(403);
    expect(response.body).not.toContain(API.apiKey);
  });

  it('rejects a second Host header', async () => {
    // RFC 9112 section 3.2: a server must respond with 400 to a request with more than one Host header field line.
    const response = await get(server.port, '/config.json', [
      `Host: 127.0.0.1:${server.port}`,
      'Host: attacker.example',
    ]);

    expect(response.status).toBe(400);
    expect(response.body).not.toContain(API.apiKey);
  });

  it('rejects HTTP/1.0 without a Host header', async () => {
    const response = await sendRaw(server.port, 'GET /config.json HTTP/1.0\r\n\r\n');

    expect(response.status).toBe(403);
  });

  it('accepts localhost in capitals', async () => {
    const response = await get(server.port, '/config.json', [`Host: LOCALHOST:${server.port}`]);

    expect(response.status).toBe(200);
  });
});

describe('web server methods and framing', () => {
  it.each(['POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND'])('answers 405 to %s', async (method) => {
    const response = await sendRaw(
      server.port,
      `${method} /config.json HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );

    expect(response.status).toBe(405);
    expect(response.body).not.toContain(API.apiKey);
  });

  it('answers HEAD without a body', async () => {
    const response = await sendRaw(
      server.port,
      `HEAD /config.json HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`,
    );

    expect(response.body).toBe('');
  });

  it('answers 431 to a huge header', async () => {
    const response = await get(server.port, '/', [
      `Host: 127.0.0.1:${server.port}`,
      `X-Padding: ${'a'.repeat(70_000)}`,
    ]);

    expect(response.status).toBe(431);
  });

  it('rejects Content-Length with Transfer-Encoding', async () => {
    // A smuggled second request would ask for the key under a foreign Host; only the 400 may come back.
    const response = await sendRaw(
      server.port,
      `POST / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n` +
        '0\r\n\r\nGET /config.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    );

    expect(response.status).toBe(400);
    expect(response.body).not.toContain(API.apiKey);
  });

  it('forbids caching config.json under a query string', async () => {
    const response = await get(server.port, '/config.json?v=1');

    expect(response.head.toLowerCase()).toContain('cache-control: no-store');
  });

  it('logs no API key', () => {
    expect(logLines.join('\n')).not.toContain(API.apiKey);
  });
});
