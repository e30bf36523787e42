/**
 * The sweep view's trial states (promotion-based ASHA): a trial the sweep ended while it was paused reads as
 * `stopped-while-paused` in the summary and the table, as `fineflow status` prints it, not as `pruned`; and the
 * trials plot has a key whose every entry is drawn like the plot's lines of that state. On a 390 px phone each trial
 * is a card, its state one word on one line, not "stopped-/while-/paused", and nothing scrolls sideways.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/sweep-trial-states.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trialTableFromResults, trialTableFromStatus } from '../../src/client/sweep-trial-table';
import { withTrialAttempts } from '../../src/client/trial-attempts';
import type { SweepResultsDocument } from '../../src/core/sweep/sweep-results';
import { chartPage, usePageModule } from './web-page';
import { assertNoSideScroll } from './page-layout';
import { screenshot } from '../e2e/helpers/ui-browser';

const web = usePageModule('./pages/sweep-view', ['sweepView']);

const PAUSED_AT_END = 'paused at epoch 1 and not promoted before the sweep ended';

/** A finished promotion sweep as results.json records it: two finished, two closed while paused, one pruned. */
const document: SweepResultsDocument = {
  format: 'fineflow-sweep-results/v1',
  outcome: 'completed',
  metric: 'validation.accuracy',
  goal: 'maximize',
  algorithm: 'tpe',
  earlyStopping: 'asha',
  rungEpochs: [1, 3, 9],
  bestTrialId: 0,
  segments: [],
  rows: [
    { trialId: 0, params: { lr: 0.01 }, status: 'completed', value: 0.9, epochs: 9, metricByEpoch: [] },
    {
      trialId: 1,
      params: { lr: 0.1 },
      status: 'stopped',
      value: 0.4,
      epochs: 1,
      metricByEpoch: [],
      stopReason: PAUSED_AT_END,
    },
    {
      trialId: 2,
      params: { lr: 0.3 },
      status: 'stopped',
      value: 0.3,
      epochs: 1,
      metricByEpoch: [],
      stopReason: PAUSED_AT_END,
    },
    {
      trialId: 3,
      params: { lr: 0.5 },
      status: 'stopped',
      value: 0.2,
      epochs: 1,
      metricByEpoch: [],
      stopReason: 'rung 0',
    },
    { trialId: 4, params: { lr: 0.03 }, status: 'completed', value: 0.8, epochs: 9, metricByEpoch: [] },
  ],
};

for (const colorScheme of ['light', 'dark'] as const) {
  test(`trials the sweep ended while paused read as such in summary, table and key (${colorScheme})`, async () => {
    // The UI's API serves what `fineflow status` renders: the same table function.
    const table = trialTableFromResults('sweep', document);
    const page = await chartPage(web.browser, web.script, {
      body: '<div id="box"></div>',
      colorScheme,
      viewport: { width: 1280, height: 900 },
    });
    try {
      await page.evaluate((json: string) => {
        const w = globalThis as unknown as {
          sweepView(table: unknown, charts: unknown[]): unknown[];
          document: { getElementById(id: string): { append(...nodes: unknown[]): void } };
        };
        const nodes = w.sweepView(JSON.parse(json), []).filter((node) => node !== undefined);
        w.document.getElementById('box').append(...nodes);
      }, JSON.stringify(table));
      const summary = await page.locator('p.muted').first().innerText();
      assert.equal(summary, '5 trials: 2 finished, 2 stopped-while-paused, 1 pruned; best trial 0');
      const states = await page.locator('table.trials tbody tr td:nth-child(3)').allInnerTexts();
      assert.deepEqual(states, ['finished', 'stopped-while-paused', 'stopped-while-paused', 'pruned', 'finished']);

      // Every line style in the plot has a key entry drawn the same way, and the key names nothing else.
      const style = (selector: string): Promise<string> =>
        page
          .locator(selector)
          .first()
          .evaluate((line: unknown) => {
            const w = globalThis as unknown as {
              getComputedStyle(element: unknown): { strokeDasharray: string; strokeWidth: string; opacity: string };
            };
            const css = w.getComputedStyle(line);
            return `${css.strokeDasharray} ${css.strokeWidth} ${css.opacity}`;
          });
      type KeyItem = { readonly dataset: { readonly lineClass?: string }; readonly innerText: string };
      const key = await page
        .locator('ul.line-key li')
        .evaluateAll((items: unknown[]) =>
          (items as KeyItem[]).map((item) => [item.dataset.lineClass ?? '', item.innerText.trim()]),
        );
      assert.deepEqual(key, [
        ['trial state-finished', 'finished'],
        ['trial state-stopped-while-paused', 'stopped while paused (sweep ended)'],
        ['trial state-pruned', 'pruned by early stopping'],
        ['trial best', 'best trial'],
      ]);
      for (const [lineClass] of key) {
        const selector = `.${(lineClass ?? '').split(' ').join('.')}`;
        const plotted =
          lineClass === 'trial best' ? 'svg.parallel polyline.best' : `svg.parallel polyline${selector}:not(.best)`;
        assert.equal(await style(`ul.line-key line${selector}`), await style(plotted), `key entry ${lineClass}`);
      }
      const dashes = new Set(
        await Promise.all(
          ['finished', 'stopped-while-paused', 'pruned'].map((s) => style(`ul.line-key line.state-${s}`)),
        ),
      );
      assert.equal(dashes.size, 3, 'each state is drawn its own way');
    } finally {
      await page.context().close();
    }
  });
}

test('on a 390 px phone a trial’s state stays on one line and the page does not scroll sideways', async () => {
  const page = await chartPage(web.browser, web.script, {
    body: '<div id="box"></div>',
    colorScheme: 'light',
    viewport: { width: 390, height: 844 },
  });
  try {
    await page.evaluate(
      (json: string) => {
        const w = globalThis as unknown as {
          sweepView(table: unknown, charts: unknown[]): unknown[];
          document: { getElementById(id: string): { append(...nodes: unknown[]): void } };
        };
        w.document
          .getElementById('box')
          .append(...w.sweepView(JSON.parse(json), []).filter((node) => node !== undefined));
      },
      JSON.stringify(trialTableFromResults('sweep', document)),
    );
    const lines =
      (await page.evaluate(`[...document.querySelectorAll('table.trials tbody td:nth-child(3)')].map((td) => {
      const range = document.createRange();
      range.selectNodeContents(td);
      return td.textContent + ' ' + new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
    })`)) as string[];
    assert.deepEqual(lines, [
      'finished 1',
      'stopped-while-paused 1',
      'stopped-while-paused 1',
      'pruned 1',
      'finished 1',
    ]);
    await assertNoSideScroll(page);
  } finally {
    await page.context().close();
  }
});

// At 390 px the trials table kept its columns in a box that scrolled sideways: a trial's objective and its params were
// off the screen's right edge. Each trial is now one line (★, id, state, objective) with its epochs and params behind a
// tap, every value after its name, within the screen (sweep-trials-phone.test.ts has the rest).
test('on a 390 px phone each trial is one line, its params after their names behind a tap; the box does not scroll', async () => {
  const wide: SweepResultsDocument = {
    ...document,
    rows: document.rows.map((row, i) => ({
      ...row,
      params: {
        lr: 0.01 * (i + 1),
        batchSize: 32,
        freeze: 'all',
        freezeBaseLayers: i % 2,
        learningRateWarmupEpochsBeforeDecay: 3,
      },
    })),
  };
  for (const colorScheme of ['light', 'dark'] as const) {
    const page = await chartPage(web.browser, web.script, {
      body: '<div id="box"></div>',
      colorScheme,
      viewport: { width: 390, height: 844 },
    });
    try {
      await page.evaluate(
        `document.getElementById('box').append(...sweepView(${JSON.stringify(trialTableFromResults('sweep', wide))}, []).filter(Boolean))`,
      );
      assert.equal(await page.locator('table.trials tbody tr').count(), 5);
      await page.locator('table.trials tr.best button.more-toggle').click();
      // A choice param reads as written, a number to 4 significant digits ("all" was shown in JSON quotes).
      const cells = await page.locator('table.trials tr.best td.param:visible').allTextContents();
      assert.deepEqual(cells, ['32', 'all', '0', '3', '0.01000']);
      const box = (await page.evaluate(
        `(() => { const t = document.querySelector('table.trials'); const b = t.closest('.scroll');
          return { box: b.scrollWidth - b.clientWidth, table: t.scrollWidth - t.clientWidth }; })()`,
      )) as { box: number; table: number };
      assert.deepEqual(box, { box: 0, table: 0 }, 'nothing in the trials box scrolls sideways');
      const title = (await page.evaluate(
        `(() => { const row = document.querySelector('table.trials tr.best');
          const [mark, title] = [row.querySelector('td.card-mark'), row.querySelector('td.card-title')];
          return { id: title.textContent, mark: mark.textContent,
            oneLine: Math.round(mark.getBoundingClientRect().top) === Math.round(title.getBoundingClientRect().top) }; })()`,
      )) as { id: string; mark: string; oneLine: boolean };
      assert.deepEqual(title, { id: '0', mark: '★', oneLine: true }, 'the best row: ★ 0');
      await screenshot(page, `sweep-trials-phone-${colorScheme}`);
    } finally {
      await page.context().close();
    }
  }
});

// In a run page at 1280 px the trials plot (600 px, 150 px an axis) sat in a 597 px box and scrolled 3 px sideways.
test('at 1280 px in the stage panel the trials plot has the room it needs: its box does not scroll', async () => {
  // The demo sweep's three params (600 px) and five (900 px).
  const paramSets: readonly Record<string, number | string>[] = [
    { lr: 0.01, batchSize: 8, freeze: 'all' },
    { lr: 0.01, batchSize: 8, freeze: 'all', warmup: 1, dropout: 0.2 },
  ];
  for (const params of paramSets) {
    const rows = document.rows.map((row) => ({ ...row, params: { ...params, lr: row.trialId / 10 + 0.01 } }));
    const page = await chartPage(web.browser, web.script, {
      body: '<section class="stage-panel" id="box"></section>',
      colorScheme: 'light',
      viewport: { width: 1280, height: 900 },
    });
    try {
      await page.evaluate(
        `document.getElementById('box').append(...sweepView(${JSON.stringify(trialTableFromResults('sweep', { ...document, rows }))}, []).filter(Boolean))`,
      );
      const seen = (await page.evaluate(
        `(() => { const box = document.querySelector('.parallel-box'); const plot = box.querySelector('svg.parallel');
          return { plot: plot.getBoundingClientRect().width, scroll: box.scrollWidth - box.clientWidth }; })()`,
      )) as { plot: number; scroll: number };
      assert.equal(seen.scroll, 0, `a ${seen.plot} px plot scrolls in its box (${JSON.stringify(params)})`);
      await assertNoSideScroll(page);
    } finally {
      await page.context().close();
    }
  }
});

// A trial whose worker was killed read "running" until its retry ended; the table now says what Temporal knows of it
// (src/client/trial-attempts.ts), as `fineflow status` does under its table, and the note wraps on a phone.
test('a trial whose worker was lost reads retrying, with what happened under its state, on a phone too', async () => {
  const live = withTrialAttempts(
    trialTableFromStatus('sweep', {
      progress: { started: 2, running: 1, completed: 1, stopped: 0, failed: 0, maxTrials: 2, bestTrialId: 0 },
      generation: 0,
      metric: 'validation.loss',
      goal: 'minimize',
      trials: [
        { trialId: 0, status: 'completed', params: { units: 4 }, epochs: 9, value: 0.3 },
        { trialId: 1, status: 'running', params: { units: 6 }, epochs: 3 },
      ],
    }),
    new Map([
      [
        1,
        {
          trialId: 1,
          attempt: 2,
          maximumAttempts: 3,
          started: false,
          lastFailure: { timeout: 'HEARTBEAT' as const, message: 'activity Heartbeat timeout' },
          heartbeatTimeoutMs: 60_000,
        },
      ],
    ]),
    'trials',
    Date.now(),
  );
  const note =
    'worker lost: Temporal heard no heartbeat from attempt 1 for 1m (heartbeat timeout); attempt 2 of 3 waits for a ' +
    'worker of pool trials';
  for (const width of [1280, 390]) {
    const page = await chartPage(web.browser, web.script, {
      body: '<div id="box"></div>',
      colorScheme: 'light',
      viewport: { width, height: 900 },
    });
    try {
      await page.evaluate(
        `document.getElementById('box').append(...sweepView(${JSON.stringify(live)}, []).filter(Boolean))`,
      );
      assert.equal(await page.locator('p.muted').first().innerText(), '2 trials: 1 finished, 1 retrying; best trial 0');
      const cell = page.locator('table.trials tr[data-trial="1"] td.state');
      assert.equal(
        await cell.evaluate((td: unknown) => (td as { firstChild: { textContent: string } }).firstChild.textContent),
        'retrying',
      );
      assert.equal(await cell.locator('.trial-note').innerText(), note);
      await assertNoSideScroll(page);
    } finally {
      await page.context().close();
    }
  }
});
