/**
 * The schedules page's rows (a schedule's, a data watcher's) with their Actions cell, as schedules.ts draws them,
 * under the app's styles: every cell of a row spans the row, so the row's bottom line is one line. The cell took the
 * `.actions` toolbar's `display: flex` and stopped being a table cell: its line sat 8 px above the rest of the row's,
 * and in a tall row (a phone's wrapped dates) the buttons' cell ended halfway down. Light and dark, 1280 and 390 px.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/schedules-actions-cell.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot } from '../e2e/helpers/ui-browser';
import { chartPage, usePageModule } from './web-page';

const web = usePageModule('./util', ['h']);

const ROW =
  '<table class="grid" aria-label="Schedules"><thead><tr><th>Pipeline</th><th>State</th><th>Next runs (UTC)</th>' +
  '<th>Actions</th></tr></thead><tbody><tr><td><a href="#">defect-retrain</a></td><td>active</td>' +
  '<td>2026-12-07 02:01:36, 2026-12-08 02:01:12, 2026-12-09 02:04:34</td>' +
  '<td class="actions"><button type="button">Pause</button><button type="button">Trigger now</button></td></tr>' +
  '</tbody></table>';

for (const width of [1280, 390])
  for (const colorScheme of ['light', 'dark'] as const)
    test(`a schedule's row at ${width} px (${colorScheme}): the Actions cell spans the row like the others`, async () => {
      const page = await chartPage(web.browser, web.script, {
        body: ROW,
        colorScheme,
        viewport: { width, height: 600 },
      });
      try {
        const cells = (await page.evaluate(`[...document.querySelectorAll('tbody td')].map((td) => {
          const r = td.getBoundingClientRect();
          return { text: td.textContent, top: Math.round(r.top), bottom: Math.round(r.bottom), display: getComputedStyle(td).display };
        })`)) as { text: string; top: number; bottom: number; display: string }[];
        assert.equal(cells.length, 4);
        const [first] = cells;
        assert.ok(first);
        const off = cells.filter(
          (cell) => cell.top !== first.top || cell.bottom !== first.bottom || cell.display !== 'table-cell',
        );
        assert.deepEqual(off, [], `the row is ${first.top}–${first.bottom}`);
        await screenshot(page, `schedules-actions-cell-${width}-${colorScheme}`);
      } finally {
        await page.context().close();
      }
    });
