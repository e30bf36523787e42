/**
 * A model registered by a stage that rests on a sub-pipeline's evaluate stage (pipelines/sub-pipeline.yaml: `register`
 * takes `stages.train.outputs.evaluate.*`): the card records that evaluation as `train.evaluate`, and the model page's
 * Metrics show it with the gate's reasons while the run is still there; the page said "run … has no evaluate stage
 * that scored this model", since the run's own stages do not include it. A verdict recorded with no reasons says "no
 * reasons recorded" (in the Metrics and the versions table's gate cell) rather than nothing. Served by the real UI
 * server from an in-memory registry and the example's compiled plan; 390 and 1280 px.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/model-gate-sub-pipeline.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import type { RunState } from '../../src/core/run/run-types';
import { compilePlan } from '../../src/spec/compile';
import { pipelineFileSource } from '../../src/spec/pipeline-files';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, recordedRunsClient, startBrowserUi } from './browser-ui';
import { manualRun, succeededStage } from './run-fixtures';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const BUCKET = 'fineflow';
const MODEL = 'churn-mlp';
/** Version 1: its run is still there. Version 2: its run is gone, and its card records a verdict with no reasons. */
const RUN_KEPT = 'churn-retrain-20261207-090000-kept';
const RUN_GONE = 'churn-retrain-20261207-100000-gone';
const REASON = 'f1 0.7100 >= min 0.6';
const metrics = { accuracy: 0.83, f1: 0.71, count: 120 };

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  for (const [version, runId, reasons] of [
    [1, RUN_KEPT, [REASON]],
    [2, RUN_GONE, []],
  ] as const)
    await store.putJson(`s3://${BUCKET}/models/${MODEL}/${version}/card.json`, {
      name: MODEL,
      version,
      createdAt: `2026-12-07T${String(8 + version).padStart(2, '0')}:00:00.000Z`,
      source: `s3://${BUCKET}/runs/${runId}/train/model/model.json`,
      lineage: { runId, stage: 'register' },
      metrics,
      evaluations: [{ stage: 'train.evaluate', split: 'test', passed: true, reasons, metrics }],
    });
  const file = 'pipelines/sub-pipeline.yaml';
  const { plan } = compilePlan(readFileSync(file, 'utf8'), file, { pipelineFiles: pipelineFileSource(file) });
  assert.ok(plan);
  const evaluate = { passed: true, metrics, comparison: { gate: { passed: true, reasons: [REASON] } } };
  const states = new Map<string, RunState>([
    [
      RUN_KEPT,
      manualRun({
        runId: RUN_KEPT,
        startedAt: '2026-12-07T09:00:00.000Z',
        stages: [
          succeededStage('prepare', 'prepare-data', 'cpu', {}),
          succeededStage('rank', 'select-model', 'cpu', {}),
          succeededStage('train', 'pipeline', 'cpu', { finetune: {}, evaluate }),
          succeededStage('register', 'register-model', 'cpu', { version: 1 }),
        ],
      }),
    ],
  ]);
  ({ ui, browser } = await startBrowserUi({ runs: recordedRunsClient(plan, states), store, bucket: BUCKET }));
});
after(() => closeBrowserUi({ ui, browser }));

for (const width of [390, 1280])
  test(`a sub-pipeline's evaluation is read from its card; no reasons are said (${width})`, async () => {
    const { page, errors } = await openPage(browser, 'light', { width, height: 900 });
    try {
      await page.goto(`${ui.url}/#/models/${MODEL}`);
      const verdict = (version: number) => page.locator(`tr[data-version="${version}"] td.gate .verdict`);
      assert.equal(await verdict(1).getAttribute('title'), `by evaluate stage train.evaluate: ${REASON}`);
      assert.equal(await verdict(2).getAttribute('title'), 'by evaluate stage train.evaluate: no reasons recorded');

      // The newest version: its run is gone, and its card records the verdict without reasons.
      const section = page.locator('section.measure[data-kind="evaluation"]');
      await section.waitFor();
      assert.equal(await section.locator('p.gate-reasons').textContent(), 'Gate: no reasons recorded');
      assert.equal(await section.locator('.gate-note').getAttribute('title'), 'no reasons recorded');

      // Version 1: the run is there, but its own stages hold no evaluate stage: the card's evaluation is shown.
      await page.getByRole('button', { name: 'show card of version 1' }).click();
      await page.locator('section.measure p.byline', { hasText: RUN_KEPT }).waitFor();
      assert.equal(await page.locator('#measures-problem').count(), 0, 'no "has no evaluate stage" note');
      assert.equal(
        (await section.locator('p.byline').innerText()).replace(/\s+/g, ' '),
        `by evaluate stage train.evaluate of run ${RUN_KEPT}; recorded on the card by register stage register; ` +
          '120 test examples; gate passed',
      );
      assert.equal(await section.locator('p.gate-reasons').textContent(), `Gate: ${REASON}`);
      assert.equal(await section.locator('tr[data-metric="f1"] td').textContent(), '0.7100');
      await assertNoSideScroll(page);
      await screenshot(page, `model-gate-sub-pipeline-${width}`);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
