/**
 * The run page's address names the stage it shows (`#/runs/RUN?stage=evaluate`, written when a stage is picked, and
 * shared as a link). A stage the run does not have (a typo, a link to another pipeline's run) drew an empty panel
 * headed only "Log", with nothing said: the page now says which stage the address names (bounded and escaped: the
 * address is anyone's) and shows the run's default stage. Served by the real UI server, the run's read answered in
 * the browser. Light and dark, 390 px.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/run-stage-address.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { manualRun, succeededStage } from './run-fixtures';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';

const RUN = 'quickstart-20261206-080121-yn0l';
const STATE = manualRun({
  runId: RUN,
  startedAt: '2026-12-06T08:01:21.000Z',
  endedAt: '2026-12-06T08:02:56.000Z',
  stages: [
    succeededStage('prepare', 'prepare-data', 'cpu', {}),
    succeededStage('evaluate', 'evaluate', 'cpu', { passed: true }),
  ],
});
const GRAPH = {
  nodes: [
    { id: 'prepare', uses: 'prepare-data', pool: 'cpu' },
    { id: 'evaluate', uses: 'evaluate', pool: 'cpu' },
  ],
  edges: [{ from: 'prepare', to: 'evaluate' }],
};

let browser: Browser;
let ui: RunningUi;

before(async () => {
  ({ ui, browser } = await startBrowserUi({
    runs: {},
    store: createMemoryObjectStore({ buckets: ['fineflow'] }),
    bucket: 'fineflow',
  }));
});
after(() => closeBrowserUi({ ui, browser }));

async function openRun(stage: string, colorScheme: 'light' | 'dark') {
  const { page } = await openPage(browser, colorScheme, { width: 390, height: 844 });
  await page.route(`**/api/runs/${RUN}`, (route) =>
    route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ state: STATE, graph: GRAPH, sweeps: [] }),
    }),
  );
  await page.goto(`${ui.url}/#/runs/${RUN}?stage=${encodeURIComponent(stage)}`);
  await page.locator('#run-status[data-status="succeeded"]').waitFor();
  return page;
}

for (const colorScheme of ['light', 'dark'] as const)
  test(`an address naming a stage the run lacks says so and shows the run's first stage (${colorScheme})`, async () => {
    const page = await openRun('evalute', colorScheme);
    try {
      const note = page.locator('.page [role="status"].address-stage');
      await note.waitFor();
      assert.equal(
        (await note.innerText()).replace(/\s+/g, ' '),
        `This address names stage "evalute", which run ${RUN} does not have: showing stage prepare. Its stages: prepare, evaluate.`,
      );
      await page.locator('.stage-panel[data-stage="prepare"] h2').waitFor();
      assert.match(page.url(), /\?stage=prepare$/, 'the address is corrected');
      await screenshot(page, `run-stage-address-390-${colorScheme}`);
    } finally {
      await page.context().close();
    }
  });

test('a long or odd stage name in the address is shown bounded and escaped', async () => {
  const page = await openRun(`${'x'.repeat(500)}\u001b[31m`, 'light');
  try {
    const text = await page.locator('.page [role="status"].address-stage').innerText();
    assert.match(text, /names stage "x{80}…" \(505 characters\)/);
    assert.ok(text.length < 300, `${text.length} characters`);
  } finally {
    await page.context().close();
  }
});

test("an address naming one of the run's stages shows it, with no note", async () => {
  const page = await openRun('evaluate', 'light');
  try {
    await page.locator('.stage-panel[data-stage="evaluate"] h2').waitFor();
    assert.equal(await page.locator('.address-stage').count(), 0);
  } finally {
    await page.context().close();
  }
});
