/**
 * On a 390 px phone the panels that scroll sideways inside their boxes say so (util.ts: scrollHint): the quickstart
 * run's DAG, a sweep's parallel plot (its third axis past the screen's edge), a model's lineage and compare's runs
 * each show a shadow at the edge beyond which more lies, gone at the end they reach; the box is a named region in the
 * tab order that the arrow keys scroll, described by which side more lies on. They scrolled with no sign they did.
 * At 1280 px the quickstart DAG fits: no shadow, not a region, not in the tab order. Served by the real UI server
 * (the run's details answered in the page, as no-page-side-scroll does), drawn by the real app in Chromium, with
 * reduced motion (the shadows' fade is then instant). Light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/scroll-hints-phone.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { RunClient } from '../../src/client/run-client';
import { trialTableFromResults } from '../../src/client/sweep-trial-table';
import type { SweepResultsDocument } from '../../src/core/sweep/sweep-results';
import { compilePlan } from '../../src/spec';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import { planGraph } from '../../src/ui/run-plan';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { manualRun, succeededStage } from './run-fixtures';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const RUN = 'quickstart-20261206-080121-yn0l';
const COMPARED = [RUN, 'quickstart-20261206-080221-q7c2', 'defect-detector-line-b-20261206-080321-a1b2'];
const MODEL = 'surface-defects';
let browser: Browser;
let ui: RunningUi;

const quickstart = compilePlan(
  readFileSync(path.join(__dirname, '../../pipelines/quickstart.yaml'), 'utf8'),
  'quickstart.yaml',
).plan;
assert.ok(quickstart, 'the quickstart pipeline compiles');
const GRAPH = planGraph(quickstart);

/** A finished sweep with three params: four axes of 150 px, past a phone's width. */
const SWEEP: SweepResultsDocument = {
  format: 'fineflow-sweep-results/v1',
  outcome: 'completed',
  metric: 'validation.accuracy',
  goal: 'maximize',
  algorithm: 'random',
  earlyStopping: 'none',
  rungEpochs: [],
  bestTrialId: 0,
  segments: [],
  rows: [0, 1, 2, 3].map((trialId) => ({
    trialId,
    params: { learningRate: 0.001 * (trialId + 1), batchSize: 16 * (trialId + 1), unfreezeLayers: trialId },
    status: 'completed' as const,
    value: 0.7 + trialId / 20,
    epochs: 3,
    metricByEpoch: [],
  })),
};

function stateOf(runId: string, index: number) {
  return manualRun({
    runId,
    startedAt: '2026-12-06T08:01:21.000Z',
    endedAt: '2026-12-06T08:03:00.000Z',
    params: { learningRate: 0.001 * (index + 1) },
    stages: [
      ...GRAPH.nodes.map((node) => succeededStage(node.id, node.uses, node.pool, {})),
      succeededStage('sweep', 'hyperparameter-sweep', 'cpu', {}),
      succeededStage('finetune', 'fine-tune', 'train', { metrics: { accuracy: 0.8 - index / 20 } }),
    ],
  });
}

before(async () => {
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  await store.putJson(`s3://fineflow/models/${MODEL}/1/card.json`, {
    name: MODEL,
    version: 1,
    createdAt: '2026-12-06T08:55:00.000Z',
    source: `s3://fineflow/runs/${RUN}/finetune/model/model.json`,
    lineage: {
      dataset: `s3://fineflow/runs/${RUN}/prepare/dataset/manifest.json`,
      datasetVersion: 'ddb4f108a84abb5cff4708a954e82220f20f1093963bb72cacd830f9d2f5fb7a',
      baseModel: 'registry://surface-base@2',
      runId: RUN,
      stage: 'finetune',
    },
  });
  const runs: Pick<RunClient, 'state'> = {
    state: async (runId: string) => {
      const index = COMPARED.indexOf(runId);
      if (index < 0) throw new Error(`no run ${runId}`);
      return stateOf(runId, index);
    },
  };
  ({ ui, browser } = await startBrowserUi({ runs, store, bucket: 'fineflow' }));
});
after(() => closeBrowserUi({ ui, browser }));

/** The run page of RUN, its details (graph, state, the sweep's trials) answered in the page. */
async function openRun(page: Page, stage?: string): Promise<void> {
  const sweeps = [trialTableFromResults('sweep', SWEEP)];
  const graph = {
    nodes: [...GRAPH.nodes, { id: 'sweep', uses: 'hyperparameter-sweep', pool: 'cpu' }],
    edges: GRAPH.edges,
  };
  await page.route(`**/api/runs/${RUN}`, (route) =>
    route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ state: stateOf(RUN, 0), graph: stage ? graph : GRAPH, sweeps }),
    }),
  );
  await page.route(`**/api/runs/${RUN}/sweeps`, (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ sweeps }) }),
  );
  await page.route(`**/api/runs/${RUN}/stages/*/**`, (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: '{"logs":[],"attempts":[]}' }),
  );
  await page.goto(`${ui.url}/#/runs/${RUN}${stage ? `?stage=${stage}` : ''}`);
}

/** Which shadows a frame shows (the computed opacity of its edges) and what its box says to assistive technology. */
async function hintOf(page: Page, frame: string): Promise<Record<string, string | null | undefined>> {
  return (await page.evaluate(`(() => {
    const element = document.querySelector(${JSON.stringify(frame)});
    const box = element.firstElementChild;
    const described = box.getAttribute('aria-describedby');
    return {
      left: getComputedStyle(element, '::before').opacity,
      right: getComputedStyle(element, '::after').opacity,
      tabIndex: box.getAttribute('tabindex'),
      role: box.getAttribute('role'),
      label: box.getAttribute('aria-label'),
      description: described ? document.getElementById(described).textContent : undefined,
    };
  })()`)) as Record<string, string | null | undefined>;
}

/** A box that overflows: the right shadow at the start, both after a key press, the left one alone at the end. */
async function assertScrollHint(page: Page, frame: string, label: string): Promise<void> {
  await page.locator(`${frame}[data-more-right]:not([data-more-left])`).waitFor();
  assert.deepEqual(await hintOf(page, frame), {
    left: '0',
    right: '1',
    tabIndex: '0',
    role: 'region',
    label: `${label} (scrolls sideways)`,
    description: 'More to the right: scroll sideways, or use the arrow keys.',
  });
  const box = page.locator(`${frame} > :first-child`);
  await box.focus();
  // The key scrolls smoothly: the test goes on once that scroll has ended (a later scroll would race it). It waits
  // for the position to move and then hold still for two frames rather than for a `scrollend` event, which a loaded
  // machine could fire before a listener was in place (the test then hung).
  await page.keyboard.press('ArrowRight');
  // (No named function inside: tsx would wrap it in a helper the page does not have.)
  const scrolled = await box.evaluate(async (element) => {
    const page = globalThis as unknown as { requestAnimationFrame(then: () => void): void };
    let last = -1;
    let still = 0;
    while (still < 2) {
      await new Promise<void>((frame) => page.requestAnimationFrame(frame));
      const now = element.scrollLeft;
      still = now > 0 && now === last ? still + 1 : 0;
      last = now;
    }
    return last;
  });
  assert.ok(scrolled > 0, 'the arrow key scrolls the box');
  await page.locator(`${frame}[data-more-left]`).waitFor();
  await box.evaluate((element) => {
    element.scrollLeft = element.scrollWidth;
  });
  await page.locator(`${frame}[data-more-left]:not([data-more-right])`).waitFor();
  const end = await hintOf(page, frame);
  assert.deepEqual(
    [end.left, end.right, end.description],
    ['1', '0', 'More to the left: scroll sideways, or use the arrow keys.'],
  );
  await box.evaluate((element) => {
    element.scrollLeft = 0;
  });
  await page.locator(`${frame}[data-more-right]:not([data-more-left])`).waitFor();
}

const PHONE = { width: 390, height: 844 };

for (const colorScheme of ['light', 'dark'] as const) {
  test(`the quickstart DAG and a sweep's parallel plot show they scroll on a phone (${colorScheme})`, async () => {
    const { page, errors } = await openPage(browser, colorScheme, PHONE);
    try {
      await page.emulateMedia({ reducedMotion: 'reduce' });
      await openRun(page);
      await page.locator('svg.dag g.node').first().waitFor();
      await assertScrollHint(page, '.scroll-frame:has(> .dag-box)', 'Pipeline stages');
      await screenshot(page, `scroll-hint-dag-390-${colorScheme}`);
      await page.unrouteAll();
      await openRun(page, 'sweep');
      await page.locator('.parallel-box svg.parallel').first().waitFor();
      await page.locator('.scroll-frame:has(> .parallel-box)').scrollIntoViewIfNeeded();
      await assertScrollHint(page, '.scroll-frame:has(> .parallel-box)', 'Parallel coordinates of validation.accuracy');
      await screenshot(page, `scroll-hint-parallel-390-${colorScheme}`);
      await assertNoSideScroll(page);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });

  test(`a model's lineage and compare's runs show they scroll on a phone (${colorScheme})`, async () => {
    const { page, errors } = await openPage(browser, colorScheme, PHONE);
    try {
      await page.emulateMedia({ reducedMotion: 'reduce' });
      await page.goto(`${ui.url}/#/models/${MODEL}`);
      await page.locator('svg.lineage').waitFor();
      await assertScrollHint(page, '.scroll-frame:has(> .lineage-box)', 'Lineage');
      await screenshot(page, `scroll-hint-lineage-390-${colorScheme}`);
      await page.goto(`${ui.url}/#/compare?runs=${COMPARED.join(',')}`);
      await page.locator('table.compare').waitFor();
      await assertScrollHint(page, '.scroll-frame:has(> table.compare)', 'Compared runs');
      // The left shadow starts right of the row labels, which stay put.
      const labels = await page.locator('table.compare th:first-child').first().boundingBox();
      const shadowLeft = (await page.evaluate(`(() => {
        const frame = document.querySelector('.scroll-frame:has(> table.compare)');
        return frame.getBoundingClientRect().left + parseFloat(getComputedStyle(frame, '::before').left);
      })()`)) as number;
      assert.ok(
        labels && Math.abs(shadowLeft - (labels.x + labels.width)) < 2,
        `${shadowLeft} vs ${JSON.stringify(labels)}`,
      );
      await screenshot(page, `scroll-hint-compare-390-${colorScheme}`);
      await assertNoSideScroll(page);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
}

test('at 1280 px the quickstart DAG fits: no shadow, not a region, not in the tab order', async () => {
  const { page, errors } = await openPage(browser, 'light', { width: 1280, height: 800 });
  try {
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await openRun(page);
    await page.locator('svg.dag g.node').first().waitFor();
    const frame = '.scroll-frame:has(> .dag-box)';
    assert.equal(await page.locator(`${frame}[data-more-left], ${frame}[data-more-right]`).count(), 0);
    assert.deepEqual(await hintOf(page, frame), {
      left: '0',
      right: '0',
      tabIndex: null,
      role: null,
      label: null,
      description: undefined,
    });
    assert.deepEqual(errors, []);
  } finally {
    await page.context().close();
  }
});
