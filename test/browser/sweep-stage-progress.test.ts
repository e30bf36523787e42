/**
 * The run page's stage summary of a sweep counts its trials as the trial table under it does: a trial whose worker
 * died reads `retrying` in the table, and the progress line says `0 running, 1 retrying`, not the `1 running` the
 * sweep sent its run (src/core/sweep/trials-waiting.ts `sweepStageProgress`; `fineflow status` says the same).
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/sweep-stage-progress.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunState } from '../../src/core/run/run-types';
import type { SweepTrialTable } from '../../src/client/sweep-trial-table';
import { manualRun, TWO_TRIAL_SWEEP_LINE, twoTrialSweepStage, twoTrialSweepTable } from './run-fixtures';
import { chartPage, usePageModule } from './web-page';

const web = usePageModule('./pages/stage-panel', ['StagePanel']);

const RUN = 'loan-sweep-20261207-180121-yn0l';

const state: RunState = manualRun({
  runId: RUN,
  startedAt: '2026-12-07T18:01:21.000Z',
  stages: [twoTrialSweepStage('2026-12-07T18:01:25.000Z')],
});

const table = (trialState: 'running' | 'retrying'): SweepTrialTable =>
  twoTrialSweepTable(
    trialState,
    'worker lost: Temporal heard no heartbeat from attempt 1 for 4 s (heartbeat timeout); ' +
      'attempt 2 of 2 waits for a worker of pool cpu',
  );

async function progressLine(trialState: 'running' | 'retrying'): Promise<string> {
  const page = await chartPage(web.browser, web.script, {
    body: '<div id="panel"></div>',
    colorScheme: 'light',
    viewport: { width: 1280, height: 800 },
  });
  try {
    return (await page.evaluate(
      ([shown, sweeps]: [string, string]) => {
        const w = globalThis as unknown as {
          StagePanel: new (runId: string, root: unknown, sweeps: unknown) => { show(state: unknown, id: string): void };
          document: { getElementById(id: string): unknown; querySelector(selector: string): { textContent: string } };
        };
        new w.StagePanel(
          'loan-sweep-20261207-180121-yn0l',
          w.document.getElementById('panel'),
          JSON.parse(sweeps),
        ).show(JSON.parse(shown), 'sweep');
        return w.document.querySelector('.stage-panel .progress').textContent;
      },
      [JSON.stringify(state), JSON.stringify([table(trialState)])] as [string, string],
    )) as string;
  } finally {
    await page.context().close();
  }
}

test("a sweep stage's progress line counts a trial whose worker died as its trial table does", async () => {
  assert.equal(
    (await progressLine('retrying')).trim(),
    'trials 1/2 done (0 running, 1 retrying, 0 pruned, 0 failed) best validation.loss=0.3 (trial 0)',
  );
  assert.equal((await progressLine('running')).trim(), TWO_TRIAL_SWEEP_LINE);
});
