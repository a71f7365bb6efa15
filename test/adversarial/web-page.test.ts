import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { launchChromium } from '../../local/web/chromium';
import { startWebServer, type WebServer } from '../../local/web/web-server';
import { foreignRequests } from '../support/page-requests';

// The web page against a hostile stand-in for the codeless API on 127.0.0.1: records whose keys, labels and
// messages carry HTML and script, list tokens with base64 punctuation, and uploads with awkward names and sizes.
// Response shapes follow docs/api.md (items with id, status, labels, thumbnail, source, errors; next).

const API_KEY = 'adversarial-page-key-0123456789';
const STAGE = '/local';
const XSS_KEY = '<img src=x onerror="window.__pwned=1">"><script>window.__pwned=2</script>';
const XSS_LABEL = '<svg onload="window.__pwned=3"></svg>';
const XSS_FAILURE = '<iframe src="javascript:window.__pwned=4"></iframe>';
const XSS_STATUS = 'failed"><b id="injected">';
// One word longer than any viewport, as a key, a label and a message can be.
const LONG_WORD = 'unbroken'.repeat(40);
const NEXT_TOKEN = 'a+b/c==';
const UPLOAD_NAMES = [
  '100% real.png',
  'a#b.png',
  'what?.png',
  'plus+sign.png',
  '%2F literal.png',
  'ünïcödé 日本.png',
  `${'long'.repeat(60)}.png`,
  'javascript:alert(1).png',
];

interface RecordedUpload {
  rawPath: string;
  key: string;
  contentType: string | undefined;
  size: number;
}

interface MockApi {
  url: string;
  uploads: RecordedUpload[];
  nextTokens: (string | null)[];
  close(): Promise<void>;
}

function item(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    status: 'done',
    labels: [],
    thumbnail: null,
    source: null,
    errors: { thumbnail: null, labels: null },
    ...overrides,
  };
}

/** Starts the stand-in API. Its first list page carries `next`; the second page has none. */
async function startMockApi(webOrigin: () => string, thumbnail: Buffer): Promise<MockApi> {
  const uploads: RecordedUpload[] = [];
  const nextTokens: (string | null)[] = [];
  const records = new Map<string, Record<string, unknown>>();
  const firstPage = [
    item(XSS_KEY, {
      status: XSS_STATUS,
      labels: [
        { name: XSS_LABEL, confidence: 99.4 },
        { name: LONG_WORD, confidence: 80 },
      ],
      thumbnail: { path: '/thumbnails/xss', width: 1, height: 1, contentType: 'image/png' },
      source: { format: '<b>bold</b>', width: 1, height: 1, size: 68 },
      errors: { thumbnail: XSS_FAILURE, labels: null },
    }),
    item('scheme-path', {
      thumbnail: { path: 'javascript:window.__pwned=5', width: 1, height: 1, contentType: 'image/png' },
    }),
  ];
  const secondPage = [item('second-page.png')];

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers = {
        'access-control-allow-origin': webOrigin(),
        'access-control-allow-headers': 'content-type, x-api-key',
        'access-control-allow-methods': 'GET, PUT, POST, OPTIONS',
      };
      const json = (status: number, body: unknown) => {
        response.writeHead(status, { ...headers, 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (request.method === 'OPTIONS') {
        response.writeHead(204, headers);
        response.end();
        return;
      }
      if (request.headers['x-api-key'] !== API_KEY)
        return json(403, { message: 'Missing or invalid API key.' });

      const rawPath = (request.url ?? '/').split('?')[0] ?? '/';
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      if (rawPath === `${STAGE}/images` && request.method === 'GET') {
        const next = url.searchParams.get('next');
        nextTokens.push(next);
        if (next === null) return json(200, { items: firstPage, next: NEXT_TOKEN });
        return json(200, { items: next === NEXT_TOKEN ? secondPage : [] });
      }
      if (rawPath.startsWith(`${STAGE}/images/`)) {
        const key = decodeURIComponent(rawPath.slice(`${STAGE}/images/`.length));
        if (request.method === 'PUT') {
          const body = Buffer.concat(chunks);
          uploads.push({ rawPath, key, contentType: request.headers['content-type'], size: body.length });
          if (key === 'rejected.png') return json(400, { message: XSS_FAILURE });
          records.set(key, item(key, { status: 'done' }));
          return json(201, { key });
        }
        const record = records.get(key);
        return record ? json(200, record) : json(404, { message: 'No image with this key.' });
      }
      if (rawPath === `${STAGE}/thumbnails/xss`) {
        response.writeHead(200, { ...headers, 'content-type': 'image/png' });
        response.end(thumbnail);
        return;
      }
      json(404, { message: `no route ${rawPath}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${STAGE}`,
    uploads,
    nextTokens,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The part of the browser's globals the checks read (the project compiles without the DOM library). */
interface BrowserWindow {
  __pwned?: number;
}

let browser: Browser;
let api: MockApi;
let web: WebServer;
const requestedUrls: string[] = [];
const consoleMessages: string[] = [];

async function openPage(query = ''): Promise<Page> {
  const page = await browser.newPage();
  page.on('request', (request) => requestedUrls.push(request.url()));
  page.on('console', (message) => consoleMessages.push(message.text()));
  await page.goto(`${web.url}${query}`);
  await page.locator('#gallery[aria-busy="false"]').waitFor();
  return page;
}

function cardSelector(key: string): string {
  return `#gallery > li[data-key=${JSON.stringify(key)}]`;
}

async function pwned(page: Page): Promise<number | undefined> {
  return page.evaluate(() => (globalThis as unknown as BrowserWindow).__pwned);
}

beforeAll(async () => {
  const thumbnail = await sharp({
    create: { width: 1, height: 1, channels: 3, background: { r: 255, g: 0, b: 0 } },
  })
    .png()
    .toBuffer();
  let webOrigin = '';
  api = await startMockApi(() => webOrigin, thumbnail);
  web = await startWebServer({ api: { url: api.url, apiKey: API_KEY }, port: 0 });
  webOrigin = new URL(web.url).origin;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await api?.close();
});

describe('web page with hostile records', () => {
  let page: Page;

  beforeAll(async () => {
    page = await openPage();
    await page.locator(`${cardSelector(XSS_KEY)} img`).waitFor();
  }, 30_000);

  afterAll(async () => {
    await page?.close();
  });

  it('shows an HTML key as text', async () => {
    expect(await page.locator(`${cardSelector(XSS_KEY)} .key`).textContent()).toBe(XSS_KEY);
  });

  it('shows an HTML label as text', async () => {
    expect(
      await page
        .locator(`${cardSelector(XSS_KEY)} .label-name`)
        .first()
        .textContent(),
    ).toBe(XSS_LABEL);
  });

  it('keeps a long label inside its card', async () => {
    const card = await page.locator(cardSelector(XSS_KEY)).boundingBox();
    const label = await page
      .locator(`${cardSelector(XSS_KEY)} .label`)
      .last()
      .boundingBox();

    expect((label?.x ?? 0) + (label?.width ?? 0)).toBeLessThanOrEqual((card?.x ?? 0) + (card?.width ?? 0));
  });

  it('shows an HTML failure message as text', async () => {
    expect(await page.locator(`${cardSelector(XSS_KEY)} .failure`).textContent()).toBe(
      `Thumbnail failed: ${XSS_FAILURE}`,
    );
  });

  it('shows an HTML status as text', async () => {
    expect(await page.locator(`${cardSelector(XSS_KEY)} .status`).textContent()).toBe(XSS_STATUS);
  });

  it('creates no element from record text', async () => {
    const injected = await page.locator(
      '#gallery script, #gallery svg, #gallery iframe, #injected, #gallery b',
    );

    expect(await injected.count()).toBe(0);
  });

  it('creates only the thumbnail images', async () => {
    const sources = await page
      .locator('#gallery img')
      .evaluateAll((images) => images.map((image) => (image as unknown as { src: string }).src));

    expect(sources.every((source) => source === '' || source.startsWith('blob:'))).toBe(true);
  });

  it('runs no script from record text', async () => {
    expect(await pwned(page)).toBeUndefined();
  });

  it('passes a list token with + / = unchanged', async () => {
    await page.locator('#more').click();
    await page.locator(cardSelector('second-page.png')).waitFor();

    expect(api.nextTokens).toContain(NEXT_TOKEN);
  });

  it('hides Load more after the last page', async () => {
    await page.locator(cardSelector('second-page.png')).waitFor();

    expect(await page.locator('#more').isHidden()).toBe(true);
  });
});

describe('web page uploads', () => {
  let page: Page;

  beforeAll(async () => {
    page = await openPage();
  }, 30_000);

  afterAll(async () => {
    await page?.close();
  });

  async function upload(files: { name: string; mimeType: string; buffer: Buffer }[]): Promise<void> {
    const before = api.uploads.length;
    await page.locator('#file-input').setInputFiles(files);
    // The page uploads one file after another, so all have finished once the API saw each and none is pending.
    const deadline = Date.now() + 20_000;
    while (api.uploads.length - before < files.length) {
      if (Date.now() > deadline)
        throw new Error(`the API saw ${api.uploads.length - before} of ${files.length} uploads`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await page.locator('#upload-log .upload-pending').waitFor({ state: 'detached' });
  }

  it('uploads awkward file names under their exact keys', async () => {
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    await upload(UPLOAD_NAMES.map((name) => ({ name, mimeType: 'image/png', buffer: png })));
    const keys = api.uploads.slice(-UPLOAD_NAMES.length).map((entry) => entry.key);

    expect(keys).toEqual(UPLOAD_NAMES);
  });

  it('encodes each key as one path segment', async () => {
    const paths = api.uploads
      .filter((entry) => UPLOAD_NAMES.includes(entry.key))
      .map((entry) => entry.rawPath);

    expect(paths).toEqual(UPLOAD_NAMES.map((name) => `${STAGE}/images/${encodeURIComponent(name)}`));
  });

  it('shows one card for a name uploaded twice', async () => {
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    await upload([{ name: 'twice.png', mimeType: 'image/png', buffer: png }]);
    await upload([{ name: 'twice.png', mimeType: 'image/png', buffer: png }]);

    expect(await page.locator(cardSelector('twice.png')).count()).toBe(1);
  });

  it('sends a 0-byte file with no body', async () => {
    await upload([{ name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) }]);

    expect(api.uploads.at(-1)?.size).toBe(0);
  });

  it('sends a file of unknown type as application/octet-stream', async () => {
    await upload([{ name: 'notes.unknownext', mimeType: '', buffer: Buffer.from('plain text') }]);

    expect(api.uploads.at(-1)?.contentType).toBe('application/octet-stream');
  });

  it('uploads 20 files at once', async () => {
    const files = Array.from({ length: 20 }, (_, index) => ({
      name: `batch-${index}.png`,
      mimeType: 'image/png',
      buffer: Buffer.from([index]),
    }));
    await upload(files);

    expect(await page.locator('#upload-log li').count()).toBe(20);
  });

  it('keeps a long file name inside the viewport', async () => {
    await upload([{ name: `${LONG_WORD}.png`, mimeType: 'image/png', buffer: Buffer.from([1]) }]);
    const widths = await page.evaluate(() => {
      const root = (
        globalThis as unknown as {
          document: { documentElement: { scrollWidth: number; clientWidth: number } };
        }
      ).document.documentElement;
      return { scroll: root.scrollWidth, client: root.clientWidth };
    });

    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
  });

  it('shows an HTML upload error as text', async () => {
    await upload([{ name: 'rejected.png', mimeType: 'image/png', buffer: Buffer.from([1]) }]);

    expect(await page.locator('#upload-log .upload-failed').first().textContent()).toBe(
      `rejected.png: upload failed. HTTP 400: ${XSS_FAILURE}`,
    );
  });

  it('runs no script from upload text', async () => {
    expect(await pwned(page)).toBeUndefined();
  });
});

describe('web page with an API at the server root', () => {
  it('sends a thumbnail path with no leading slash nowhere', async () => {
    // With no stage in the API URL, `${base}${path}` would turn `@host/x` into the authority `127.0.0.1:PORT@host`.
    const page = await browser.newPage();
    const seen: string[] = [];
    const cspErrors: string[] = [];
    page.on('request', (request) => seen.push(request.url()));
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) cspErrors.push(message.text());
    });
    const origin = new URL(api.url).origin;
    await page.route('**/config.json', (route) =>
      route.fulfill({ json: { apiUrl: origin, apiKey: API_KEY } }),
    );
    await page.route(`${origin}/images?*`, (route) =>
      route.fulfill({
        headers: { 'access-control-allow-origin': new URL(web.url).origin },
        json: {
          items: [
            item('at-sign', {
              thumbnail: { path: '@attacker.example/x.png', width: 1, height: 1, contentType: 'image/png' },
            }),
          ],
        },
      }),
    );
    await page.goto(web.url);
    await page.locator(`${cardSelector('at-sign')} .no-thumbnail`).waitFor();
    await page.close();

    expect(seen.filter((url) => url.includes('attacker.example'))).toEqual([]);
    expect(cspErrors).toEqual([]);
  });
});

describe('web page network use', () => {
  it('requests only 127.0.0.1', () => {
    const foreign = foreignRequests(requestedUrls);

    expect(requestedUrls.length).toBeGreaterThan(0);
    expect(foreign).toEqual([]);
  });

  it('violates no Content-Security-Policy', () => {
    expect(consoleMessages.filter((text) => text.includes('Content Security Policy'))).toEqual([]);
  });
});
