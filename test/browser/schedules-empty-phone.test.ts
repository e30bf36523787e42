/**
 * The schedules page with no schedules and no data watchers on a 390 px phone, served by the real UI server and drawn
 * by the real app in Chromium: each table's empty-state note (what to run to get one) is read whole on screen. It was
 * cut at the box's edge: the empty table kept its columns' headings, wider than the screen, and the note spanned them.
 * Light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/schedules-empty-phone.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { ScheduleService } from '../../src/schedules/schedule-client';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const schedules = {
    list: async () => [],
    watchers: { listWithState: async () => [] },
  } as unknown as Partial<ScheduleService>;
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  ({ ui, browser } = await startBrowserUi({ runs: {}, store, bucket: 'fineflow', schedules }));
});
after(() => closeBrowserUi({ ui, browser }));

/** Each empty-state note: its text's line boxes that are not wholly inside the screen and its scroll box. */
const CUT_LINES = `(() => [...document.querySelectorAll('td.empty')].map((cell) => {
  const box = cell.closest('table').getBoundingClientRect();
  const left = Math.max(0, box.left);
  const right = Math.min(window.innerWidth, box.right);
  const range = document.createRange();
  range.selectNodeContents(cell);
  const rects = [...range.getClientRects()].filter((r) => r.width > 0);
  return {
    text: cell.textContent,
    lines: rects.length,
    cut: rects.filter((r) => r.left < left - 0.5 || r.right > right + 0.5).length,
  };
}))()`;

for (const colorScheme of ['light', 'dark'] as const) {
  test(`schedules' empty-state notes are read whole on a 390 px phone (${colorScheme})`, async () => {
    const { page, errors } = await openPage(browser, colorScheme, { width: 390, height: 844 });
    try {
      await page.goto(`${ui.url}/#/schedules`);
      await page.locator('td.empty').nth(1).waitFor();
      await screenshot(page, `schedules-empty-390-${colorScheme}`);
      const notes = (await page.evaluate(CUT_LINES)) as { text: string; lines: number; cut: number }[];
      assert.equal(notes.length, 2, JSON.stringify(notes));
      for (const note of notes) {
        assert.ok(note.lines > 0, `"${note.text}" is not laid out`);
        assert.equal(note.cut, 0, `"${note.text}": ${note.cut} of its ${note.lines} lines are cut at the edge`);
      }
      await assertNoSideScroll(page);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
}
