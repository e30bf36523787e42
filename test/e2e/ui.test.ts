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
import { createFineTuneStage } from '../../activities/fine-tune';
import { registerModel } from '../../src/ml/models/registry';
import { runTrainingInChildProcess } from '../../src/ml/train/child-runner';
import { compilePlan } from '../../src/spec';
import { taskQueueForPool } from '../../src/core/run/task-queues';
import { runPrefix } from '../../src/core/storage/layout';
import { watcherIdFor } from '../../src/schedules/data-watch-client';
import { ScheduleService } from '../../src/schedules/schedule-client';
import { registerTestStageTypes } from '../stage-types';
import type { RunningUi } from '../../src/ui/server';
import { randomSuffix, type RuntimeHarness } from '../fixtures/runtime/harness';
import { writeSweepData } from '../integration/sweep/sweep-fixture';
import { openPage, screenshot, startUiFor, startUiStack, type UiStack } from './helpers/ui-browser';

let stack: UiStack | undefined;
let h: RuntimeHarness, ui: RunningUi, browser: Browser;
before(async () => {
  ({ h, ui, browser } = stack = await startUiStack());
});
after(() => stack?.close());

const LONG = { timeout: 60_000 };

/** Training runs of the checkpoint test, compared by the compare test. */
const trained: { runId: string; bestEpoch: number }[] = [];

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

test(
  'the rerun dialog shows which stages run again and which are reused, and why, before it starts',
  LONG,
  async () => {
    // `a` names an object under the first run's prefix in its outputs (test-echo returns its `value`; the object
    // stands in for one the stage wrote). The second run is served `a` from the cache, so a rerun of that run
    // reuses outputs the first run computed.
    const firstRunId = `ui-rerun-${randomSuffix()}`;
    const produced = `${runPrefix(h.config.s3.bucket, firstRunId, 'a')}result.txt`;
    await h.store.putBytes(produced, `result of ${firstRunId}\n`);
    const plan = h.plan('ui-rerun', [
      { id: 'a', cache: { enabled: true }, with: { value: produced } },
      { id: 'b', needs: ['a'], with: { value: 'b' } },
      { id: 'c', needs: ['b'], with: { value: 'c' } },
    ]);
    await h.runs.submit(plan, { runId: firstRunId });
    assert.equal((await h.runs.result(firstRunId)).status, 'succeeded');
    const runId = await h.runs.submit(plan);
    assert.equal((await h.runs.result(runId)).stages.find((s) => s.id === 'a')?.status, 'cached');

    const { page, errors } = await openPage(browser);
    await page.goto(`${ui.url}/#/runs/${runId}?stage=b`);
    // The Cache section draws the same plan from the same preview: each stage, what the rerun does and why.
    await page.locator('details[data-section="cache"] > summary').click();
    const cacheRows = page.locator('#rerun-preview table.rerun-plan tbody tr');
    await page.locator('#rerun-preview[data-rerun="b c"][data-reuse="a"]').waitFor({ timeout: 30_000 });
    const rowsOf = (rows: typeof cacheRows) =>
      rows.evaluateAll((trs) =>
        trs.map((tr) => [tr.getAttribute('data-stage'), tr.getAttribute('data-action'), tr.textContent]),
      );
    const inSection = await rowsOf(cacheRows);
    assert.deepEqual(
      inSection.map(([stage, action]) => [stage, action]),
      [
        ['a', 'reuse'],
        ['b', 'rerun'],
        ['c', 'rerun'],
      ],
    );
    assert.match(inSection[2]?.[2] ?? '', /downstream of b \(needs b\)/);
    await page.locator(`#rerun-preview tr[data-stage="a"] a[data-run-link="${firstRunId}"]`).waitFor();
    await screenshot(page, 'cache-rerun-plan');
    await page.locator('#rerun-stage').click();
    const row = (stage: string, action: string) =>
      page.locator(`dialog.confirm #rerun-plan tr[data-stage="${stage}"][data-action="${action}"]`);
    await row('a', 'reuse').waitFor({ timeout: 30_000 });
    assert.deepEqual(await rowsOf(page.locator('dialog.confirm #rerun-plan tbody tr')), inSection);
    assert.match(
      await row('a', 'reuse').innerText(),
      new RegExp(`served from the cache in run ${runId}.*computed by run ${firstRunId}`),
    );
    assert.match(await row('b', 'rerun').innerText(), /the rerun starts here/);
    assert.match(await row('c', 'rerun').innerText(), /downstream of b \(needs b\)/);
    assert.equal(await page.locator('dialog.confirm #rerun-plan tbody tr').count(), 3);
    await screenshot(page, 'rerun-confirm');
    await page.locator('dialog.confirm [data-action="confirm"]').click();
    // The dialog's promise is kept: the new run reuses a and runs b and c again.
    await page.waitForURL((url) => /#\/runs\/[^?]+$/.test(url.hash) && !url.hash.includes(runId), { timeout: 30_000 });
    const rerunId = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    await page.locator('#run-status[data-status="succeeded"]').waitFor({ timeout: 30_000 });
    const rerun = await h.runs.state(rerunId);
    assert.equal(rerun.trigger.kind, 'rerun');
    assert.match(rerun.stages.find((s) => s.id === 'a')?.reason ?? '', new RegExp(`^reused from run ${runId}`));
    assert.deepEqual(
      rerun.stages.map((s) => [s.id, s.status, /^reused from run /.test(s.reason ?? '')]),
      [
        ['a', 'succeeded', true],
        ['b', 'succeeded', false],
        ['c', 'succeeded', false],
      ],
    );
    // The reused stage ran in no attempt of this run: its log box says where it ran, not "(no log yet)".
    await page.goto(`${ui.url}/#/runs/${rerunId}?stage=a`);
    await page
      .locator('#stage-log', { hasText: `(reused from run ${runId}: nothing ran in this run` })
      .waitFor({ timeout: 30_000 });
    assert.deepEqual(errors, []);
    await page.context().close();
  },
);

test('the rerun dialog says why a rerun cannot start and offers no confirm button', LONG, async () => {
  const runId = await h.runs.submit(
    h.plan('ui-rerun-blocked', [
      { id: 'check', uses: 'test-invalid' },
      { id: 'after', needs: ['check'], with: { value: 1 } },
    ]),
  );
  assert.equal((await h.runs.result(runId)).status, 'failed');
  const { page, errors } = await openPage(browser);
  await page.goto(`${ui.url}/#/runs/${runId}?stage=after`);
  await page.locator('#rerun-stage').click();
  const alert = page.locator('dialog.confirm [role="alert"]');
  await alert.waitFor({ timeout: 30_000 });
  assert.match(
    await alert.innerText(),
    new RegExp(`upstream stage check \\(failed\\).*fineflow rerun ${runId} --from check`),
  );
  assert.equal(await page.locator('dialog.confirm [data-action="confirm"]').count(), 0);
  await screenshot(page, 'rerun-blocked');
  await page.locator('dialog.confirm button', { hasText: 'Close' }).click();
  await page.locator('dialog.confirm').waitFor({ state: 'detached' });
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('every page fits a 390 px phone screen: nothing scrolls the page sideways', LONG, async () => {
  const runId = await h.runs.submit(
    h.plan('ui-narrow-screen-with-a-long-pipeline-name', [
      { id: 'source', cache: { enabled: true }, with: { value: 1 } },
      ...['left', 'middle', 'right'].map((id) => ({ id, needs: ['source'], with: { value: id } })),
      { id: 'join', needs: ['left', 'middle', 'right'], with: { value: 'j' } },
    ]),
  );
  assert.equal((await h.runs.result(runId)).status, 'succeeded');
  const { page, errors } = await openPage(browser, 'light', { width: 390, height: 844 });
  const fits = async (name: string): Promise<void> => {
    await screenshot(page, `narrow-${name}`);
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.equal(overflow, 0, `${name}: the page scrolls ${overflow} px sideways at 390 px`);
  };
  await page.goto(`${ui.url}/#/runs`);
  await page.locator(`tr[data-run-id="${runId}"]`).waitFor({ timeout: 30_000 });
  await fits('runs');
  await page.goto(`${ui.url}/#/runs/${runId}?stage=join`);
  await page.locator('details[data-section="cache"] > summary').click();
  await page.locator('#rerun-preview table.rerun-plan').waitFor({ timeout: 30_000 });
  await fits('run');
  // The run's id as the page title breaks only where its line is full, not at each hyphen.
  const title = (await page.evaluate(`(() => {
    const id = document.querySelector('.run-header .run-id');
    const range = document.createRange();
    range.selectNodeContents(id);
    const lines = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
    const probe = id.cloneNode(true);
    probe.style.whiteSpace = 'nowrap';
    probe.style.position = 'absolute';
    id.parentElement.appendChild(probe);
    const natural = probe.getBoundingClientRect().width;
    probe.remove();
    return { lines, needed: Math.ceil(natural / id.parentElement.clientWidth - 0.001) };
  })()`)) as { lines: number; needed: number };
  assert.equal(title.lines, title.needed, `the run id takes ${title.lines} lines where ${title.needed} hold it`);
  for (const [name, ready] of [
    ['models', 'main h1'],
    ['schedules', 'main h1'],
    ['compare', 'main h1'],
  ] as const) {
    await page.goto(`${ui.url}/#/${name}`);
    await page.locator(ready).waitFor();
    await fits(name);
  }
  await page.goto(`${ui.url}/#/pipelines`);
  const longLine = `    with: {source: "s3://datasets/${'a-very-long-prefix/'.repeat(6)}", format: image-folder}`;
  await page
    .locator('#pipeline-yaml')
    .fill(['apiVersion: fineflow/v1', 'kind: Pipeline', 'metadata: {name: p}', 'stages:', '  prepare:'].join('\n'));
  await page.locator('#pipeline-yaml').press('End');
  await page.locator('#pipeline-yaml').pressSequentially(`\n    uses: prepare-data\n${longLine}\n`);
  await page.locator('#validate-pipeline').click();
  await page.locator('#validation-summary').waitFor();
  await fits('pipelines');
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

test(
  'a model’s lineage graph keeps its text readable on a 390 px screen: it scrolls, it is not shrunk',
  LONG,
  async () => {
    const name = `ui-lineage-${randomSuffix()}`;
    const source = `s3://${h.config.s3.bucket}/test-ui/${name}`;
    await h.store.putJson(`${source}/model.json`, {
      format: 'layers-model',
      modelTopology: {},
      weightsManifest: [{ paths: ['weights.bin'], weights: [] }],
    });
    await h.store.putBytes(`${source}/weights.bin`, new Uint8Array(4));
    // The full chain a quickstart model has: dataset version → run → training stage → model, and its base model.
    await registerModel(h.store, {
      bucket: h.config.s3.bucket,
      name,
      modelUri: source,
      lineage: {
        runId: 'quickstart-20261206-044210-hhop',
        stage: 'finetune',
        baseModel: 'registry://surface-cnn@1',
        dataset: `s3://${h.config.s3.bucket}/runs/quickstart-20261206-044210-hhop/prepare/dataset/manifest.json`,
        datasetVersion: '4d57388c5e86f52d5bad4cf6',
      },
    });
    const { page, errors } = await openPage(browser, 'light', { width: 390, height: 844 });
    await page.goto(`${ui.url}/#/models/${name}`);
    const graph = page.locator('svg.lineage');
    await graph.waitFor();
    await screenshot(page, 'narrow-model-lineage');
    // Drawn at its own size (text as large as the run page's DAG), not scaled to the screen's width.
    const scale = await graph.evaluate(
      (svg: { getBoundingClientRect(): { width: number }; viewBox: { baseVal: { width: number } } }) =>
        svg.getBoundingClientRect().width / svg.viewBox.baseVal.width,
    );
    assert.ok(scale > 0.99, `the lineage graph is drawn at ${scale.toFixed(2)} of its size`);
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.equal(overflow, 0, 'the graph scrolls in its own box; the page does not scroll sideways');
    assert.deepEqual(errors, []);
    await page.context().close();
  },
);

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
      cache: { enabled: true },
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

  // The same sweep again is served from the cache: its page shows the trials of the run that swept.
  const cachedRunId = await h.runs.submit(plan);
  const cached = await h.runs.result(cachedRunId);
  assert.equal(cached.stages.find((s) => s.id === 'sweep')?.status, 'cached');
  await page.goto(`${ui.url}/#/runs/${cachedRunId}?stage=sweep`);
  await page.locator('table.trials[data-trials="4"]').waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('svg.parallel polyline.trial').count(), 4);
  await page.locator(`.sweep .cache-source a[data-run-link="${runId}"]`).waitFor();
  // Its cache section is open: the hit, linked to the source run, and what a rerun from it would do.
  await page.locator('#cache-facts[data-result="hit"]').waitFor({ timeout: 20_000 });
  await page.locator(`#cache-facts dd[data-fact="This run"] a[data-run-link="${runId}"]`).waitFor();
  await page.locator('#rerun-preview[data-rerun="sweep"]').waitFor();
  await screenshot(page, 'sweep-cached');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test(
  'a fine-tune stage shows its checkpoints, the resume point of each attempt, and its cache entry',
  { timeout: 240_000 },
  async () => {
    const data = await writeSweepData(h.store, h.config.s3.bucket, `test-ui/ckpt-${randomSuffix()}`);
    // The first attempt stops after the checkpoint of epoch 2 (a lost worker); the retry resumes.
    let failed = false;
    const pool = `train-${randomSuffix()}`;
    await h.addWorker({
      pool,
      concurrency: 1,
      extraStages: {
        'fine-tune': createFineTuneStage({
          runTraining: async (request, options) => {
            if (failed) return runTrainingInChildProcess(request, options);
            failed = true;
            const stop = new AbortController();
            await runTrainingInChildProcess(request, {
              ...options,
              signal: stop.signal,
              onProgress: (progress) => {
                options.onProgress?.(progress);
                if (Number(/epoch-(\d+)$/.exec(progress.checkpointUri ?? '')?.[1] ?? 0) >= 2) stop.abort();
              },
            }).catch(() => undefined);
            throw new Error('injected: the worker went away after the checkpoint of epoch 2');
          },
        }),
      },
    });
    const plan = h.plan('ui-checkpoints', [
      {
        id: 'train',
        uses: 'fine-tune',
        pool,
        timeoutMs: 180_000,
        cache: { enabled: true },
        retry: { maxAttempts: 2, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 1_000 },
        with: {
          model: data.baseModel,
          data: data.dataset,
          epochs: 8,
          freeze: 'none',
          batchSize: 8,
          seed: 1,
          checkpoint: { everyEpochs: 1, keepLast: 1 },
        },
      },
    ]);
    const runId = await h.runs.submit(plan);
    const result = await h.runs.result(runId);
    const train = result.stages.find((s) => s.id === 'train');
    assert.equal(train?.status, 'succeeded', JSON.stringify(train?.error));
    assert.equal(train?.attempts, 2);
    const resumedFrom = (train?.outputs?.metrics as { resumedFromEpoch?: number } | undefined)?.resumedFromEpoch;
    assert.ok(typeof resumedFrom === 'number' && resumedFrom >= 2, `resumed from ${resumedFrom}`);

    const { page, errors } = await openPage(browser);
    await page.goto(`${ui.url}/#/runs/${runId}?stage=train`);
    // A finished training stage opens its checkpoints.
    await page.locator('details[data-section="checkpoints"][data-loaded="true"]').waitFor({ timeout: 30_000 });
    const rows = page.locator('table.checkpoints tbody tr');
    const epochs = await rows.evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-epoch'))));
    // keepLast 1: the newest checkpoint and the best epoch's, all intact.
    assert.ok(epochs.length >= 1 && epochs.length <= 2, JSON.stringify(epochs));
    assert.equal(epochs[0], 8);
    assert.equal(await page.locator('table.checkpoints tbody tr[data-verified="false"]').count(), 0);
    assert.match((await rows.first().getAttribute('data-marks')) ?? '', /latest/);
    assert.equal(await page.locator('table.checkpoints tbody tr[data-marks*="best"]').count(), 1);
    await page.locator('li[data-attempt="1"][data-resumed-from=""]').waitFor();
    await page.locator(`li[data-attempt="2"][data-resumed-from="${resumedFrom}"]`).waitFor();
    // The cache section: a miss in this run, and the entry it recorded serves the next run.
    await page.locator('details[data-section="cache"] summary').click();
    await page.locator('#cache-facts[data-result="miss"]').waitFor({ timeout: 30_000 });
    await page.locator('#cache-facts', { hasText: 'reuses the entry' }).waitFor();
    await screenshot(page, 'stage-checkpoints');

    const cachedRunId = await h.runs.submit(plan);
    assert.equal((await h.runs.result(cachedRunId)).stages[0]?.status, 'cached');
    await page.goto(`${ui.url}/#/runs/${cachedRunId}?stage=train`);
    await page
      .locator(`#cache-facts[data-result="hit"] dd[data-fact="This run"] a[data-run-link="${runId}"]`)
      .waitFor({ timeout: 30_000 });
    // Its checkpoints are the source run's.
    await page.locator(`details[data-section="checkpoints"] .cache-source a[data-run-link="${runId}"]`).waitFor();
    assert.equal(await page.locator('table.checkpoints tbody tr').count(), epochs.length);
    await screenshot(page, 'stage-cache-hit');
    assert.deepEqual(errors, []);
    await page.context().close();

    // A second training run with other settings, for the comparison below.
    const variant = h.plan('ui-checkpoints-variant', [
      {
        ...(plan.stages[0] as (typeof plan.stages)[number]),
        cache: { enabled: false },
        with: { ...(plan.stages[0]?.with ?? {}), epochs: 5, learningRate: 0.003 },
      },
    ]);
    const variantRunId = await h.runs.submit(variant);
    const variantResult = await h.runs.result(variantRunId);
    assert.equal(variantResult.stages[0]?.status, 'succeeded');
    trained.push(
      { runId, bestEpoch: (train?.outputs?.metrics as { bestEpoch: number }).bestEpoch },
      {
        runId: variantRunId,
        bestEpoch: (variantResult.stages[0]?.outputs?.metrics as { bestEpoch: number }).bestEpoch,
      },
    );
  },
);

test(
  'compare overlays loss and accuracy, train and validation, best epochs marked, toggled from the keyboard',
  LONG,
  async () => {
    assert.equal(trained.length, 2, 'needs the two training runs of the test above');
    const { page, errors } = await openPage(browser, 'dark');
    await page.goto(`${ui.url}/#/compare?runs=${trained.map((t) => t.runId).join(',')}`);
    for (const chart of ['compare-loss', 'compare-accuracy']) {
      await page.locator(`[data-chart="${chart}"] canvas`).waitFor({ timeout: 20_000 });
      // x, then train and validation of each run.
      assert.equal(await page.locator(`[data-chart="${chart}"] .u-legend tr.u-series`).count(), 5);
    }
    for (const t of trained)
      await page.locator(`table.best-epochs tr[data-run="${t.runId}"][data-best-epoch="${t.bestEpoch}"]`).waitFor();
    // Keyboard: Space on the focused "train" checkbox hides both runs' train curves in both charts.
    await page.locator('input[data-toggle="train"]').focus();
    await page.keyboard.press('Space');
    for (const chart of ['compare-loss', 'compare-accuracy'])
      assert.equal(await page.locator(`[data-chart="${chart}"] .u-legend tr.u-series.u-off`).count(), 2);
    await page.keyboard.press('Space');
    assert.equal(await page.locator('[data-chart="compare-loss"] .u-legend tr.u-series.u-off').count(), 0);
    await screenshot(page, 'compare-dark');
    const light = await openPage(browser, 'light');
    await light.page.goto(`${ui.url}/#/compare?runs=${trained.map((t) => t.runId).join(',')}`);
    await light.page.locator('[data-chart="compare-accuracy"] canvas').waitFor({ timeout: 20_000 });
    await screenshot(light.page, 'compare');
    assert.deepEqual([...errors, ...light.errors], []);
    await page.context().close();
    await light.page.context().close();
  },
);

/**
 * Apply a one-stage pipeline (`test-echo` on the harness's cpu pool) whose `when` lines say when it runs: a
 * `schedule:` block or `triggers:`. Through the same schedule service as the UI's (the harness's control queue runs
 * schedules and watchers); deleted when `t` ends.
 */
async function applyOnHarness(
  t: { after(fn: () => Promise<unknown>): void },
  name: string,
  when: readonly string[],
): Promise<ScheduleService> {
  registerTestStageTypes();
  const compiled = compilePlan(
    [
      'apiVersion: fineflow/v1',
      'kind: Pipeline',
      `metadata: {name: ${name}}`,
      `defaults: {pool: ${h.pools.cpu}, timeout: 1m, retry: {maxAttempts: 1}, onFailure: fail}`,
      ...when,
      'stages:',
      '  echo: {uses: test-echo, cache: false, with: {value: x}}',
      '',
    ].join('\n'),
    `${name}.yaml`,
  );
  assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
  const schedules = new ScheduleService(h.client, {
    bucket: h.config.s3.bucket,
    workflowTaskQueue: taskQueueForPool(h.pools.control),
  });
  t.after(() => schedules.delete(name).catch(() => undefined));
  await schedules.apply(compiled.plan);
  return schedules;
}

test('a run triggered from the schedules page is among the schedule’s recent runs, marked by hand', LONG, async (t) => {
  const name = `ui-sched-${randomSuffix()}`;
  // A yearly start: only the trigger starts a run while the test runs.
  await applyOnHarness(t, name, ['schedule: {cron: "0 3 1 1 *"}']);

  for (const width of [1280, 390]) {
    const { page, errors } = await openPage(browser, 'light', { width, height: 844 });
    await page.goto(`${ui.url}/#/schedules`);
    const row = page.locator(`tr[data-schedule="${name}"]`);
    await row.waitFor({ timeout: 30_000 });
    const manual = row.locator('[data-trigger="manual"]');
    if (width === 1280) {
      assert.match((await row.textContent()) ?? '', /none yet/);
      await row.locator('button[data-action="trigger"]').click();
      await page.locator('dialog.confirm [data-action="confirm"]').click();
    }
    // The page refreshes itself; the run is listed once the visibility store has it.
    await manual.first().waitFor({ timeout: 30_000 });
    assert.equal(await manual.count(), 1);
    assert.match((await manual.textContent()) ?? '', /triggered by hand$/);
    const href = (await manual.locator('a').getAttribute('href')) ?? '';
    assert.match(href, new RegExp(`^#/runs/fineflow-${name}-manual-`));
    await screenshot(page, `schedules-triggered-run-${width}`);
    assert.deepEqual(errors, []);
    await page.context().close();
    if (width === 390) {
      const runId = decodeURIComponent(href.replace('#/runs/', ''));
      assert.equal((await h.runs.result(runId)).status, 'succeeded');
    }
  }
});

test('a data watcher is paused, triggered and unpaused from the schedules page, each confirmed', LONG, async (t) => {
  const name = `ui-watch-${randomSuffix()}`;
  const prefix = `s3://${h.config.s3.bucket}/test-ui/${name}/in/`;
  await h.store.putBytes(`${prefix}a.csv`, 'a\n1\n');
  const schedules = await applyOnHarness(t, name, [
    'triggers:',
    `  - newData: {path: "${prefix}", debounce: 1s, pollInterval: 1s}`,
  ]);
  const watcherId = watcherIdFor(name, prefix);

  const { page, errors } = await openPage(browser);
  await page.goto(`${ui.url}/#/schedules`);
  const row = (paused: boolean) => page.locator(`tr[data-watcher="${watcherId}"][data-paused="${paused}"]`);
  await row(false).waitFor({ timeout: 30_000 });
  await row(false).locator('button[data-action="pause"]').click();
  // The confirmation names what the action reaches: this pipeline's watcher, by its prefix.
  await page.locator('dialog.confirm', { hasText: prefix }).waitFor();
  await screenshot(page, 'watcher-pause-confirm');
  await page.locator('dialog.confirm [data-action="confirm"]').click();
  await row(true).waitFor({ timeout: 30_000 });
  assert.deepEqual((await schedules.watchers.status(watcherId)).paused, { note: 'paused from fineflow ui' });

  // A manual trigger runs even while paused: the version the prefix holds now.
  await row(true).locator('button[data-action="trigger"]').click();
  await page.locator('dialog.confirm', { hasText: 'runs the dataset version its prefix holds now' }).waitFor();
  await page.locator('dialog.confirm [data-action="confirm"]').click();
  const runLink = row(true).locator('a[href^="#/runs/"]');
  await runLink.waitFor({ timeout: 30_000 });
  const runId = decodeURIComponent(((await runLink.getAttribute('href')) ?? '').replace('#/runs/', ''));
  assert.equal((await h.runs.result(runId)).status, 'succeeded');

  await row(true).locator('button[data-action="unpause"]').click();
  await page.locator('dialog.confirm [data-action="confirm"]').click();
  await row(false).waitFor({ timeout: 30_000 });
  assert.equal((await schedules.watchers.status(watcherId)).paused, undefined);
  await screenshot(page, 'watchers');
  assert.deepEqual(errors, []);
  await page.context().close();

  // Read-only: no action buttons, and the server refuses an action even with the page's CSRF token.
  const readOnly = await startUiFor(h, { readOnly: true });
  try {
    const { page: viewer } = await openPage(browser);
    await viewer.goto(`${readOnly.url}/#/schedules`);
    await viewer.locator(`tr[data-watcher="${watcherId}"]`).waitFor({ timeout: 30_000 });
    assert.equal(await viewer.locator(`tr[data-watcher="${watcherId}"] button`).count(), 0);
    const csrf = (await viewer.locator('meta[name="fineflow-csrf"]').getAttribute('content')) ?? '';
    assert.ok(csrf.length > 0);
    // One anonymous function per call: the page runs it as text, without the test's module helpers.
    const pause = (token: string): Promise<number> =>
      viewer.evaluate(
        ([pipeline, header]) =>
          fetch(`/api/schedules/${pipeline}/pause`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'X-Fineflow-Csrf': header },
            body: '{}',
          }).then((response) => response.status),
        [name, token] as const,
      );
    const refused = { withToken: await pause(csrf), withoutToken: await pause('') };
    assert.deepEqual(refused, { withToken: 403, withoutToken: 403 });
    assert.equal((await schedules.watchers.status(watcherId)).paused, undefined, 'still unpaused');
    await viewer.context().close();
  } finally {
    await readOnly.close();
  }
});
