/**
 * The "Report not shown" page (a report over MAX_HTML_REPORT_BYTES gets status 502 and this page in the evaluate
 * panel's frame), served by the real UI server and looked at in Chromium inside the app's report frame: in light
 * and in dark, it has the page's own background (no white box in a dark page) and its text reads on it.
 *
 * No stack needed (the memory store enforces read bounds as MinIO's does). Run with:
 *   bash scripts/test.sh integration --quick test/browser/oversized-report-page.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import type { Browser } from 'playwright-core';
import { runPrefix } from '../../src/core/storage/layout';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import { MAX_HTML_REPORT_BYTES } from '../../src/storage/object-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startRunStatesUi } from './browser-ui';
import { manualRun, succeededStage } from './run-fixtures';
import { SCREENSHOTS } from '../e2e/helpers/ui-browser';
import { chartPage } from './web-page';
import { backgroundAndText, contrast } from './page-colours';

const BUCKET = 'fineflow';
const REPORT = `${runPrefix(BUCKET, 'huge-run', 'evaluate')}report/report.html`;
const state = manualRun({
  runId: 'huge-run',
  pipeline: 'quickstart',
  startedAt: '2026-12-06T04:00:00.000Z',
  stages: [succeededStage('evaluate', 'evaluate', 'cpu', { report: REPORT })],
});

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  await store.putBytes(REPORT, Buffer.alloc(MAX_HTML_REPORT_BYTES + 1, 0x20));
  ({ ui, browser } = await startRunStatesUi([state], store, BUCKET));
});
after(() => closeBrowserUi({ ui, browser }));

for (const colorScheme of ['light', 'dark'] as const) {
  test(`the "Report not shown" page reads in the report frame, in the page's own colours (${colorScheme})`, async () => {
    // The app's stylesheet and the evaluate panel's frame, as stage-panel.ts draws it.
    const page = await chartPage(browser, '', {
      body:
        '<section><h3>Report</h3><iframe class="report" title="Report of evaluate" sandbox ' +
        `src="${ui.url}/api/runs/huge-run/stages/evaluate/report"></iframe></section>`,
      colorScheme,
      viewport: { width: 900, height: 700 },
    });
    try {
      const frame = page.frameLocator('iframe.report');
      await frame.getByRole('heading', { name: 'Report not shown' }).waitFor();
      const shot = await page.locator('iframe.report').screenshot();
      mkdirSync(SCREENSHOTS, { recursive: true });
      writeFileSync(path.join(SCREENSHOTS, `report-not-shown-${colorScheme}.png`), shot);
      const inFrame = backgroundAndText(PNG.sync.read(shot));
      const pageBackground = backgroundAndText(
        PNG.sync.read(await page.screenshot({ clip: { x: 0, y: 0, width: 900, height: 8 } })),
      ).background;
      assert.deepEqual(inFrame.background, pageBackground, 'the frame has the page’s background');
      const ratio = contrast(inFrame.text, inFrame.background);
      assert.ok(ratio >= 7, `text contrast ${ratio.toFixed(1)}:1 (WCAG AAA: 7:1)`);
    } finally {
      await page.context().close();
    }
  });
}
