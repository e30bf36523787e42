/**
 * A model's versions table compares versions by what a reader compares them by: the evaluate stage's test accuracy,
 * F1 and gate verdict (the verdict read from the registering run), and for a version no evaluate stage scored, the
 * saved weights' validation metrics (then shown for every version, so all rows compare on them); each column under what it measures, in the words of the page's Metrics section.
 * The table showed the card's first six metric names, unlabelled: train.loss, train.accuracy, … weightsEpoch,
 * bestEpoch. Served by the real UI server from an in-memory registry; each run's plan comes from a recorded start
 * event and its state from the run client's answer. 390 px (one card per version) and 1280 px, light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/model-version-columns.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { RunState } from '../../src/core/run/run-types';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, recordedRunsClient, startBrowserUi } from './browser-ui';
import { manualRun, registeringPlan, succeededStage } from './run-fixtures';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertCards, assertNoSideScroll } from './page-layout';

const BUCKET = 'fineflow';
const MODEL = 'line-b-defects';
/** What a fine-tune stage's training record puts on every card, first in its metric list. */
const TRAINING = (validationAccuracy: number) => ({
  'train.loss': 0.11,
  'train.accuracy': 0.99,
  'validation.loss': 0.3,
  'validation.accuracy': validationAccuracy,
  weightsEpoch: 6,
  bestEpoch: 6,
  epochs: 9,
  trainSeconds: 4.2,
});
/** Version → the run that registered it and what its evaluate stage said (version 1 predates an evaluate stage). */
const REGISTERED = [
  { version: 1, run: undefined, metrics: TRAINING(0.9) },
  {
    version: 2,
    run: 'quickstart-20261207-080000-a002',
    passed: true,
    metrics: { ...TRAINING(0.92), accuracy: 0.875, f1: 0.8712, count: 80 },
  },
  {
    version: 3,
    run: 'quickstart-20261207-090000-a003',
    passed: false,
    metrics: { ...TRAINING(0.95), accuracy: 0.8125, f1: 0.79, count: 80 },
  },
];

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  const plan = registeringPlan('quickstart');
  const states = new Map<string, RunState>();
  for (const { version, run, passed, metrics } of REGISTERED) {
    await store.putJson(`s3://${BUCKET}/models/${MODEL}/${version}/card.json`, {
      name: MODEL,
      version,
      createdAt: `2026-12-0${version + 3}T08:55:00.000Z`,
      source: `s3://${BUCKET}/runs/r${version}/finetune/model/model.json`,
      lineage: run ? { runId: run, stage: 'register', trainedInRun: run, trainedByStage: 'finetune' } : {},
      metrics,
    });
    if (run)
      states.set(
        run,
        manualRun({
          runId: run,
          startedAt: '2026-12-07T08:00:00.000Z',
          stages: [
            succeededStage('finetune', 'fine-tune', 'cpu', {}),
            succeededStage('evaluate', 'evaluate', 'cpu', {
              passed: passed ?? false,
              metrics: { accuracy: metrics.accuracy ?? 0 },
            }),
            succeededStage('register', 'register-model', 'cpu', { version }),
          ],
        }),
      );
  }
  // Each run's plan comes from its recorded start, its state from the run client (browser-ui.ts).
  const runs = recordedRunsClient(plan, states);
  ({ ui, browser } = await startBrowserUi({ runs, store, bucket: BUCKET }));
});
after(() => closeBrowserUi({ ui, browser }));

for (const width of [390, 1280])
  for (const colorScheme of ['light', 'dark'] as const) {
    test(`a model's versions are compared by test accuracy, F1, gate or validation metrics, each labelled (${width}, ${colorScheme})`, async () => {
      const { page, errors } = await openPage(browser, colorScheme, { width, height: 900 });
      try {
        await page.goto(`${ui.url}/#/models/${MODEL}`);
        // The gates are read from the registering runs after the table is drawn.
        await page.locator('tr[data-version="2"] td.gate .verdict').waitFor();
        await page.locator('tr[data-version="3"] td.gate .verdict').waitFor();
        const groups = await page.locator('table.cards thead th.group').allTextContents();
        assert.deepEqual(groups, [
          'Evaluation: test set metrics',
          'Training: training and validation metrics of the saved weights',
        ]);
        // The Metrics section heads the same numbers with the same words.
        const sectionHead = await page.locator('section.measure[data-kind="evaluation"] h4').textContent();
        assert.equal(sectionHead, groups[0]);
        assert.ok(
          (await page.locator('section.measure[data-kind="training"] h4').textContent())?.startsWith(groups[1] ?? '?'),
        );
        const heads = await page.locator('table.cards thead tr:nth-child(2) th').allTextContents();
        assert.deepEqual(heads, ['accuracy', 'f1', 'gate', 'validation.accuracy', 'validation.loss']);
        const row = async (version: number): Promise<Record<string, string>> =>
          Object.fromEntries(
            await page
              .locator(`tr[data-version="${version}"] td[data-label]`)
              .evaluateAll((cells) =>
                cells.map((cell) => [cell.getAttribute('data-label') ?? '', (cell.textContent ?? '').trim()]),
              ),
          );
        const metricsOf = (cells: Record<string, string>): string[] =>
          ['test accuracy', 'test f1', 'gate', 'validation.accuracy', 'validation.loss'].map((l) => cells[l] ?? '?');
        assert.deepEqual(metricsOf(await row(3)), ['0.8125', '0.7900', 'not passed', '0.9500', '0.3000']);
        assert.deepEqual(metricsOf(await row(2)), ['0.8750', '0.8712', 'passed', '0.9200', '0.3000']);
        assert.deepEqual(metricsOf(await row(1)), ['', '', '', '0.9000', '0.3000']);
        // No training bookkeeping among the columns.
        for (const name of ['train.loss', 'weightsEpoch', 'bestEpoch'])
          assert.equal(await page.locator(`table.cards td[data-label="${name}"]`).count(), 0, name);
        if (width === 390) await assertCards(page, 'tr[data-version]', 3);
        else await assertNoSideScroll(page);
        await screenshot(page, `model-version-columns-${width}-${colorScheme}`);
        assert.deepEqual(errors, []);
      } finally {
        await page.context().close();
      }
    });
  }
