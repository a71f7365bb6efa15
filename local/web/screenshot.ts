import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { ensurePackaged } from '../packaging';
import { startLocalStack } from '../stack';
import { launchChromium } from './chromium';

const USAGE = `Usage: node --import tsx local/web/screenshot.ts [--out FILE]

Starts a local stack on free ports with an empty data folder, uploads the photos in samples/ and one corrupt JPEG
through the web page, waits until every image is processed, and saves a 1280x800 screenshot of the page.

  --out FILE   where to write the PNG (default docs/images/web-page.png)
  -h, --help   show this help`;

const PROJECT_DIR = path.resolve(__dirname, '..', '..');
const SAMPLES_DIR = path.join(PROJECT_DIR, 'samples');
// A failed image shows how the page reports a failure.
const CORRUPT_IMAGE = path.join(PROJECT_DIR, 'test', 'fixtures', 'broken', 'corrupt_header.jpg');
const VIEWPORT = { width: 1280, height: 800 };
const PROCESSING_LIMIT_MS = 120_000;

/** The part of the browser's DOM the wait uses (this project compiles without the DOM library). */
interface BrowserDocument {
  querySelectorAll(selector: string): ArrayLike<{ complete: boolean; naturalWidth: number }>;
  querySelector(selector: string): unknown;
}

/** Waits until `count` cards are shown, none is pending and every thumbnail has loaded. */
async function waitForSettledGallery(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    (expected) => {
      const browserDocument = (globalThis as unknown as { document: BrowserDocument }).document;
      const cards = browserDocument.querySelectorAll('#gallery > li');
      const images = Array.from(browserDocument.querySelectorAll('#gallery img'));
      return (
        cards.length === expected &&
        browserDocument.querySelector('#gallery > li[data-status="pending"]') === null &&
        images.every((image) => image.complete && image.naturalWidth > 0)
      );
    },
    count,
    { timeout: PROCESSING_LIMIT_MS },
  );
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const outFile = path.resolve(values.out ?? path.join(PROJECT_DIR, 'docs', 'images', 'web-page.png'));
  const photos = readdirSync(SAMPLES_DIR)
    .filter((name) => /\.(jpe?g|png)$/i.test(name))
    .sort()
    .map((name) => path.join(SAMPLES_DIR, name));
  const uploads = [...photos, CORRUPT_IMAGE];

  const workDir = mkdtempSync(path.join(tmpdir(), 'web-page-screenshot-'));
  await ensurePackaged(PROJECT_DIR, 'local', (line) => console.log(line));
  const stack = await startLocalStack({
    projectDir: PROJECT_DIR,
    dataDir: path.join(workDir, 'data'),
    ports: { s3: 0, dynamodb: 0, rekognition: 0, api: 0, web: 0 },
    writeStackFile: false,
    log: () => {},
  });
  const browser = await launchChromium().catch(async (error: unknown) => {
    await stack.close();
    throw error;
  });
  try {
    const webUrl = stack.description.web?.url;
    if (webUrl === undefined) throw new Error('the local stack serves no web page: its template has no API');
    const page = await browser.newPage({ viewport: VIEWPORT });
    await page.goto(webUrl);
    await page.locator('#file-input').setInputFiles(uploads);
    await waitForSettledGallery(page, uploads.length);

    // Reloading clears the upload log, so the screenshot shows the gallery as a later visit does.
    await page.reload();
    await waitForSettledGallery(page, uploads.length);
    mkdirSync(path.dirname(outFile), { recursive: true });
    await page.screenshot({ path: outFile });
    console.log(`wrote ${path.relative(process.cwd(), outFile)} (${uploads.length} images)`);
    return 0;
  } finally {
    await browser.close();
    await stack.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`screenshot failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
