/**
 * A model version's page says what each number measures and which stage of which run measured it: the evaluate
 * stage's test metrics (accuracy, F1, the test set's size, per class), the one whose metrics the register stage put
 * on the card, not another evaluate stage of the run (a baseline's), beside the fine-tune stage's training and
 * validation metrics. The lineage's boxes are links (dataset version, run, stage, base model) that Tab reaches.
 * Served by the real UI server from an in-memory registry; the run's plan comes from a recorded start event and its
 * state from the run client's answer, as Temporal gives them. Light and dark, 390 and 1280 px.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/model-measures.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { sealDatasetVersion } from '../../src/datasets/version-store';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { makePlan } from '../fixtures/runtime/plans';
import { closeBrowserUi, recordedRunsClient, startBrowserUi } from './browser-ui';
import { manualRun, succeededStage } from './run-fixtures';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const BUCKET = 'fineflow';
const MODEL = 'surface-defects';
const RUN = 'defect-detection-20261206-084900-q151';
const PREFIX = 's3://datasets/defects/';
let browser: Browser;
let ui: RunningUi;
let datasetVersion = '';

const TEST_METRICS = {
  count: 96,
  accuracy: 0.9375,
  f1: 0.9361,
  logLoss: 0.21,
  perClass: {
    ok: { precision: 0.96, recall: 0.92, f1: 0.9388, support: 50 },
    scratch: { precision: 0.9167, recall: 0.9565, f1: 0.9362, support: 46 },
    // A perfect score reads with the decimals of the rest, not as "1" (a count, at a glance).
    spot: { precision: 1, recall: 1, f1: 1, support: 4 },
  },
};
const BASELINE_METRICS = { count: 96, accuracy: 0.61, f1: 0.5 };

before(async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET, 'datasets'] });
  await store.putBytes(`${PREFIX}ok/1.png`, 'one');
  datasetVersion = (await sealDatasetVersion(store, BUCKET, PREFIX, { createdBy: 'data push' })).id;
  await store.putJson(`s3://${BUCKET}/models/${MODEL}/1/card.json`, {
    name: MODEL,
    version: 1,
    createdAt: '2026-12-06T08:55:00.000Z',
    source: `s3://${BUCKET}/runs/${RUN}/finetune/model/model.json`,
    lineage: {
      dataset: `s3://${BUCKET}/runs/${RUN}/prepare/dataset/manifest.json`,
      datasetVersion,
      baseModel: 'registry://surface-base@2',
      trainedInRun: RUN,
      trainedByStage: 'finetune',
      runId: RUN,
      stage: 'register',
    },
    // What register-model writes: the training record's metrics and the evaluate stage's, flattened into one list.
    metrics: {
      'train.loss': 0.12,
      'train.accuracy': 0.97,
      'validation.loss': 0.19,
      'validation.accuracy': 0.95,
      weightsEpoch: 7,
      count: 96,
      accuracy: 0.9375,
      f1: 0.9361,
    },
  });
  const model = '${{ stages.finetune.outputs.model }}';
  const plan = makePlan('defect-detection', [
    { id: 'finetune', uses: 'fine-tune' },
    { id: 'evaluate-base', uses: 'evaluate', with: { model: 'registry://surface-base@2', split: 'test' } },
    { id: 'evaluate', uses: 'evaluate', with: { model, split: 'test' }, needs: ['finetune'] },
    {
      id: 'register',
      uses: 'register-model',
      with: { model, metrics: '${{ stages.evaluate.outputs.metrics }}' },
      needs: ['evaluate', 'finetune'],
    },
  ]);
  const state = manualRun({
    runId: RUN,
    startedAt: '2026-12-06T08:49:00.000Z',
    stages: [
      succeededStage('finetune', 'fine-tune', 'cpu', { model: `s3://${BUCKET}/runs/${RUN}/finetune/model/model.json` }),
      succeededStage('evaluate-base', 'evaluate', 'cpu', { passed: true, metrics: BASELINE_METRICS }),
      succeededStage('evaluate', 'evaluate', 'cpu', { passed: true, metrics: TEST_METRICS }),
      succeededStage('register', 'register-model', 'cpu', { version: 1 }),
    ],
  });
  // The run's plan comes from its recorded start, its state from the run client (browser-ui.ts).
  const runs = recordedRunsClient(plan, new Map([[RUN, state]]));
  ({ ui, browser } = await startBrowserUi({ runs, store, bucket: BUCKET }));
});
after(() => closeBrowserUi({ ui, browser }));

for (const width of [390, 1280])
  for (const colorScheme of ['light', 'dark'] as const) {
    test(`a model version shows its evaluation's test metrics and its training metrics, each by its stage (${width}, ${colorScheme})`, async () => {
      const { page, errors } = await openPage(browser, colorScheme, { width, height: 900 });
      try {
        await page.goto(`${ui.url}/#/models/${MODEL}`);
        const evaluation = page.locator('section.measure[data-kind="evaluation"]');
        await evaluation.waitFor();
        assert.equal(await evaluation.count(), 1, 'only the evaluate stage whose metrics the card carries');
        assert.equal(await evaluation.locator('h4').textContent(), 'Evaluation: test set metrics');
        assert.equal(
          (await evaluation.locator('p.byline').innerText()).replace(/\s+/g, ' '),
          `by evaluate stage evaluate of run ${RUN}; 96 test examples; gate passed`,
        );
        assert.equal(await evaluation.locator('p.byline a').getAttribute('href'), `#/runs/${RUN}?stage=evaluate`);
        const values = async (section: typeof evaluation): Promise<string[][]> =>
          section
            .locator('table.measures tbody tr')
            .evaluateAll((rows) => rows.map((row) => [...row.children].map((cell) => cell.textContent ?? '')));
        assert.deepEqual(await values(evaluation), [
          ['accuracy', '0.9375'],
          ['f1', '0.9361'],
          ['logLoss', '0.2100'],
        ]);
        assert.deepEqual(
          await evaluation
            .locator('table.per-class tbody tr')
            .evaluateAll((rows) => rows.map((row) => [...row.children].map((cell) => cell.textContent ?? ''))),
          [
            ['ok', '0.9600', '0.9200', '0.9388', '50'],
            ['scratch', '0.9167', '0.9565', '0.9362', '46'],
            ['spot', '1.0000', '1.0000', '1.0000', '4'],
          ],
        );
        // Every column of the per-class table on screen, none behind a sideways scroll inside its box.
        const perClass = await evaluation.locator('table.per-class').evaluate((table) => ({
          scroll: table.scrollWidth - table.clientWidth,
          right: table.getBoundingClientRect().right,
        }));
        assert.ok(perClass.scroll <= 0 && perClass.right <= width, `per-class table: ${JSON.stringify(perClass)}`);
        const training = page.locator('section.measure[data-kind="training"]');
        assert.equal(
          await training.locator('h4').textContent(),
          'Training: training and validation metrics of the saved weights (epoch 7)',
        );
        assert.match(
          await training.locator('p.byline').innerText(),
          new RegExp(`fine-tune stage finetune of run ${RUN}`),
        );
        assert.deepEqual(await values(training), [
          ['train.loss', '0.1200'],
          ['train.accuracy', '0.9700'],
          ['validation.loss', '0.1900'],
          ['validation.accuracy', '0.9500'],
        ]);

        // The lineage's boxes are links, in the order Tab reaches them; the model's own box is not.
        await page.locator(`svg.lineage a[href^="#/datasets/"]`).waitFor();
        const links = await page
          .locator('svg.lineage a.lineage-link')
          .evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.getAttribute('aria-label')]));
        assert.deepEqual(links, [
          ['#/models/surface-base', 'base model surface-base@2'],
          [`#/datasets/${encodeURIComponent(PREFIX)}/${datasetVersion}`, `dataset version ${datasetVersion}`],
          [`#/runs/${RUN}`, `run ${RUN}`],
          [`#/runs/${RUN}?stage=finetune`, `stage finetune of run ${RUN}`],
        ]);
        assert.equal(await page.locator('svg.lineage g.node.no-link').count(), 1, 'the model itself');
        assert.equal(await page.locator('svg.lineage [tabindex="0"], svg.lineage [role="button"]').count(), 0);
        await screenshot(page, `model-measures-${width}-${colorScheme}`);
        // Enter on the dataset box opens the version's page.
        await page.locator('svg.lineage a[href^="#/datasets/"]').focus();
        await page.keyboard.press('Enter');
        await page.locator('.page.dataset-version dd[data-fact="version"]').waitFor();
        assert.equal(await page.locator('dd[data-fact="version"]').textContent(), datasetVersion);
        await assertNoSideScroll(page);
        assert.deepEqual(errors, []);
      } finally {
        await page.context().close();
      }
    });
  }
