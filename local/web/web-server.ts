import { readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { closeServer, listenOnLoopback } from '../ports';

/** Folder of the page's static files (index.html, app.js, style.css). */
export const PUBLIC_DIR = path.join(__dirname, 'public');

/** Content types of the files the server sends; a file with another extension is not served. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
};

export interface WebServerOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Command-line flag that sets the port, named when the port is taken. */
  portOption?: string;
  /** The codeless API the page calls, sent to it as `/config.json`. */
  api: { url: string; apiKey: string };
  /** Folder to serve; default {@link PUBLIC_DIR}. */
  rootDir?: string;
  /** One line per request; default none. */
  log?: (line: string) => void;
}

export interface WebServer {
  /** Page URL, such as `http://127.0.0.1:4572/`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The page's settings, generated at start so no API key is stored in the static files. */
export interface PageConfig {
  apiUrl: string;
  apiKey: string;
}

/**
 * Builds the Content-Security-Policy: scripts, styles and images only from this server (thumbnails as blob: object
 * URLs), and requests only to this server and the API, so the page cannot load anything from another host.
 */
function contentSecurityPolicy(apiUrl: string): string {
  const apiOrigin = new URL(apiUrl).origin;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob:",
    `connect-src 'self' ${apiOrigin}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Maps a request path to a file under `rootDir`, or undefined when the path must not be served: it cannot be
 * decoded, or it contains `..`, `.`, a hidden segment, a backslash or a NUL byte after percent-decoding.
 */
export function resolveStaticPath(rootDir: string, requestPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(requestPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/').filter((segment) => segment !== '');
  if (segments.length === 0) segments.push('index.html');
  if (segments.some((segment) => segment.startsWith('.'))) return undefined;
  const root = path.resolve(rootDir);
  const file = path.resolve(root, ...segments);
  return file.startsWith(`${root}${path.sep}`) ? file : undefined;
}

/** Reads a file that really lies inside `root` (after resolving symbolic links); undefined when it does not. */
async function readServableFile(root: string, file: string): Promise<Buffer | undefined> {
  try {
    const [realRoot, realFile] = await Promise.all([realpath(root), realpath(file)]);
    if (!realFile.startsWith(`${realRoot}${path.sep}`)) return undefined;
    if (!(await stat(realFile)).isFile()) return undefined;
    return await readFile(realFile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENAMETOOLONG and ELOOP come from request paths that name no file (a segment or path beyond NAME_MAX or
    // PATH_MAX, a link cycle), so they are a 404 like a missing file.
    if (
      code === 'ENOENT' ||
      code === 'ENOTDIR' ||
      code === 'EISDIR' ||
      code === 'ENAMETOOLONG' ||
      code === 'ELOOP'
    ) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Starts the local web page's static server on 127.0.0.1. It serves the files of `rootDir` and a generated
 * `/config.json` with the API URL and key, and accepts only GET and HEAD. It rejects a Host header that names
 * another host, so a site whose DNS name was rebound to 127.0.0.1 cannot read the key.
 */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const rootDir = path.resolve(options.rootDir ?? PUBLIC_DIR);
  const log = options.log ?? (() => {});
  const config: PageConfig = { apiUrl: options.api.url, apiKey: options.api.apiKey };
  const configBody = Buffer.from(`${JSON.stringify(config, null, 2)}\n`);
  const policy = contentSecurityPolicy(options.api.url);
  let allowedHosts = new Set<string>();

  const securityHeaders = {
    'content-security-policy': policy,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<number> => {
    const send = (status: number, headers: Record<string, string>, body: Buffer | string) => {
      const bytes = typeof body === 'string' ? Buffer.from(`${body}\n`) : body;
      response.writeHead(status, {
        ...securityHeaders,
        'content-type': 'text/plain; charset=utf-8',
        ...headers,
        'content-length': String(bytes.length),
      });
      response.end(request.method === 'HEAD' ? undefined : bytes);
      return status;
    };

    request.resume();
    // RFC 9112 section 3.2: more than one Host field line is a 400. Node keeps only the first, so count them here.
    const hostLines = request.rawHeaders.filter(
      (name, index) => index % 2 === 0 && name.toLowerCase() === 'host',
    );
    if (hostLines.length > 1) return send(400, {}, 'Bad request: more than one Host header');
    const host = (request.headers.host ?? '').toLowerCase();
    if (!allowedHosts.has(host)) {
      return send(
        403,
        {},
        `Host "${host}" is not served: open the page as ${[...allowedHosts].map((name) => `http://${name}/`).join(' or ')}`,
      );
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return send(405, { allow: 'GET, HEAD' }, `Method ${request.method} is not allowed: use GET or HEAD`);
    }

    const requestPath = (request.url ?? '/').split(/[?#]/, 1)[0] ?? '/';
    if (requestPath === '/config.json') {
      return send(
        200,
        { 'content-type': CONTENT_TYPES['.json'] as string, 'cache-control': 'no-store' },
        configBody,
      );
    }
    const file = resolveStaticPath(rootDir, requestPath);
    const contentType = file === undefined ? undefined : CONTENT_TYPES[path.extname(file).toLowerCase()];
    const body =
      file === undefined || contentType === undefined ? undefined : await readServableFile(rootDir, file);
    if (body === undefined) return send(404, {}, `Not found: ${requestPath}`);
    return send(200, { 'content-type': contentType as string, 'cache-control': 'no-cache' }, body);
  };

  const server = createServer((request, response) => {
    handle(request, response)
      .then((status) => log(`${request.method} ${request.url} ${status}`))
      .catch((error: unknown) => {
        log(`${request.method} ${request.url} failed: ${(error as Error).stack ?? String(error)}`);
        if (!response.headersSent) {
          response.writeHead(500, { ...securityHeaders, 'content-type': 'text/plain; charset=utf-8' });
          response.end('Internal server error\n');
        } else response.destroy();
      });
  });
  const port = await listenOnLoopback(server, options.port ?? 0, 'the web page', options.portOption);
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () => closeServer(server),
  };
}
