/**
 * The run page's DAG node of a running sweep counts its trials as the stage panel and `fineflow status` do: a trial
 * whose worker died reads `retrying` in the node's line too, not the `1 running` the sweep sent its run, whether the
 * panel shows the sweep or another stage (the page reads the trial tables again meanwhile). The real run page,
 * bundled, with the API answered in the page.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/sweep-node-progress.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { RunState } from '../../src/core/run/run-types';
import type { SweepTrialTable } from '../../src/client/sweep-trial-table';
import { manualRun, TWO_TRIAL_SWEEP_LINE, twoTrialSweepStage, twoTrialSweepTable } from './run-fixtures';
import { chartPage, usePageModule } from './web-page';

const web = usePageModule('./pages/run', ['runPage']);

const RUN = 'loan-sweep-20261207-220121-yn0m';
const OWN_LINE = TWO_TRIAL_SWEEP_LINE;
const RECOUNTED = 'trials 1/2 done (0 running, 1 retrying, 0 pruned, 0 failed) best validation.loss=0.3 (trial 0)';

const state: RunState = manualRun({
  runId: RUN,
  status: 'running',
  startedAt: '2026-12-07T22:01:21.000Z',
  stages: [
    {
      id: 'prepare',
      uses: 'prepare-data',
      pool: 'cpu',
      status: 'succeeded',
      attempts: 1,
      startedAt: '2026-12-07T22:01:22.000Z',
      endedAt: '2026-12-07T22:01:24.000Z',
    },
    twoTrialSweepStage('2026-12-07T22:01:25.000Z'),
  ],
});

const graph = {
  nodes: [
    { id: 'prepare', uses: 'prepare-data', pool: 'cpu' },
    { id: 'sweep', uses: 'hyperparameter-sweep', pool: 'cpu' },
  ],
  edges: [{ from: 'prepare', to: 'sweep' }],
};

const table = (trialState: 'running' | 'retrying'): SweepTrialTable =>
  twoTrialSweepTable(trialState, 'worker lost: Temporal heard no heartbeat from attempt 1 for 4 s (heartbeat timeout)');

/**
 * The run page of RUN showing `stage` in its panel: the run's details carry `first` as the sweep's trial table, and
 * every later read of `/sweeps` answers `later`.
 */
async function openRun(stage: string, first: SweepTrialTable, later: SweepTrialTable): Promise<Page> {
  const page = await chartPage(web.browser, web.script, {
    body: '',
    colorScheme: 'light',
    viewport: { width: 1280, height: 800 },
  });
  await page.evaluate(
    ([details, sweeps, runId, shown]: [string, string, string, string]) => {
      const w = globalThis as unknown as {
        fetch: (url: string) => Promise<unknown>;
        Response: new (body: string, init: { status: number; headers: Record<string, string> }) => unknown;
        EventSource: unknown;
        runPage: (runId: string, params: unknown) => { element: unknown };
        URLSearchParams: new (init: string) => unknown;
        document: { querySelector(selector: string): { appendChild(node: unknown): void } };
      };
      const json = (body: string) =>
        new w.Response(body, { status: 200, headers: { 'Content-Type': 'application/json' } });
      w.fetch = async (url: string) => {
        if (url.endsWith(`/runs/${runId}`)) return json(details);
        if (url.endsWith(`/runs/${runId}/sweeps`)) return json(sweeps);
        if (url.includes(`/runs/${runId}/stages/`)) return json('{"logs":[],"attempts":[]}');
        return new w.Response('{"error":{"message":"not in this test"}}', { status: 404, headers: {} });
      };
      // The state stays as it is: no event comes.
      w.EventSource = class {
        addEventListener(): void {}
        close(): void {}
      };
      w.document.querySelector('main').appendChild(w.runPage(runId, new w.URLSearchParams(`stage=${shown}`)).element);
    },
    [JSON.stringify({ state, graph, sweeps: [first] }), JSON.stringify({ sweeps: [later] }), RUN, stage] as [
      string,
      string,
      string,
      string,
    ],
  );
  return page;
}

const NODE = 'g.node[aria-label^="stage sweep "]';

test('the sweep node counts a trial whose worker died as the stage panel does: retrying', async () => {
  const page = await openRun('sweep', table('retrying'), table('retrying'));
  try {
    await page.locator('.stage-panel .progress').waitFor();
    const panel = (await page.locator('.stage-panel .progress').textContent())?.trim();
    assert.equal(panel, RECOUNTED);
    assert.equal(
      await page.locator(NODE).getAttribute('aria-label'),
      `stage sweep (hyperparameter-sweep): running, ${RECOUNTED}`,
    );
  } finally {
    await page.context().close();
  }
});

test('the sweep node follows its trial table while the panel shows another stage', async () => {
  const page = await openRun('prepare', table('running'), table('retrying'));
  try {
    await page.locator('.stage-panel[data-stage="prepare"]').waitFor();
    assert.equal(
      await page.locator(NODE).getAttribute('aria-label'),
      `stage sweep (hyperparameter-sweep): running, ${OWN_LINE}`,
    );
    // The page reads the sweep's trials again by itself; the node then says what the table says.
    await page
      .locator(`${NODE}[aria-label$="(0 running, 1 retrying, 0 pruned, 0 failed) best validation.loss=0.3 (trial 0)"]`)
      .waitFor();
  } finally {
    await page.context().close();
  }
});
