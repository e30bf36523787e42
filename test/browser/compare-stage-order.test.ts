/**
 * Compare two runs of different pipelines, served by the real UI server (the run client answers `state` only) and
 * drawn by the real app in Chromium. The metric rows come in the pipelines' stage order (prepare, fine-tune, evaluate),
 * not by name (evaluate before finetune); a row whose values differ between the runs that have it is marked ≠, a row
 * only some runs have is marked as such and not as a difference (two different pipelines marked almost every row ≠),
 * and "Only rows that differ" says which rows it keeps and keeps exactly those. Light and dark, 1280 and 390 px.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/compare-stage-order.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { RunClient } from '../../src/client/run-client';
import type { RunState } from '../../src/core/run/run-types';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const QUICKSTART = 'quickstart-20261206-080121-yn0l';
const PRETRAIN = 'pretrain-surface-20261206-080221-q7c2';

function stage(id: string, uses: string, metrics: Record<string, unknown>): RunState['stages'][number] {
  return {
    id,
    uses,
    pool: 'cpu',
    status: 'succeeded',
    attempts: 1,
    outputs: { metrics },
  } as RunState['stages'][number];
}

/** Two pipelines that share prepare and evaluate; each has one training stage the other lacks. */
const STATES: Record<string, RunState> = {
  [QUICKSTART]: {
    runId: QUICKSTART,
    pipeline: 'quickstart',
    status: 'succeeded',
    trigger: { kind: 'manual' },
    startedAt: '2026-12-06T08:01:21.000Z',
    params: { epochs: 4, dataset: 's3://datasets/surface-cast/', minAccuracy: 0.6 },
    // The DAG order: the names' order (evaluate, finetune, prepare) is not it.
    stages: [
      stage('prepare', 'prepare-data', { rows: 600, droppedDuplicates: 3 }),
      stage('finetune', 'fine-tune', { accuracy: 0.82, bestEpoch: 3 }),
      stage('evaluate', 'evaluate', {
        accuracy: 0.85,
        f1: 0.84,
        perClass: { crack: { precision: 0.9 }, dent: { precision: 0.8 } },
      }),
    ],
  } as RunState,
  [PRETRAIN]: {
    runId: PRETRAIN,
    pipeline: 'pretrain-surface',
    status: 'succeeded',
    trigger: { kind: 'manual' },
    startedAt: '2026-12-06T08:02:21.000Z',
    params: { epochs: 4, width: 32, dataset: 's3://datasets/surface-brushed/' },
    stages: [
      stage('prepare', 'prepare-data', { rows: 600, droppedDuplicates: 5 }),
      stage('pretrain', 'fine-tune', { accuracy: 0.3 }),
      stage('evaluate', 'evaluate', {
        accuracy: 0.3,
        f1: 0.84,
        perClass: { crack: { precision: 0.9 }, scratch: { precision: 0.4 } },
      }),
    ],
  } as RunState,
};

/** Values that differ between the runs; rows only one run has; rows the same in both (document order). */
const DIFFER = ['param dataset', 'prepare.droppedDuplicates', 'evaluate.accuracy'];
const ONLY_SOME = [
  'param minAccuracy',
  'param width',
  'finetune.accuracy',
  'finetune.bestEpoch',
  'pretrain.accuracy',
  'evaluate.perClass.dent.precision',
  'evaluate.perClass.scratch.precision',
];
const SAME = ['param epochs', 'prepare.rows', 'evaluate.f1', 'evaluate.perClass.crack.precision'];

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const runs: Pick<RunClient, 'state'> = {
    state: async (runId: string) => {
      const state = STATES[runId];
      if (!state) throw new Error(`no run ${runId}`);
      return state;
    },
  };
  const store = createMemoryObjectStore({ buckets: ['fineflow'] });
  ({ ui, browser } = await startBrowserUi({ runs, store, bucket: 'fineflow' }));
});
after(() => closeBrowserUi({ ui, browser }));

interface Row {
  readonly label: string;
  readonly shown: boolean;
  /** The mark after the label as a screen reader reads it (CSS content's alt text), '' for none. */
  readonly mark: string;
}

/** Every value row of the compare table (sections' rows included, open or not), in document order. */
async function rows(page: Page): Promise<Row[]> {
  return (await page.evaluate(`[...document.querySelectorAll('table.compare tr.value-row')].map((row) => {
    const th = row.querySelector('th[scope="row"]');
    const after = getComputedStyle(th, '::after').content;
    const alt = /\\/\\s*"([^"]*)"\\s*$/.exec(after);
    return {
      label: th.textContent,
      shown: row.getClientRects().length > 0,
      mark: after === 'none' || after === 'normal' ? '' : alt ? alt[1] : after,
    };
  })`)) as Row[];
}

const stageOf = (label: string): string => label.split('.')[0] ?? '';

for (const colorScheme of ['light', 'dark'] as const)
  test(`compare two pipelines: rows in stage order, "differs" told from "only in some runs" (${colorScheme})`, async () => {
    const { page, errors } = await openPage(browser, colorScheme, { width: 1280, height: 900 });
    try {
      await page.goto(`${ui.url}/#/compare?runs=${QUICKSTART},${PRETRAIN}`);
      await page.locator('table.compare tr.value-row').first().waitFor();
      for (const button of await page.locator('button.family-toggle').all()) await button.click();
      await screenshot(page, `compare-stage-order-1280-${colorScheme}`);
      const all = await rows(page);

      // Stage order: every prepare row before every training row, every training row before every evaluate row.
      const metricStages = all.map((r) => r.label).filter((label) => !label.startsWith('param '));
      const rank = (label: string): number =>
        ({ prepare: 0, finetune: 1, pretrain: 1, evaluate: 2 })[stageOf(label)] ?? -1;
      const ranks = metricStages.map(rank);
      assert.deepEqual(
        ranks,
        [...ranks].sort((a, b) => a - b),
        `rows not in the pipelines' stage order: ${metricStages.join(', ')}`,
      );

      // Marks: ≠ for values that differ where present; a different one for a row only some runs have.
      const byLabel = new Map(all.map((r) => [r.label, r]));
      const markOf = (label: string): string => {
        const row = byLabel.get(label);
        assert.ok(row, `no row ${label} in ${[...byLabel.keys()].join(', ')}`);
        return row.mark;
      };
      for (const label of DIFFER) assert.match(markOf(label), /values differ/, `${label} is marked as differing`);
      for (const label of ONLY_SOME)
        assert.match(
          markOf(label),
          /only in some runs/,
          `${label} is marked as only in some runs, not as a difference`,
        );
      for (const label of SAME) assert.equal(markOf(label), '', `${label} has the same value in both runs`);
      // The run's own rows: two pipelines are a difference (it was never marked); equal statuses are not.
      const headMarks = (await page.evaluate(`Object.fromEntries(['status', 'pipeline'].map((label) => {
        const th = [...document.querySelectorAll('table.compare th[scope="row"]')].find((t) => t.textContent === label);
        const after = th ? getComputedStyle(th, '::after').content : 'missing';
        return [label, after === 'none' || after === 'normal' ? '' : after];
      }))`)) as Record<string, string>;
      assert.match(headMarks.pipeline ?? '', /values differ/, 'the pipeline row is marked ≠ for two pipelines');
      assert.equal(headMarks.status, '', 'both runs succeeded: the status row is not marked');
      // Each run's status badge reads its status (a badge drawn through `map` read its column's index: 0, 1).
      const statusRow = page.locator('table.compare tr', { has: page.locator('th[scope="row"]:text-is("status")') });
      assert.deepEqual(await statusRow.locator('.badge').allInnerTexts(), ['succeeded', 'succeeded']);
      assert.match(
        (await page.locator('button.family-toggle').first().textContent()) ?? '',
        /3 rows, none differ, 2 only in some runs/,
      );

      // A param reads as written (as on the run page): the demo's dataset read "s3://…" in quotes, 0.6 read 0.6000.
      const cells = async (label: string): Promise<string[]> =>
        (await page.evaluate(`[...document.querySelectorAll('table.compare tr.value-row')]
          .filter((row) => row.querySelector('th').textContent === ${JSON.stringify(label)})
          .flatMap((row) => [...row.querySelectorAll('td')].map((td) => td.textContent))`)) as string[];
      assert.deepEqual(await cells('param dataset'), ['s3://datasets/surface-cast/', 's3://datasets/surface-brushed/']);
      assert.deepEqual(await cells('param minAccuracy'), ['0.6', '–']);

      // The filter says what it keeps, and keeps exactly that.
      const filter = page.locator('label[for="compare-only-differing"]');
      assert.match((await filter.textContent()) ?? '', /only in some runs/, 'the filter says what it does with those');
      await page.locator('#compare-only-differing').check();
      await screenshot(page, `compare-stage-order-1280-differ-${colorScheme}`);
      assert.deepEqual(
        (await rows(page)).filter((r) => r.shown).map((r) => r.label),
        DIFFER,
        'only the rows whose values differ',
      );

      await page.setViewportSize({ width: 390, height: 844 });
      await page.locator('#compare-only-differing').uncheck();
      await screenshot(page, `compare-stage-order-390-${colorScheme}`);
      await assertNoSideScroll(page);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
