/**
 * A failed, cancelled or terminated run's stages that never started were drawn `pending`, exactly as a live run's stages still to
 * come: a dead run read as one still going. They are drawn "not run" (dotted, hatched, muted, the words on the box's
 * second line), with why, in the DAG (box, tooltip, aria-label) and on the stage's page (badge, note, log); a live
 * run's waiting stages stay `pending`. Served by the real UI server, the run's read answered in the browser. Light and
 * dark, 1280 and 390 px.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/run-not-run.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { RunState, StageState } from '../../src/core/run/run-types';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { contrast, parseRgb } from './page-colours';
import { manualRun, succeededStage } from './run-fixtures';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';

const FAILED = 'quickstart-20261207-040101-fa1d';
const CANCELLED = 'quickstart-20261207-040202-ca2c';
const LIVE = 'quickstart-20261207-040303-l1ve';
const TERMINATED = 'quickstart-20261207-040404-te4m';
const pending = (id: string, uses: string): StageState => ({ id, uses, pool: 'cpu', status: 'pending', attempts: 0 });
/** prepare → finetune → evaluate → register, and prepare → profile (beside the chain: no upstream of it failed). */
const GRAPH = {
  nodes: [
    { id: 'prepare', uses: 'prepare-data', pool: 'cpu' },
    { id: 'finetune', uses: 'fine-tune', pool: 'train' },
    { id: 'profile', uses: 'command', pool: 'cpu' },
    { id: 'evaluate', uses: 'evaluate', pool: 'cpu' },
    { id: 'register', uses: 'register-model', pool: 'cpu' },
  ],
  edges: [
    { from: 'prepare', to: 'finetune' },
    { from: 'prepare', to: 'profile' },
    { from: 'finetune', to: 'evaluate' },
    { from: 'evaluate', to: 'register' },
  ],
};
const times = { startedAt: '2026-12-07T04:01:01.000Z', endedAt: '2026-12-07T04:02:00.000Z' };
const stages = (finetune: StageState): StageState[] => [
  succeededStage('prepare', 'prepare-data', 'cpu', {}),
  finetune,
  pending('profile', 'command'),
  pending('evaluate', 'evaluate'),
  pending('register', 'register-model'),
];
const STATES: Record<string, RunState> = {
  [FAILED]: manualRun({
    runId: FAILED,
    status: 'failed',
    ...times,
    stages: stages({
      id: 'finetune',
      uses: 'fine-tune',
      pool: 'train',
      status: 'failed',
      attempts: 3,
      error: { type: 'FineflowInvalidInput', message: 'no labels' },
    }),
  }),
  [CANCELLED]: manualRun({
    runId: CANCELLED,
    status: 'cancelled',
    ...times,
    stages: stages({ id: 'finetune', uses: 'fine-tune', pool: 'train', status: 'cancelled', attempts: 1 }),
  }),
  [TERMINATED]: manualRun({
    runId: TERMINATED,
    status: 'terminated',
    ...times,
    stages: stages({
      id: 'finetune',
      uses: 'fine-tune',
      pool: 'train',
      status: 'cancelled',
      attempts: 1,
      endedAt: times.endedAt,
      reason: 'the run was terminated (operator stop) while this stage ran',
    }),
  }),
  [LIVE]: manualRun({
    runId: LIVE,
    status: 'running',
    startedAt: times.startedAt,
    stages: stages({ id: 'finetune', uses: 'fine-tune', pool: 'train', status: 'running', attempts: 0 }),
  }),
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

async function openRun(
  runId: string,
  stage: string,
  colorScheme: 'light' | 'dark',
  width = 1280,
): Promise<{ page: Page; errors: string[] }> {
  const opened = await openPage(browser, colorScheme, { width, height: 900 });
  const state = STATES[runId];
  assert.ok(state);
  await opened.page.route(`**/api/runs/${runId}`, (route) =>
    route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ state, graph: GRAPH, sweeps: [] }),
    }),
  );
  // The live run's events: the state once, then the stream stays open (nothing changes in this test).
  await opened.page.route(`**/api/runs/${runId}/events`, (route) =>
    route.fulfill({
      status: 200,
      contentType: 'text/event-stream',
      body: `event: state\ndata: ${JSON.stringify(state)}\n\n`,
    }),
  );
  await opened.page.route(`**/api/runs/${runId}/stages/*/**`, (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: '{"logs":[],"attempts":[]}' }),
  );
  await opened.page.goto(`${ui.url}/#/runs/${runId}?stage=${stage}`);
  await opened.page.locator(`#run-status[data-status="${state.status}"]`).waitFor();
  await opened.page.locator(`.stage-panel[data-stage="${stage}"] #stage-status`).waitFor();
  return opened;
}

interface ShownBox {
  readonly status: string | null;
  readonly sub?: string | null;
  readonly label: string | null;
  readonly tip?: string | null;
  readonly dash: string;
  readonly fill: string;
  readonly title: string;
}

/** Each box's status, its second line, its aria-label, its tooltip and its look (in the page: no DOM types here). */
function boxes(page: Page): Promise<Record<string, ShownBox>> {
  return page.evaluate(`Object.fromEntries([...document.querySelectorAll('svg.dag g.node')].map((node) => {
    const rect = getComputedStyle(node.querySelector('rect'));
    return [node.getAttribute('data-stage'), {
      status: node.getAttribute('data-status'),
      sub: node.querySelector('.node-sub')?.textContent,
      label: node.getAttribute('aria-label'),
      tip: node.querySelector('title')?.textContent,
      dash: rect.strokeDasharray,
      fill: rect.fill,
      title: getComputedStyle(node.querySelector('.node-title')).fill,
    }];
  }))`);
}

/** The page's background colour. */
function pageBackground(page: Page): Promise<string> {
  return page.evaluate('getComputedStyle(document.body).backgroundColor');
}

for (const colorScheme of ['light', 'dark'] as const)
  test(`a failed run draws the stages it never ran as "not run", with why (${colorScheme})`, async () => {
    const { page, errors } = await openRun(FAILED, 'evaluate', colorScheme);
    try {
      const shown = await boxes(page);
      for (const id of ['profile', 'evaluate', 'register']) {
        assert.equal(shown[id]?.status, 'not-run', id);
        assert.equal(shown[id]?.sub, 'not run', id);
        assert.match(shown[id]?.fill ?? '', /url\("?#not-run-hatch"?\)/, `${id} is hatched`);
        assert.notEqual(shown[id]?.dash, 'none', `${id}'s outline is dotted`);
      }
      assert.equal(shown.evaluate?.label, 'stage evaluate (evaluate): not run, upstream stage finetune failed');
      assert.equal(shown.register?.label, 'stage register (register-model): not run, upstream stage finetune failed');
      assert.equal(shown.profile?.label, 'stage profile (command): not run, the run failed at stage finetune');
      assert.match(shown.evaluate?.tip ?? '', /\nnot run, upstream stage finetune failed$/);
      assert.equal(shown.finetune?.status, 'failed');
      assert.equal(shown.prepare?.sub, 'prepare-data · cpu', "a stage that ran keeps its box's second line");
      // The muted words on the box read at 4.5:1 or more on the page.
      const bg = await pageBackground(page);
      const ratio = contrast(parseRgb(shown.evaluate?.title ?? ''), parseRgb(bg));
      assert.ok(ratio >= 4.5, `box text contrast ${ratio.toFixed(2)}`);

      const badge = page.locator('#stage-status');
      assert.equal(await badge.getAttribute('data-status'), 'not-run');
      assert.equal(await badge.innerText(), 'not run');
      assert.equal(await page.locator('#stage-not-run').innerText(), 'Not run: upstream stage finetune failed.');
      assert.equal(await page.locator('#stage-log').innerText(), '(none: the stage never ran)');
      const badgeColour: string = await page.evaluate(
        `getComputedStyle(document.querySelector('#stage-status .badge')).color`,
      );
      const badgeRatio = contrast(parseRgb(badgeColour), parseRgb(bg));
      assert.ok(badgeRatio >= 4.5, `badge contrast ${badgeRatio.toFixed(2)}`);
      await screenshot(page, `run-not-run-1280-${colorScheme}`);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });

test('a cancelled run says its stages never ran because of the cancel', async () => {
  const { page } = await openRun(CANCELLED, 'profile', 'light', 390);
  try {
    const shown = await boxes(page);
    assert.equal(shown.evaluate?.label, 'stage evaluate (evaluate): not run, upstream stage finetune was cancelled');
    assert.equal(shown.profile?.label, 'stage profile (command): not run, the run was cancelled before it started');
    assert.equal(await page.locator('#stage-status').innerText(), 'not run');
    assert.equal(await page.locator('#stage-not-run').innerText(), 'Not run: the run was cancelled before it started.');
    await screenshot(page, 'run-not-run-cancelled-390-light');
  } finally {
    await page.context().close();
  }
});

test('a terminated run reads terminated: its running stage stopped by it, the rest not run', async () => {
  const { page, errors } = await openRun(TERMINATED, 'profile', 'light');
  try {
    assert.equal(await page.locator('#run-status').innerText(), 'terminated');
    const shown = await boxes(page);
    assert.equal(shown.finetune?.status, 'cancelled');
    assert.equal(
      shown.evaluate?.label,
      'stage evaluate (evaluate): not run, upstream stage finetune was stopped when the run was terminated',
    );
    assert.equal(shown.profile?.label, 'stage profile (command): not run, the run was terminated before it started');
    assert.equal(await page.locator('#stage-status').innerText(), 'not run');
    assert.equal(
      await page.locator('#stage-not-run').innerText(),
      'Not run: the run was terminated before it started.',
    );
    await screenshot(page, 'run-not-run-terminated-1280-light');
    assert.deepEqual(errors, []);
  } finally {
    await page.context().close();
  }
});

test("a live run's stages still to come stay pending", async () => {
  const { page } = await openRun(LIVE, 'evaluate', 'light');
  try {
    const shown = await boxes(page);
    for (const id of ['profile', 'evaluate', 'register']) {
      assert.equal(shown[id]?.status, 'pending', id);
      assert.equal(shown[id]?.sub, `${GRAPH.nodes.find((n) => n.id === id)?.uses} · cpu`, id);
    }
    assert.equal(await page.locator('#stage-status').innerText(), 'pending');
    assert.equal(await page.locator('#stage-not-run').count(), 0);
  } finally {
    await page.context().close();
  }
});
