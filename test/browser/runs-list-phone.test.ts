/**
 * The runs list on a 390 px phone, served by the real UI server (the run client answers `list` only) and drawn by the
 * real app in Chromium: a run id is not broken at every hyphen (five short lines read as five names), only where its
 * line is full; its status shows without scrolling; nothing scrolls the page sideways. Light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/runs-list-phone.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { RunClient, RunSummary } from '../../src/client/run-client';
import { newRunId } from '../../src/client/run-client';
import { runIdForRestart } from '../../src/core/schedules/data-watch-state';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const at = new Date('2026-12-06T08:01:21Z');
const RUNS: RunSummary[] = [
  // Ids as Fineflow makes them: submitted runs', and the longest kind, a data watcher's restart.
  { runId: newRunId('quickstart', at, () => 'yn0l'), pipeline: 'quickstart', status: 'succeeded' as const },
  { runId: newRunId('pretrain-surface', at, () => 'nmvo'), pipeline: 'pretrain-surface', status: 'running' as const },
  {
    runId: runIdForRestart('defect-detector-line-b-watch', 'f3a9c2d4e5b6a7980112', 'manual', at.getTime()),
    pipeline: 'defect-detector',
    status: 'failed' as const,
  },
].map((run) => ({
  ...run,
  trigger: 'manual',
  startedAt: at.toISOString(),
  ...(run.status === 'running' ? {} : { endedAt: new Date(at.getTime() + 95_000).toISOString() }),
}));

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const runs: Pick<RunClient, 'list'> = { list: async () => RUNS };
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  ({ ui, browser } = await startBrowserUi({ runs, store, bucket: 'fineflow' }));
});
after(() => closeBrowserUi({ ui, browser }));

interface IdLayout {
  readonly id: string;
  readonly lines: number;
  /** Lines the id needs in its cell: its width on one line over the cell's width, rounded up. */
  readonly needed: number;
  readonly statusRight: number;
}

/** Runs in the page: how the id's text is laid out (line boxes of its text), in the browser. */
const MEASURE = `(() => [...document.querySelectorAll('tr[data-run-id]')].map((row) => {
  const link = row.querySelector('a');
  const range = document.createRange();
  range.selectNodeContents(link);
  const tops = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
  const cell = link.closest('td');
  const probe = document.createElement('span');
  probe.style.whiteSpace = 'nowrap';
  probe.style.font = getComputedStyle(link).font;
  probe.textContent = link.textContent;
  document.body.appendChild(probe);
  const natural = probe.getBoundingClientRect().width;
  probe.remove();
  const style = getComputedStyle(cell);
  const inner = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return {
    id: link.textContent,
    lines: tops.size,
    needed: Math.ceil(natural / inner - 0.001),
    statusRight: row.querySelector('.badge').getBoundingClientRect().right,
  };
}))()`;

for (const colorScheme of ['light', 'dark'] as const) {
  test(`run ids on a 390 px phone break only where a line is full, not at each hyphen (${colorScheme})`, async () => {
    const { page, errors } = await openPage(browser, colorScheme, { width: 390, height: 844 });
    try {
      await page.goto(`${ui.url}/#/runs`);
      await page
        .locator('tr[data-run-id]')
        .nth(RUNS.length - 1)
        .waitFor();
      await screenshot(page, `runs-list-390-${colorScheme}`);
      const layout = (await page.evaluate(MEASURE)) as IdLayout[];
      assert.deepEqual(
        layout.map((row) => row.id),
        RUNS.map((run) => run.runId),
      );
      for (const row of layout) {
        assert.equal(row.lines, row.needed, `${row.id}: ${row.lines} lines where ${row.needed} hold it`);
        assert.ok(row.statusRight <= 390, `${row.id}: its status ends at ${row.statusRight} px, off the screen`);
      }
      assert.equal(layout[0]?.lines, 1, 'a submitted run’s id fits one line');
      await assertNoSideScroll(page);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
}

/** What a run's Started value says at this width: the card's label (a phone hides the headings) or the column's. */
const STARTED_SAYS = `(() => {
  const cell = document.querySelector('tr[data-run-id] td[data-label^="started"]');
  const label = getComputedStyle(cell, '::before').content;
  const heading = [...document.querySelectorAll('table.runs thead th')].find((th) => th.offsetParent !== null && /Started/.test(th.textContent));
  return { label: label === 'none' ? '' : label, heading: heading ? heading.textContent : '', value: cell.textContent };
})()`;

for (const width of [390, 1280])
  test(`the runs list says its start times are UTC (${width})`, async () => {
    const { page, errors } = await openPage(browser, 'light', { width, height: 844 });
    try {
      await page.goto(`${ui.url}/#/runs`);
      await page.locator('tr[data-run-id]').first().waitFor();
      const says = (await page.evaluate(STARTED_SAYS)) as { label: string; heading: string; value: string };
      assert.equal(says.value, '2026-12-06 08:01:21');
      // At 390 px each run is a card: its label is all there is; at 1280 px the column's heading says it.
      if (width === 390) assert.equal(says.label, '"started (UTC) "');
      else assert.equal(says.heading, 'Started (UTC)');
      await screenshot(page, `runs-started-utc-${width}`);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
