/**
 * The screenshots of the README and docs (scripts/ui-screenshots.ts) and of the UI tests show a stage report's frame
 * drawn, not blank: Chromium paints a sandboxed (cross-origin) frame only inside the viewport, so Playwright's
 * `fullPage` capture left a report below the fold white. `screenshotWholePage` grows the viewport to the page and
 * awaits the frames' load. A real HTTP page with a report-like frame (the UI's `sandbox` attribute and CSP header), far
 * below the fold, slow to arrive.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/whole-page-screenshot.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import type { Browser } from 'playwright-core';
import { launchChromium, screenshotWholePage } from '../../scripts/chromium';

const FRAME_TOP = 1800;
const FRAME = { width: 600, height: 300 };
const REPORT_RGB = [220, 20, 60] as const;

let server: Server;
let url: string;
let browser: Browser;
const dir = mkdtempSync(path.join(tmpdir(), 'whole-page-'));

before(async () => {
  server = createServer((request, response) => {
    if (request.url === '/report') {
      // As the UI serves a stage's report: its own HTML in a sandbox, arriving a moment after the page.
      setTimeout(() => {
        response.writeHead(200, {
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Security-Policy': "sandbox; default-src 'none'; style-src 'unsafe-inline'",
        });
        response.end(`<!doctype html><body style="margin:0;background:rgb(${REPORT_RGB.join(',')})"><h1>Report</h1>`);
      }, 1500);
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(
      `<!doctype html><body style="margin:0;background:#fff"><div style="height:${FRAME_TOP}px">top</div>` +
        `<iframe sandbox="" src="/report" style="display:block;border:0;width:${FRAME.width}px;height:${FRAME.height}px"></iframe>` +
        '<div style="height:400px">bottom</div>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

test('a whole-page screenshot draws a sandboxed report frame below the fold', async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  try {
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    const file = path.join(dir, 'page.png');
    await screenshotWholePage(page, file);
    const png = PNG.sync.read(readFileSync(file));
    assert.equal(png.height, FRAME_TOP + FRAME.height + 400, 'the whole page');
    const pixel = (x: number, y: number): number[] => [
      ...png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3),
    ];
    assert.deepEqual(pixel(FRAME.width / 2, FRAME_TOP + FRAME.height - 20), [...REPORT_RGB], 'the frame is drawn');
    assert.deepEqual(page.viewportSize(), { width: 1000, height: 700 }, 'the viewport is restored');
  } finally {
    await context.close();
  }
});
