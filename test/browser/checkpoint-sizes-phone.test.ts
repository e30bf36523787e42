/**
 * The stage panel's checkpoints table on a 390 px phone (the real checkpointsSection, bundled as the UI server bundles
 * it, under the app's styles): a size keeps its number and its unit on one line ("46.1 KiB" broke over two lines,
 * which read as two values), and each checkpoint is a card (the shared table.grid.cards layout), every value on screen
 * with its label and its marks on one line ("latest, retry resumes here" wrapped over 3 lines, and keepLast was off to
 * the right in the table's scroll box). Light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/checkpoint-sizes-phone.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { StageCheckpoints } from '../../src/ui/web/store-info-types';
import { screenshot } from '../e2e/helpers/ui-browser';
import { chartPage, usePageModule } from './web-page';
import { assertCards, assertNoSideScroll } from './page-layout';

const SIZES = [512, 47_206, 47_206, 1_258_291, 47_206];
const BODY: StageCheckpoints = {
  applies: true,
  prefix: 's3://fineflow/runs/quickstart-20261206-080121-yn0l/finetune/checkpoints/',
  checkpoints: SIZES.map((bytes, index) => ({
    epoch: index + 1,
    directory: `runs/quickstart-20261206-080121-yn0l/finetune/checkpoints/epoch-${index + 1}/`,
    objects: 3,
    bytes,
    verified: index !== 1,
    latest: index === SIZES.length - 1,
    best: index === 3,
    resume: index === SIZES.length - 1,
    keptByPolicy: index >= 2,
  })),
  truncated: false,
  latestEpoch: SIZES.length,
  bestEpoch: 4,
  resumeEpoch: SIZES.length,
  policy: { everyEpochs: 1, keepLast: 2 },
  attempts: [{ attempt: 1 }, { attempt: 2, resumedFromEpoch: 3 }],
};

const web = usePageModule('./pages/stage-store-sections', ['checkpointsSection']);

/** A page at `width` holding the real checkpoints section drawn from BODY. */
async function checkpointsPage(colorScheme: 'light' | 'dark', width: number): Promise<Page> {
  const page = await chartPage(web.browser, web.script, {
    body: '<div class="stage-panel"><h3>Checkpoints</h3><div id="section"></div></div>',
    colorScheme,
    viewport: { width, height: 844 },
  });
  await page.evaluate((body) => {
    const w = globalThis as unknown as {
      checkpointsSection: (b: unknown) => unknown[];
      document: { getElementById(id: string): { append(...nodes: unknown[]): void } };
    };
    w.document.getElementById('section').append(...w.checkpointsSection(body).filter((n) => n !== undefined));
  }, BODY);
  return page;
}

for (const colorScheme of ['light', 'dark'] as const) {
  test(`checkpoints on a 390 px phone: a card per checkpoint, every value on screen and labelled (${colorScheme})`, async () => {
    const page = await checkpointsPage(colorScheme, 390);
    try {
      await assertCards(page, 'table.checkpoints tbody tr', SIZES.length);
      // The marks read on one line: "latest, retry resumes here" wrapped over 3.
      const marks = (await page.evaluate(`[...document.querySelectorAll('table.checkpoints tbody td')]
        .filter((cell) => /resumes here/.test(cell.textContent)).map((cell) => {
          const range = document.createRange();
          range.selectNodeContents(cell);
          return { text: cell.textContent, lines: new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size };
        })`)) as { text: string; lines: number }[];
      assert.equal(marks.length, 1);
      for (const mark of marks) assert.equal(mark.lines, 1, `"${mark.text}" takes ${mark.lines} lines`);
      await screenshot(page, `checkpoints-cards-390-${colorScheme}`);
    } finally {
      await page.context().close();
    }
    // At 1280 px the table stays a table.
    const wide = await checkpointsPage(colorScheme, 1280);
    try {
      assert.equal(
        await wide.evaluate(`getComputedStyle(document.querySelector('table.checkpoints')).display`),
        'table',
      );
      await screenshot(wide, `checkpoints-1280-${colorScheme}`);
    } finally {
      await wide.context().close();
    }
  });

  test(`checkpoints on a 390 px phone: each size on one line (${colorScheme})`, async () => {
    const page = await checkpointsPage(colorScheme, 390);
    try {
      await screenshot(page, `checkpoints-390-${colorScheme}`);
      const sizes = (await page.evaluate(`[...document.querySelectorAll('table.checkpoints tbody tr')].map((row) => {
        const cell = row.cells[1];
        const range = document.createRange();
        range.selectNodeContents(cell);
        return { text: cell.textContent, lines: new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size };
      })`)) as { text: string; lines: number }[];
      assert.equal(sizes.length, SIZES.length);
      assert.match(sizes[1]?.text ?? '', /^46\.1\sKiB$/);
      for (const size of sizes) assert.equal(size.lines, 1, `"${size.text}" is broken over ${size.lines} lines`);
      await assertNoSideScroll(page);
    } finally {
      await page.context().close();
    }
  });
}
