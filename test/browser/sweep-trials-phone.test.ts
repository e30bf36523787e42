/**
 * A sweep's trials on a 390 px phone: the best trial and the summary first, then the trials as a dense table (one
 * line a trial: ★, id, state, objective) that its heads sort, each trial's epochs and params behind a tap; the
 * charts after. The page was 24 trial cards, one under another, 5,400 px long. At 1280 px the table keeps its columns
 * (now sortable) and shows no toggle. The sweep view is the app's own module, bundled as the page loads it.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/sweep-trials-phone.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { trialTableFromResults } from '../../src/client/sweep-trial-table';
import type { SweepResultsDocument } from '../../src/core/sweep/sweep-results';
import { chartPage, usePageModule } from './web-page';
import { assertNoSideScroll } from './page-layout';
import { screenshot } from '../e2e/helpers/ui-browser';

const web = usePageModule('./pages/sweep-view', ['sweepView']);

const TRIALS = 24;
const BEST = 8;
/** 24 trials as the seeded shapes sweep leaves them: ASHA stopped most after an epoch; trial 8 the best. */
const sweep: SweepResultsDocument = {
  format: 'fineflow-sweep-results/v1',
  outcome: 'completed',
  metric: 'validation.accuracy',
  goal: 'maximize',
  algorithm: 'random',
  earlyStopping: 'asha',
  rungEpochs: [1, 3, 9],
  bestTrialId: BEST,
  segments: [],
  rows: Array.from({ length: TRIALS }, (_, trialId) => ({
    trialId,
    params: {
      learningRate: 0.0001 * (trialId + 1),
      batchSize: trialId % 2 ? 16 : 32,
      dropout: (trialId % 5) / 10,
      optimizer: trialId % 3 ? 'adam' : 'sgd',
      unfreezeLayers: trialId % 4,
    },
    status: trialId === BEST || trialId % 6 === 0 ? 'completed' : 'stopped',
    value: trialId === BEST ? 0.9556 : 0.5 + ((trialId * 7) % 23) / 100,
    epochs: trialId === BEST || trialId % 6 === 0 ? 9 : 1,
    metricByEpoch: [],
    ...(trialId !== BEST && trialId % 6 !== 0 ? { stopReason: 'rung 0' } : {}),
  })),
};

async function drawn(width: number, colorScheme: 'light' | 'dark'): Promise<Page> {
  const page = await chartPage(web.browser, web.script, {
    body: '<section class="stage-panel" id="box"></section>',
    colorScheme,
    viewport: { width, height: 844 },
  });
  await page.evaluate(
    `document.getElementById('box').append(...sweepView(${JSON.stringify(trialTableFromResults('sweep', sweep))}, []).filter(Boolean))`,
  );
  return page;
}

const top = (page: Page, selector: string): Promise<number> =>
  page
    .locator(selector)
    .first()
    .evaluate((element) => element.getBoundingClientRect().top);
const trialOrder = (page: Page): Promise<string[]> =>
  page.locator('table.trials tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-trial') ?? ''));

for (const colorScheme of ['light', 'dark'] as const)
  test(`on a 390 px phone the best trial comes first and the trials are one line each, details behind a tap (${colorScheme})`, async () => {
    const page = await drawn(390, colorScheme);
    try {
      // Summary, then the best trial with its objective and every param, then the table, then the charts.
      const best = page.locator('section.best-trial');
      assert.equal(await best.locator('h4').textContent(), `★ Best trial ${BEST}`);
      const facts = await best.locator('dt').allTextContents();
      assert.deepEqual(facts, [
        'validation.accuracy ↑',
        'epochs',
        'batchSize',
        'dropout',
        'learningRate',
        'optimizer',
        'unfreezeLayers',
      ]);
      assert.equal(await best.locator('dd').first().textContent(), '0.9556');
      const summary = await top(page, 'p.muted');
      const [bestTop, tableTop, chartsTop] = await Promise.all([
        top(page, 'section.best-trial'),
        top(page, 'table.trials'),
        top(page, '.charts'),
      ]);
      assert.ok(summary < bestTop && bestTop < tableTop && tableTop < chartsTop, 'summary, best trial, table, charts');

      // One line a trial: 24 of them fit in about two screens, not 5,400 px.
      const heights = await page
        .locator('table.trials tbody tr')
        .evaluateAll((rows) => rows.map((row) => Math.round(row.getBoundingClientRect().height)));
      assert.equal(heights.length, TRIALS);
      assert.ok(Math.max(...heights) <= 40, `a trial's row is one line (${Math.max(...heights)} px)`);
      assert.equal(await page.locator('table.trials tbody td.param:visible').count(), 0, 'params behind the tap');
      const line = await page
        .locator(`table.trials tr[data-trial="${BEST}"] td:visible`)
        .evaluateAll((cells) => cells.map((cell) => (cell.textContent ?? '').trim()));
      assert.deepEqual(line, ['★', String(BEST), 'finished', '0.9556', '▸']);
      await screenshot(page, `sweep-trials-390-${colorScheme}`);

      // A tap shows that trial's epochs and params, each after its name; a second tap hides them.
      const row = page.locator('table.trials tr[data-trial="3"]');
      const toggle = row.locator('button.more-toggle');
      await toggle.click();
      assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
      const details = await row
        .locator('td.param:visible, td.epochs:visible')
        .evaluateAll((cells) => cells.map((cell) => `${cell.getAttribute('data-label')}: ${cell.textContent}`));
      // Each after its name (styles.css writes the label before the value).
      const label = await page.evaluate(
        `getComputedStyle(document.querySelector('table.trials tr[data-trial="3"] td.param'), '::before').content`,
      );
      assert.equal(label, '"batchSize: "', 'the label before the value');
      assert.deepEqual(details, [
        'Epochs: 1',
        'batchSize: 16',
        'dropout: 0.3000',
        'learningRate: 0.0004000',
        'optimizer: sgd',
        'unfreezeLayers: 3',
      ]);
      await screenshot(page, `sweep-trials-390-open-${colorScheme}`);
      await toggle.click();
      assert.equal(await row.locator('td.param:visible').count(), 0);

      // The objective's head sorts best first, a second press worst first; Trial sorts back by id.
      await page.locator('table.trials th button[data-sort="objective"]').click();
      assert.equal((await trialOrder(page))[0], String(BEST));
      assert.equal(
        await page.locator('table.trials th.objective').getAttribute('aria-sort'),
        'descending',
        'a maximised objective, best first',
      );
      await page.locator('table.trials th button[data-sort="objective"]').click();
      assert.equal((await trialOrder(page)).at(-1), String(BEST));
      await page.locator('table.trials th button[data-sort="trial"]').click();
      assert.deepEqual(
        await trialOrder(page),
        Array.from({ length: TRIALS }, (_, i) => String(i)),
      );
      await assertNoSideScroll(page);
    } finally {
      await page.context().close();
    }
  });

test('at 1280 px the trials keep their columns, sortable, with no toggle', async () => {
  const page = await drawn(1280, 'light');
  try {
    const heads = await page.locator('table.trials thead th:visible').allTextContents();
    assert.deepEqual(heads, [
      '',
      'Trial',
      'State',
      'Epochs',
      'validation.accuracy ↑',
      'batchSize',
      'dropout',
      'learningRate',
      'optimizer',
      'unfreezeLayers',
    ]);
    assert.equal(await page.locator('table.trials button.more-toggle:visible').count(), 0);
    await page.locator('table.trials th button[data-sort="epochs"]').click();
    assert.equal(await page.locator('table.trials th.epochs').getAttribute('aria-sort'), 'ascending');
    await screenshot(page, 'sweep-trials-1280-light');
    await assertNoSideScroll(page);
  } finally {
    await page.context().close();
  }
});
