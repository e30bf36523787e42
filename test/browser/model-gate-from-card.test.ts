/**
 * A model's gate verdicts come from the model cards: register-model records each evaluation's verdict, reasons and
 * numbers on the card, so the versions table shows the gate of every version, old ones too, and of versions whose
 * registering run Temporal no longer has. The table read the verdict from the registering runs, one history read per
 * version for the newest 10 only ("not read" below them, "unknown" for a deleted run). A card written before cards
 * recorded it falls back to its run; with neither, the cell says "not recorded". Served by the real UI server from an
 * in-memory registry; 12 versions, all but one run gone. 390 and 1280 px.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/model-gate-from-card.test.ts
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
import { assertNoSideScroll } from './page-layout';

const BUCKET = 'fineflow';
const MODEL = 'gate-history';
const VERSIONS = 12;
/** A card from before cards recorded the gate, whose run is still there (the fallback), and one whose run is gone. */
const OLD_CARD_RUN_KEPT = 11;
const OLD_CARD_RUN_GONE = 10;
const runOf = (version: number): string => `gated-20261207-08${String(version).padStart(2, '0')}00-v${version}`;
const passes = (version: number): boolean => version % 5 !== 0;
const reasonOf = (version: number): string =>
  passes(version) ? `accuracy 0.9${version} >= min 0.9` : `accuracy 0.8${version} < min 0.9`;

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  for (let version = 1; version <= VERSIONS; version += 1) {
    const recorded = version !== OLD_CARD_RUN_KEPT && version !== OLD_CARD_RUN_GONE;
    await store.putJson(`s3://${BUCKET}/models/${MODEL}/${version}/card.json`, {
      name: MODEL,
      version,
      createdAt: `2026-12-07T08:${String(version).padStart(2, '0')}:00.000Z`,
      source: `s3://${BUCKET}/runs/${runOf(version)}/finetune/model/model.json`,
      lineage: { runId: runOf(version), stage: 'register' },
      metrics: { accuracy: 0.9, f1: 0.88, count: 80 },
      ...(recorded
        ? {
            evaluations: [
              {
                stage: 'evaluate',
                split: 'test',
                passed: passes(version),
                reasons: [reasonOf(version)],
                metrics: { accuracy: 0.9, f1: 0.88, count: 80 },
              },
            ],
          }
        : {}),
    });
  }
  const plan = registeringPlan('gated');
  // Only the run of the card that records no verdict is still in Temporal; every other one is gone.
  const kept = runOf(OLD_CARD_RUN_KEPT);
  const states = new Map<string, RunState>([
    [
      kept,
      manualRun({
        runId: kept,
        startedAt: '2026-12-07T08:00:00.000Z',
        stages: [
          succeededStage('finetune', 'fine-tune', 'cpu', {}),
          succeededStage('evaluate', 'evaluate', 'cpu', { passed: false, metrics: { accuracy: 0.9 } }),
          succeededStage('register', 'register-model', 'cpu', { version: OLD_CARD_RUN_KEPT }),
        ],
      }),
    ],
  ]);
  ({ ui, browser } = await startBrowserUi({ runs: recordedRunsClient(plan, states), store, bucket: BUCKET }));
});
after(() => closeBrowserUi({ ui, browser }));

for (const width of [390, 1280])
  test(`every version's gate is read from its card; an old card from its run, else "not recorded" (${width})`, async () => {
    const { page, errors } = await openPage(browser, 'light', { width, height: 900 });
    try {
      await page.goto(`${ui.url}/#/models/${MODEL}`);
      const verdict = (version: number) => page.locator(`tr[data-version="${version}"] td.gate .verdict`);
      // The fallback cells fill after a read of their runs; wait for them, the rest are drawn with the table.
      await verdict(OLD_CARD_RUN_KEPT).waitFor();
      await verdict(OLD_CARD_RUN_GONE).waitFor();
      for (let version = 1; version <= VERSIONS; version += 1) {
        const cell = verdict(version);
        if (version === OLD_CARD_RUN_KEPT) {
          assert.equal(await cell.textContent(), 'not passed', 'an old card: its run says');
          assert.equal(await cell.getAttribute('title'), 'by evaluate stage evaluate');
        } else if (version === OLD_CARD_RUN_GONE) {
          assert.equal(await cell.textContent(), 'not recorded', 'an old card whose run is gone');
          assert.match((await cell.getAttribute('title')) ?? '', /is no longer in Temporal/);
        } else {
          assert.equal(await cell.textContent(), passes(version) ? 'passed' : 'not passed', `version ${version}`);
          assert.equal(await cell.getAttribute('title'), `by evaluate stage evaluate: ${reasonOf(version)}`);
        }
      }
      assert.equal(await page.locator('td.gate', { hasText: /not read|unknown/ }).count(), 0);

      // The newest version's Metrics: its run is gone, and the card says which stage scored it, on which split, and
      // the gate's verdict with its reasons.
      const section = page.locator('section.measure[data-kind="evaluation"]');
      await section.waitFor();
      assert.equal(await section.locator('h4').textContent(), 'Evaluation: test set metrics');
      assert.equal(
        (await section.locator('p.byline').innerText()).replace(/\s+/g, ' '),
        `by evaluate stage evaluate of run ${runOf(VERSIONS)}, whose history is gone; recorded on the card by ` +
          `register stage register; 80 test examples; gate ${passes(VERSIONS) ? 'passed' : 'not passed'}`,
      );
      assert.equal(await section.locator('.gate-note').getAttribute('title'), reasonOf(VERSIONS));
      assert.match(
        (await page.locator('p.run-gone').textContent()) ?? '',
        /The card records its evaluation and gate verdict: they are below/,
      );
      await assertNoSideScroll(page);
      await screenshot(page, `model-gate-from-card-${width}`);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
