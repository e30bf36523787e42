/**
 * `fineflow ui` in a real headless Chromium, on the real stack: runs from the in-process runtime
 * harness (test stage types), the UI server over the same clients, playwright-core driving
 * Debian's Chromium. Every wait is on a DOM state the page reaches by itself (live updates come
 * from server-sent events), never a sleep. Screenshots: test-artifacts/ui/.
 *
 * Run with: bash scripts/test.sh integration test/e2e/ui.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { registerModel } from '../../src/ml/models/registry';
import { compilePlan } from '../../src/spec';
import type { RunningUi } from '../../src/ui/server';
import { startRuntimeHarness, randomSuffix, type RuntimeHarness } from '../fixtures/runtime/harness';
import { writeSweepData } from '../integration/sweep/sweep-fixture';
import { launchBrowser, openPage, screenshot, startUiFor } from './helpers/ui-browser';

let h: RuntimeHarness;
let ui: RunningUi;
let browser: Browser;

before(async () => {
  h = await startRuntimeHarness();
  ui = await startUiFor(h);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await ui?.close();
  await h?.close();
});

const LONG = { timeout: 60_000 };

test('the runs list shows a finished run', LONG, async () => {
  const runId = await h.runs.submit(h.plan('ui-finished', [{ id: 'only', with: { value: 1 } }]));
  assert.equal((await h.runs.result(runId)).status, 'succeeded');
  const { page, errors } = await openPage(browser);
  await page.goto(`${ui.url}/#/runs?pipeline=ui-finished`);
  // The list refreshes itself: visibility may lag the run's end by a moment.
  await page.locator(`tr[data-run-id="${runId}"][data-status="succeeded"]`).waitFor({ timeout: 30_000 });
  await screenshot(page, 'runs');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a run page recolours its DAG live, and the log of a running stage follows', LONG, async () => {
  const plan = h.plan('ui-live', [
    { id: 'first', with: { value: 'a', sleepMs: 2500, steps: 2 } },
    { id: 'second', needs: ['first'], with: { value: 'b', sleepMs: 6000, steps: 3 } },
    { id: 'third', needs: ['second'], with: { value: 'c' } },
  ]);
  const runId = await h.runs.submit(plan);
  const { page, errors } = await openPage(browser);
  await page.goto(`${ui.url}/#/runs/${runId}?stage=second`);
  const node = (stage: string, status: string) =>
    page.locator(`svg.dag g.node[data-stage="${stage}"][data-status="${status}"]`);
  await node('first', 'running').waitFor();
  await node('second', 'pending').waitFor({ state: 'attached' });
  await node('second', 'running').waitFor({ timeout: 20_000 });
  // The log of the running stage appears and grows while it runs, without a reload.
  await page.locator('#stage-log', { hasText: 'attempt 1 started' }).waitFor({ timeout: 20_000 });
  assert.equal(await node('second', 'running').count(), 1, 'the log showed up while the stage was still running');
  await screenshot(page, 'run-live');
  await page.locator('#stage-log', { hasText: 'attempt 1 succeeded' }).waitFor({ timeout: 30_000 });
  await node('third', 'succeeded').waitFor({ timeout: 20_000 });
  await page.locator('#run-status[data-status="succeeded"]').waitFor();
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a paused stage is retried from the UI with a changed param and the run succeeds', LONG, async () => {
  const plan = h.plan(
    'ui-retry',
    [
      {
        id: 'check',
        uses: 'test-fail-until-param',
        onFailure: 'pause',
        with: { value: '${{ params.answer }}', expected: 42 },
      },
    ],
    { answer: 1 },
  );
  const runId = await h.runs.submit(plan);
  const { page, errors } = await openPage(browser);
  await page.goto(`${ui.url}/#/runs/${runId}`);
  await page.locator('#stage-status[data-status="waiting"]').waitFor({ timeout: 30_000 });
  await page.locator('#param-answer').fill('42');
  await page.locator('#retry-stage').click();
  // Every action is confirmed first.
  await page.locator('dialog.confirm', { hasText: 'answer = 42' }).waitFor();
  await screenshot(page, 'retry-confirm');
  await page.locator('dialog.confirm [data-action="confirm"]').click();
  await page.locator('#run-status[data-status="succeeded"]').waitFor({ timeout: 30_000 });
  const state = await h.runs.state(runId);
  assert.equal(state.status, 'succeeded');
  assert.equal(state.params.answer, 42);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a model version is promoted to an alias after confirmation', LONG, async () => {
  const name = `ui-model-${randomSuffix()}`;
  const source = `s3://${h.config.s3.bucket}/test-ui/${name}`;
  await h.store.putJson(`${source}/model.json`, {
    format: 'layers-model',
    modelTopology: {},
    weightsManifest: [{ paths: ['weights.bin'], weights: [] }],
  });
  await h.store.putBytes(`${source}/weights.bin`, new Uint8Array(4));
  for (const accuracy of [0.81, 0.87]) {
    await registerModel(h.store, {
      bucket: h.config.s3.bucket,
      name,
      modelUri: source,
      aliases: accuracy < 0.85 ? ['champion'] : [],
      metrics: { accuracy },
      lineage: {
        runId: 'ui-run-1',
        stage: 'finetune',
        dataset: `s3://${h.config.s3.bucket}/datasets/digits/manifest.json`,
      },
    });
  }
  const { page, errors } = await openPage(browser);
  await page.goto(`${ui.url}/#/models/${name}`);
  await page.locator('#model-aliases', { hasText: 'champion → 1' }).waitFor();
  await page.locator('#promote-version').selectOption('2');
  await page.locator('#promote-alias').fill('champion');
  await page.locator('#promote').click();
  await page.locator('dialog.confirm [data-action="confirm"]').click();
  await page.locator('#model-aliases', { hasText: 'champion → 2' }).waitFor();
  await screenshot(page, 'model');
  const aliases = await h.store.getJson<Record<string, number>>(
    `s3://${h.config.s3.bucket}/models/${name}/aliases.json`,
  );
  assert.equal(aliases.champion, 2);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a pipeline with errors shows every diagnostic at its line', LONG, async () => {
  const yaml = [
    'apiVersion: fineflow/v1',
    'kind: Pipeline',
    'metadata: {name: broken}',
    'stages:',
    '  prepare:',
    '    uses: prepare-dta',
    '    with: {source: "s3://datasets/x/"}',
    '  train:',
    '    uses: fine-tune',
    '    needz: [prepare]',
    '    timeout: 5 parsecs',
    '    with: {model: "${{ stages.nowhere.outputs.model }}", data: "x", epochs: 3}',
    '',
  ].join('\n');
  const expected = compilePlan(yaml, 'pipeline.yaml')
    .diagnostics.map((d) => `${d.line}:${d.code}`)
    .sort();
  assert.ok(expected.length >= 3, JSON.stringify(expected));
  const { page, errors } = await openPage(browser);
  await page.goto(`${ui.url}/#/pipelines`);
  await page.locator('#pipeline-yaml').fill(yaml);
  await page.locator('#validate-pipeline').click();
  await page.locator('#validation-summary[data-valid="false"]').waitFor();
  const shown = (
    await page
      .locator('.diag')
      .evaluateAll((items) =>
        items.map((item) => `${item.getAttribute('data-line')}:${item.getAttribute('data-code')}`),
      )
  ).sort();
  assert.deepEqual(shown, expected);
  // Each diagnostic sits right under the source line it names.
  for (const diag of await page.locator('.diag').all()) {
    const line = await diag.getAttribute('data-line');
    const above = await diag.evaluate((item) => {
      let previous = item.previousElementSibling;
      while (previous && previous.classList.contains('diag')) previous = previous.previousElementSibling;
      return previous?.getAttribute('data-line');
    });
    assert.equal(above, line);
  }
  await screenshot(page, 'pipeline-errors');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a sweep stage shows its trials in a table and charts, one line per trial', { timeout: 240_000 }, async () => {
  const data = await writeSweepData(h.store, h.config.s3.bucket, `test-ui/sweep-${randomSuffix()}`);
  const plan = h.plan('ui-sweep', [
    {
      id: 'sweep',
      uses: 'hyperparameter-sweep',
      timeoutMs: 180_000,
      with: {
        model: data.baseModel,
        data: data.dataset,
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        algorithm: 'random',
        maxTrials: 4,
        parallelism: 2,
        seed: 5,
        space: { learningRate: { logUniform: [0.001, 0.05] }, batchSize: { choice: [8, 16] } },
        trial: { epochs: 2, freeze: 'none', seed: 1 },
      },
    },
  ]);
  const runId = await h.runs.submit(plan);
  assert.equal((await h.runs.result(runId)).status, 'succeeded');
  const { page, errors } = await openPage(browser, 'dark');
  await page.goto(`${ui.url}/#/runs/${runId}?stage=sweep`);
  await page.locator('table.trials[data-trials="4"]').waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('table.trials tbody tr').count(), 4);
  assert.equal(await page.locator('svg.parallel polyline.trial').count(), 4);
  assert.equal(await page.locator('svg.parallel polyline.trial.best').count(), 1);
  await page.locator('[data-chart="best-so-far"] canvas').waitFor();
  await screenshot(page, 'sweep');
  assert.deepEqual(errors, []);
  await page.context().close();
});
