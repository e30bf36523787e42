/**
 * Compare at 1280 px on two evaluated runs, served by the real UI server (the run client answers `state` only) and
 * drawn by the real app in Chromium. The demo's two runs gave 70 metric rows, most of them every `perClass.*` and
 * `intervals.*` number, and the headline metrics were lost among them. Now the headline metrics come first, each long
 * family sits in a collapsed section that says how many rows it holds and how many differ, every metric can still be
 * opened, and "only rows that differ" leaves exactly the rows whose values are not the same for every run. Light and
 * dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/compare-metric-groups.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { newRunId } from '../../src/client/run-client';
import type { RunState } from '../../src/core/run/run-types';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startRunStatesUi } from './browser-ui';
import { manualRun, succeededStage } from './run-fixtures';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const at = new Date('2026-12-06T08:01:21Z');
const IDS = [
  newRunId('quickstart', at, () => 'yn0l'),
  newRunId('pretrain', new Date(at.getTime() + 60_000), () => 'q7c2'),
];
const CLASSES = ['crack', 'dent', 'scratch', 'stain', 'hole', 'none'];
const INTERVAL_METRICS = ['accuracy', 'f1', 'rocAuc', 'calibrationError', 'logLoss'];

/** The demo's evaluate outputs, in shape: headline numbers, 6 classes × 4 numbers, 5 intervals × low and high. */
function stateOf(runId: string, index: number): RunState {
  const perClass = Object.fromEntries(
    CLASSES.map((name, c) => [
      name,
      // Only the first class's precision differs between the runs; support never does.
      { precision: c === 0 ? 0.5 + index / 10 : 0.9, recall: 0.8, f1: 0.85, support: 20 },
    ]),
  );
  const intervals = Object.fromEntries(
    INTERVAL_METRICS.map((name, m) => [name, { low: m === 0 ? 0.7 + index / 10 : 0.1, high: 0.95 }]),
  );
  return manualRun({
    runId,
    startedAt: at.toISOString(),
    endedAt: new Date(at.getTime() + 95_000).toISOString(),
    params: { epochs: 4 },
    stages: [
      // A small nested family (a fine-tune's last validation numbers) stays among the headline rows.
      succeededStage('finetune', 'fine-tune', 'train', {
        metrics: {
          bestEpoch: 3 + index,
          accuracy: 0.3 + index / 2,
          validation: { loss: 0.4, accuracy: 0.8 },
          // The demo's long camel-case names: at 390 px they broke inside a word ("samplesPerS" / "econd").
          samplesPerSecond: 5266,
          epochsTrained: 20,
        },
      }),
      succeededStage('evaluate', 'evaluate', 'cpu', {
        passed: true,
        metrics: { count: 120, accuracy: 0.3 + index / 2, f1: 0.25 + index / 2, logLoss: 1.2, perClass, intervals },
      }),
    ],
  });
}

const HEADLINE = [
  'finetune.validation.loss',
  'finetune.validation.accuracy',
  'finetune.bestEpoch',
  'finetune.accuracy',
  'finetune.samplesPerSecond',
  'finetune.epochsTrained',
  'evaluate.count',
  'evaluate.accuracy',
  'evaluate.f1',
  'evaluate.logLoss',
];
const PER_CLASS = CLASSES.flatMap((c) =>
  ['precision', 'recall', 'f1', 'support'].map((m) => `evaluate.perClass.${c}.${m}`),
);
const INTERVALS = INTERVAL_METRICS.flatMap((m) => ['low', 'high'].map((end) => `evaluate.intervals.${m}.${end}`));
/** Rows whose values are not the same for both runs. */
const DIFFERING = [
  'finetune.bestEpoch',
  'finetune.accuracy',
  'evaluate.accuracy',
  'evaluate.f1',
  'evaluate.perClass.crack.precision',
  'evaluate.intervals.accuracy.low',
];

let browser: Browser;
let ui: RunningUi;

before(async () => {
  ({ ui, browser } = await startRunStatesUi(IDS.map(stateOf)));
});
after(() => closeBrowserUi({ ui, browser }));

/** The labels of the metric rows a user can see (the row's text, without the line-break hints). */
async function visibleMetricRows(page: Page): Promise<string[]> {
  const labels = (await page.evaluate(`[...document.querySelectorAll('table.compare tbody tr')]
    .filter((row) => row.getClientRects().length > 0 && row.querySelector('th[scope="row"]'))
    .map((row) => row.querySelector('th[scope="row"]').textContent)`)) as string[];
  return labels.filter((label) => /^(finetune|evaluate)\./.test(label));
}

for (const colorScheme of ['light', 'dark'] as const) {
  test(`compare at 1280 px (and 390): headline metrics first, long families collapsed and counted, differing rows found (${colorScheme})`, async () => {
    const { page, errors } = await openPage(browser, colorScheme, { width: 1280, height: 900 });
    try {
      await page.goto(`${ui.url}/#/compare?runs=${IDS.join(',')}`);
      await page.locator('table.compare tbody th', { hasText: 'evaluate.accuracy' }).first().waitFor();
      await screenshot(page, `compare-groups-1280-${colorScheme}`);
      assert.deepEqual(
        (await visibleMetricRows(page)).sort(),
        [...HEADLINE].sort(),
        'only the headline metrics show at first',
      );

      const perClass = page.getByRole('button', { name: /Per-class metrics \(24 rows, 1 differs\)/ });
      const intervals = page.getByRole('button', { name: /Confidence intervals \(10 rows, 1 differs\)/ });
      assert.equal(await perClass.getAttribute('aria-expanded'), 'false');
      await perClass.click();
      assert.equal(await perClass.getAttribute('aria-expanded'), 'true');
      assert.deepEqual(
        (await visibleMetricRows(page)).sort(),
        [...HEADLINE, ...PER_CLASS].sort(),
        'per-class rows open',
      );
      await intervals.click();
      // Every metric can be reached.
      assert.deepEqual(
        (await visibleMetricRows(page)).sort(),
        [...HEADLINE, ...PER_CLASS, ...INTERVALS].sort(),
        'every metric reachable',
      );
      await screenshot(page, `compare-groups-1280-open-${colorScheme}`);

      // Only rows that differ: the differing rows of every section, opened or not.
      await perClass.click();
      await intervals.click();
      await page.getByLabel('Only rows that differ').check();
      assert.deepEqual((await visibleMetricRows(page)).sort(), [...DIFFERING].sort(), 'only the differing rows');
      await screenshot(page, `compare-groups-1280-differ-${colorScheme}`);
      await page.getByLabel('Only rows that differ').uncheck();
      assert.deepEqual((await visibleMetricRows(page)).sort(), [...HEADLINE].sort(), 'back to the headline rows');

      // On a phone the sections' buttons stay on screen, whole, and nothing scrolls the page sideways.
      await page.setViewportSize({ width: 390, height: 844 });
      await perClass.click();
      await screenshot(page, `compare-groups-390-${colorScheme}`);
      await assertNoSideScroll(page);
      // A row's label breaks only after a dot or between the words of a camel-case name, never inside a word: each
      // piece between those points (its own text node) is on one line.
      const broken = (await page.evaluate(`[...document.querySelectorAll('table.compare tbody th[scope="row"]')]
        .filter((th) => th.getClientRects().length > 0)
        .flatMap((th) => {
          const pieces = [];
          const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (node.parentElement.closest('.sr-only')) continue;
            const range = document.createRange();
            range.selectNodeContents(node);
            const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
            if (tops.size > 1) pieces.push(th.textContent + ': "' + node.textContent + '"');
          }
          return pieces;
        })`)) as string[];
      assert.deepEqual(broken, [], 'labels broken inside a word');
      for (const button of [perClass, intervals]) {
        const box = await button.boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${await button.textContent()} is off screen`);
      }
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
}
