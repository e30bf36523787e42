/**
 * The epoch charts' legend (uPlot's), drawn by the web app's own code and styles in Chromium: away from the plot it
 * is a key of the series, not a row of "--" ("epoch: -- train: -- validation: --" read as missing data); over the
 * plot it shows the values at the cursor, as before.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/line-chart-legend.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../scripts/chromium';
import { bundleCharts, chartPage } from './web-page';

let browser: Browser;
let script: string;

before(async () => {
  script = await bundleCharts(['lineChart']);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test('the legend is a key of the series away from the plot and shows the values at the cursor over it', async () => {
  const page = await chartPage(browser, script, {
    body: '<div class="charts"><div class="chart" id="box"></div></div>',
    colorScheme: 'light',
    viewport: { width: 800, height: 500 },
  });
  try {
    await page.evaluate(() => {
      const w = globalThis as unknown as {
        lineChart(...args: unknown[]): unknown;
        document: { getElementById(id: string): unknown };
      };
      w.lineChart(
        w.document.getElementById('box'),
        'Loss',
        'epoch',
        [1, 2, 3, 4, 5],
        [
          { label: 'train', values: [1.2, 0.9, 0.7, 0.6, 0.55], dashed: true },
          { label: 'validation', values: [1.3, 1.0, 0.85, 0.8, 0.82] },
        ],
      );
    });
    // What the legend shows, entry by entry (hidden parts left out).
    const text = async (): Promise<string> =>
      (await page.locator('.u-legend .u-series:visible').allInnerTexts())
        .map((entry) => entry.replace(/\s+/g, ' ').trim())
        .join(' | ');
    assert.equal(await text(), 'train | validation', 'away from the plot: the series, no "--"');
    const plot = await page.locator('.u-over').boundingBox();
    assert.ok(plot);
    await page.mouse.move(plot.x + plot.width / 2, plot.y + plot.height / 2);
    const xEntry = page.locator('.u-legend .u-series', { hasText: 'epoch' });
    await xEntry.waitFor({ state: 'visible' });
    assert.match(
      await text(),
      /^epoch:? ?3 \| train:? ?0\.7 \| validation:? ?0\.85$/,
      'over the plot: the values at the cursor',
    );
    await page.mouse.move(plot.x + plot.width / 2, plot.y + plot.height + 120);
    await xEntry.waitFor({ state: 'hidden' });
    assert.equal(await text(), 'train | validation', 'after the cursor leaves: the key again');
  } finally {
    await page.context().close();
  }
});
