/**
 * Durations in the runs list read as `fineflow status` writes them: hours and days for long runs, and never a
 * unit at 60 ("1 m 60 s" for 119.6 s, "120 m 0 s" for a 2-hour sweep, "1065 m 38 s" for a 17-hour run before).
 * Real UI server (the run client answers `list` only) and the real app in Chromium.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/run-durations.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { RunClient, RunSummary } from '../../src/client/run-client';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage } from '../e2e/helpers/ui-browser';

const at = Date.parse('2026-12-06T08:01:21Z');
const TOOK: readonly (readonly [number, string])[] = [
  [119_600, '2m'],
  [125_400, '2m 5s'],
  [7_200_000, '2h'],
  [63_938_000, '17h 45m'],
  [2 * 86_400_000 + 3 * 3_600_000 + 120_000, '2d 3h'],
  [3_500, '3.5\u00a0s'],
  [59_960, '1m'],
  [420, '420\u00a0ms'],
];
const RUNS: RunSummary[] = TOOK.map(([ms], index) => ({
  runId: `durations-${index}`,
  pipeline: 'durations',
  status: 'succeeded' as const,
  trigger: 'manual',
  startedAt: new Date(at).toISOString(),
  endedAt: new Date(at + ms).toISOString(),
}));

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const runs: Pick<RunClient, 'list'> = { list: async () => RUNS };
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  ({ ui, browser } = await startBrowserUi({ runs, store, bucket: 'fineflow' }));
});
after(() => closeBrowserUi({ ui, browser }));

test('the runs list gives long runs hours and days, and never reads 60 s or 60 m', async () => {
  const { page, errors } = await openPage(browser, 'light', { width: 1280, height: 900 });
  try {
    await page.goto(`${ui.url}/#/runs`);
    await page
      .locator('tr[data-run-id]')
      .nth(RUNS.length - 1)
      .waitFor();
    const took = await page.locator('tr[data-run-id] td[data-label="took"]').allTextContents();
    assert.deepEqual(
      took,
      TOOK.map(([, text]) => text),
    );
    assert.deepEqual(errors, []);
  } finally {
    await page.context().close();
  }
});
