import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { ensurePackaged } from '../../local/packaging';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { launchChromium } from '../../local/web/chromium';
import { foreignRequests } from '../support/page-requests';
import { fixture } from '../support/shared-images';

const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const SAMPLE_JPEG = path.join(PROJECT_DIR, 'samples', 'dog_bicycle_truck.jpg');
// Stored 1200x1800 with EXIF orientation 6, so it displays 1800x1200 (test/fixtures/SOURCES.md).
const ROTATED_JPEG = fixture('orientation/Landscape_6.jpg');
const PAGING_IMAGE = fixture('formats/png_palette_pngsuite.png');
const PAGING_KEYS = [
  'paging/one.png',
  'paging/two.png',
  'paging/three.png',
  'paging/four.png',
  'paging/five.png',
];
const PROCESSING_LIMIT_MS = 90_000;

let workDir: string;
let stack: LocalStack;
let browser: Browser;
let api: { url: string; apiKey: string };
let webUrl: string;
/** Every URL any page of this file requested, and every console message, checked by the last tests. */
const requestedUrls: string[] = [];
const consoleMessages: string[] = [];

function apiRequest(route: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('x-api-key', api.apiKey);
  return fetch(`${api.url}${route}`, { ...init, headers });
}

async function waitUntilProcessed(key: string): Promise<void> {
  const deadline = Date.now() + PROCESSING_LIMIT_MS;
  while (Date.now() < deadline) {
    const response = await apiRequest(`/images/${encodeURIComponent(key)}`);
    const body = (await response.json()) as { status?: string };
    if (response.status === 200 && body.status !== 'pending') return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${key} was still pending after ${PROCESSING_LIMIT_MS} ms`);
}

async function newRecordedPage(): Promise<Page> {
  const page = await browser.newPage();
  page.on('request', (request) => requestedUrls.push(request.url()));
  page.on('console', (message) => consoleMessages.push(message.text()));
  return page;
}

async function openPage(query = ''): Promise<Page> {
  const page = await newRecordedPage();
  await page.goto(`${webUrl}${query}`);
  return page;
}

/** The part of the browser's DOM that the waits use (the project compiles without the DOM library). */
interface BrowserDocument {
  querySelector(selector: string): { complete: boolean; naturalWidth: number } | null;
}

function cardSelector(key: string): string {
  return `#gallery > li[data-key=${JSON.stringify(key)}]`;
}

/** Waits until the card of `key` is done and its thumbnail has loaded. */
async function waitForLoadedThumbnail(page: Page, key: string): Promise<void> {
  const image = `${cardSelector(key)}[data-status="done"] img`;
  // A function, not a string: the page's Content-Security-Policy forbids evaluating strings.
  await page.waitForFunction(
    (selector) => {
      const browserDocument = (globalThis as unknown as { document: BrowserDocument }).document;
      const found = browserDocument.querySelector(selector);
      return found?.complete === true && found.naturalWidth > 0;
    },
    image,
    { timeout: PROCESSING_LIMIT_MS },
  );
}

async function naturalSize(page: Page, key: string): Promise<[number, number]> {
  return page
    .locator(`${cardSelector(key)} img`)
    .evaluate((image) => [
      (image as unknown as { naturalWidth: number }).naturalWidth,
      (image as unknown as { naturalHeight: number }).naturalHeight,
    ]);
}

/** Reads the thumbnail box from the template: THUMBNAIL_MAX_WIDTH and THUMBNAIL_MAX_HEIGHT of create-thumbnail. */
function thumbnailBox(): [number, number] {
  const environment = stack.model.functions.find((fn) => fn.key === 'createThumbnail')?.environment ?? {};
  return [Number(environment.THUMBNAIL_MAX_WIDTH ?? 256), Number(environment.THUMBNAIL_MAX_HEIGHT ?? 256)];
}

/** Computes the displayed size (EXIF orientations 5 to 8 swap the sides) fitted into the box, never enlarged. */
async function expectedThumbnailSize(file: string): Promise<[number, number]> {
  const { width, height, orientation } = await sharp(file).metadata();
  const [displayWidth, displayHeight] = (orientation ?? 1) >= 5 ? [height, width] : [width, height];
  const [maxWidth, maxHeight] = thumbnailBox();
  const scale = Math.min(1, maxWidth / displayWidth, maxHeight / displayHeight);
  return [Math.round(displayWidth * scale), Math.round(displayHeight * scale)];
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'web-page-e2e-'));
  // Fails (not skips) without Chromium, naming the apt package.
  browser = await launchChromium();
  await ensurePackaged(PROJECT_DIR, 'local', () => {});
  stack = await startLocalStack({
    projectDir: PROJECT_DIR,
    dataDir: path.join(workDir, 'data'),
    ports: { s3: 0, dynamodb: 0, rekognition: 0, api: 0, web: 0 },
    retryDelaysMs: [50, 50],
    log: () => {},
  });
  if (stack.description.api === null || stack.description.web === null)
    throw new Error('the local stack serves no API, so it serves no web page');
  api = stack.description.api;
  webUrl = stack.description.web.url;
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('web page upload', () => {
  const sampleKey = path.basename(SAMPLE_JPEG);
  const rotatedKey = path.basename(ROTATED_JPEG);
  let page: Page;

  beforeAll(async () => {
    page = await openPage();
    await page.locator('#file-input').setInputFiles([SAMPLE_JPEG, ROTATED_JPEG]);
    await waitForLoadedThumbnail(page, sampleKey);
    await waitForLoadedThumbnail(page, rotatedKey);
  }, 2 * PROCESSING_LIMIT_MS);

  afterAll(async () => {
    await page?.close();
  });

  it('shows the sample as done', async () => {
    expect(await page.locator(`${cardSelector(sampleKey)} .status`).textContent()).toBe('done');
  });

  it('shows the sample thumbnail at its computed size', async () => {
    expect(await naturalSize(page, sampleKey)).toEqual(await expectedThumbnailSize(SAMPLE_JPEG));
  });

  it('shows the rotated photo upright', async () => {
    expect(await naturalSize(page, rotatedKey)).toEqual(await expectedThumbnailSize(ROTATED_JPEG));
  });

  it('gives the thumbnail alt text', async () => {
    expect(await page.locator(`${cardSelector(sampleKey)} img`).getAttribute('alt')).toBe(
      `Thumbnail of ${sampleKey}`,
    );
  });

  it('shows the labels the API recorded', async () => {
    const record = (await (await apiRequest(`/images/${encodeURIComponent(sampleKey)}`)).json()) as {
      labels: { name: string }[];
    };
    const shownLabels = await page.locator(`${cardSelector(sampleKey)} .label-name`).allTextContents();

    expect(shownLabels).toEqual(record.labels.map((label) => label.name));
  });

  it('labels the dog in the sample', async () => {
    // samples/SOURCES.md: the photo shows a dog, a bicycle and a truck.
    const shownLabels = await page.locator(`${cardSelector(sampleKey)} .label-name`).allTextContents();

    expect(shownLabels).toContain('Dog');
  });

  it('reports each upload in the log', async () => {
    const lines = await page.locator('#upload-log .upload-done').allTextContents();

    expect(lines).toEqual(
      expect.arrayContaining([
        `${sampleKey}: uploaded as ${sampleKey}`,
        `${rotatedKey}: uploaded as ${rotatedKey}`,
      ]),
    );
  });
});

describe('web page paging', () => {
  let page: Page;
  let allKeys: string[];

  beforeAll(async () => {
    const image = readFileSync(PAGING_IMAGE);
    for (const key of PAGING_KEYS) {
      const response = await apiRequest(`/images/${encodeURIComponent(key)}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'image/png' },
        body: image,
      });
      if (response.status !== 201) throw new Error(`seeding ${key} answered ${response.status}`);
    }
    // Records written during the scan could fall before its cursor, so the page opens once all exist.
    for (const key of PAGING_KEYS) await waitUntilProcessed(key);
    const listing = (await (await apiRequest('/images?limit=100')).json()) as { items: { id: string }[] };
    allKeys = listing.items.map((item) => item.id).sort();
    page = await openPage('?pageSize=2');
    await page.locator('#gallery[aria-busy="false"]').waitFor();
  }, 2 * PROCESSING_LIMIT_MS);

  afterAll(async () => {
    await page?.close();
  });

  it('shows one page of two first', async () => {
    expect(await page.locator('#gallery > li').count()).toBe(2);
  });

  it('shows every image after loading more', async () => {
    const more = page.locator('#more');
    while (await more.isVisible()) {
      await more.click();
      await page.locator('#gallery[aria-busy="false"]').waitFor();
    }
    const shownKeys = await page
      .locator('#gallery > li')
      .evaluateAll((cards) =>
        cards.map((card) => (card as unknown as { dataset: { key: string } }).dataset.key),
      );

    expect(shownKeys.sort()).toEqual(allKeys);
  });

  it('includes the seeded keys', () => {
    expect(allKeys).toEqual(expect.arrayContaining(PAGING_KEYS));
  });
});

describe('web page errors', () => {
  it('shows the API message for a wrong key', async () => {
    const page = await newRecordedPage();
    await page.route('**/config.json', (route) =>
      route.fulfill({ json: { apiUrl: api.url, apiKey: 'not-the-key' } }),
    );
    await page.goto(webUrl);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = await alert.textContent();
    await page.close();

    // The INVALID_API_KEY gateway response of resources/api.yml.
    expect(text).toContain('HTTP 403: Missing or invalid API key. Send the key in the x-api-key header.');
  });

  it('shows the API message for a body above 10 MB', async () => {
    const page = await openPage();
    await page.locator('#file-input').setInputFiles({
      name: 'too-large.jpg',
      mimeType: 'image/jpeg',
      buffer: Buffer.alloc(10 * 1024 * 1024 + 1),
    });
    const failure = page.locator('#upload-log .upload-failed');
    await failure.waitFor();
    const text = await failure.textContent();
    await page.close();

    // The REQUEST_TOO_LARGE gateway response of resources/api.yml.
    expect(text).toContain("HTTP 413: The body exceeds API Gateway's 10 MB payload limit.");
  });
});

describe('web page network use', () => {
  it('requests only 127.0.0.1', () => {
    const foreign = foreignRequests(requestedUrls);

    expect(requestedUrls.length).toBeGreaterThan(0);
    expect(foreign).toEqual([]);
  });

  it('violates no Content-Security-Policy', () => {
    // The policy blocks other hosts before any request leaves, so an attempt shows only as a console error.
    expect(consoleMessages.filter((text) => text.includes('Content Security Policy'))).toEqual([]);
  });
});
