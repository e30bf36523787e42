import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SweepResultsDocument } from '../../../src/core/sweep/sweep-results';
import {
  renderTrialTable,
  trialState,
  trialTableFromResults,
  trialTableFromStatus,
} from '../../../src/client/sweep-trial-table';
import { sweepWorkflowIds } from '../../../src/client/sweep-trials-lookup';
import {
  closePausedTrials,
  createSweep,
  nextTrials,
  parseSweepConfig,
  recordIntermediate,
  resultsTable,
} from '../../../src/core/sweep/sweep-state';
import type { SweepStatus } from '../../../src/core/sweep/sweep-types';

const live: SweepStatus = {
  progress: {
    started: 4,
    running: 1,
    completed: 1,
    stopped: 1,
    failed: 1,
    maxTrials: 8,
    bestValue: 0.91,
    bestTrialId: 0,
  },
  generation: 0,
  metric: 'validation.accuracy',
  goal: 'maximize',
  trials: [
    { trialId: 0, status: 'completed', params: { learningRate: 0.001, batchSize: 32 }, epochs: 9, value: 0.91 },
    { trialId: 1, status: 'stopped', params: { learningRate: 0.1, batchSize: 16 }, epochs: 1, value: 0.2 },
    { trialId: 2, status: 'failed', params: { learningRate: 0.01, batchSize: 16 }, epochs: 0 },
    {
      trialId: 3,
      status: 'running',
      params: { learningRate: 0.003, batchSize: 32, note: 'x'.repeat(200) },
      epochs: 3,
      value: 0.7,
    },
  ],
};

describe('sweep trial table', () => {
  it('maps controller statuses to trial states', () => {
    assert.deepEqual(
      ['completed', 'stopped', 'failed', 'running', 'cancelled'].map((status) => trialState(status)),
      ['finished', 'pruned', 'failed', 'running', 'cancelled'],
    );
    assert.equal(trialState('running', 'cancelled'), 'cancelled');
  });

  it('shows a running trial no worker holds yet as waiting, counted as waiting for a worker', () => {
    const queued: SweepStatus = {
      ...live,
      progress: { ...live.progress, running: 1, waitingForWorker: 1 },
      trials: [
        ...live.trials,
        {
          trialId: 4,
          status: 'running',
          params: { learningRate: 0.02, batchSize: 16 },
          epochs: 0,
          waitingForWorker: true,
        },
      ],
    };
    const table = trialTableFromStatus('sweep', queued);
    assert.deepEqual(
      table.rows.map((row) => row.state),
      ['finished', 'pruned', 'failed', 'running', 'waiting'],
    );
    const header = renderTrialTable(table).split('\n')[0] ?? '';
    assert.match(header, /: 1 finished, 1 pruned, 1 failed, 1 running, 1 waiting for a worker$/);
    // A closed sweep cancelled what was still queued, as it did what ran.
    const closed = trialTableFromStatus('sweep', { ...queued, outcome: 'cancelled' });
    assert.equal(closed.rows.at(-1)?.state, 'cancelled');
  });

  it('shows a trial waiting at a rung (promotion-based ASHA) as paused while it runs, stopped-while-paused after', () => {
    assert.equal(trialState('paused'), 'paused');
    assert.equal(trialState('paused', 'completed'), 'stopped-while-paused');
  });

  it('tells a trial the sweep ended while it was paused from one early stopping pruned (results.json)', () => {
    // The sweep's own code closes the paused trials, so the reason the table reads is the one the sweep writes.
    let state = createSweep(
      parseSweepConfig({
        algorithm: 'random',
        space: { x: { uniform: [0, 1] } },
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        maxTrials: 3,
        parallelism: 1,
        epochsPerTrial: 9,
        earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1, promotion: true },
        seed: 5,
      }),
    );
    for (const value of [0.2, 0.6]) {
      const next = nextTrials(state);
      const trialId = next.trials[0]?.trialId as number;
      state = recordIntermediate(next.state, trialId, 1, value).state;
    }
    const document: SweepResultsDocument = {
      ...resultsTable(closePausedTrials(state)),
      format: 'fineflow-sweep-results/v1',
      outcome: 'completed',
      segments: [],
    };
    // A stopping-based ASHA stop has a reason of its own and stays `pruned`.
    const rows = [
      ...document.rows,
      {
        trialId: 2,
        params: { x: 0.5 },
        status: 'stopped' as const,
        value: 0.1,
        epochs: 1,
        metricByEpoch: [],
        stopReason: 'rung 0 (epoch 1): 0.1 ranks 3 of 3 (top 1)',
      },
    ];
    const table = trialTableFromResults('sweep', { ...document, rows });
    assert.deepEqual(
      table.rows.map((row) => [row.trialId, row.state, row.epochs, row.objective]),
      [
        [0, 'stopped-while-paused', 1, 0.2],
        [1, 'stopped-while-paused', 1, 0.6],
        [2, 'pruned', 1, 0.1],
      ],
    );
    assert.match(renderTrialTable(table), /^trials of sweep: 2 stopped-while-paused, 1 pruned$/m);
  });

  it("a closed sweep's query (no results file) reads a trial ended while paused as stopped-while-paused", () => {
    const ended: SweepStatus = {
      ...live,
      outcome: 'completed',
      trials: [
        live.trials[0]!,
        { ...live.trials[1]!, stopReason: 'rung 0 (epoch 1): 0.2 ranks 3 of 3 (top 1)' },
        {
          trialId: 4,
          status: 'stopped',
          params: { learningRate: 0.02, batchSize: 16 },
          epochs: 1,
          value: 0.6,
          stopReason: 'paused at epoch 1 and not promoted before the sweep ended',
        },
      ],
    };
    const table = trialTableFromStatus('sweep', ended);
    assert.deepEqual(
      table.rows.map((row) => [row.trialId, row.state]),
      [
        [0, 'finished'],
        [1, 'pruned'],
        [4, 'stopped-while-paused'],
      ],
    );
    assert.match(renderTrialTable(table), /^trials of sweep: 1 finished, 1 pruned, 1 stopped-while-paused$/m);
  });

  it('renders every trial with state, epochs, objective and params, best marked, within 100 columns', () => {
    const text = renderTrialTable(trialTableFromStatus('sweep', live));
    const lines = text.split('\n');
    for (const line of lines) assert.ok(line.length <= 100, `${line.length} columns: ${line}`);
    assert.match(lines[0] ?? '', /^trials of sweep: 1 finished, 1 pruned, 1 failed, 1 running$/);
    assert.match(lines[1] ?? '', /trial\s+state\s+epochs\s+validation.accuracy ↑\s+params/);
    // Objectives to four significant digits, trailing zeros kept (as the UI's table): the column compares by eye.
    assert.match(lines[2] ?? '', /^\*\s+0\s+finished\s+9\s+0\.9100\s+batchSize=32 learningRate=0\.001$/);
    assert.match(lines[3] ?? '', /^\s+1\s+pruned\s+1\s+0\.2000\s+batchSize=16 learningRate=0\.1$/);
    assert.match(lines[4] ?? '', /^\s+2\s+failed\s+0\s+-\s+/);
    assert.match(lines[5] ?? '', /^\s+3\s+running\s+3\s+0\.7000\s+batchSize=32 .*…$/);
    assert.equal(lines[6], '* best trial 0');
  });

  it('a live query of a cancelled sweep shows its running trials as cancelled and the table as partial', () => {
    const table = trialTableFromStatus('sweep', { ...live, outcome: 'cancelled' });
    assert.equal(table.partial, true);
    assert.equal(table.rows[3]?.state, 'cancelled');
    assert.match(renderTrialTable(table), /^trials of sweep \(PARTIAL: sweep cancelled\)/);
  });

  it('reads a partial results document', () => {
    const document: SweepResultsDocument = {
      format: 'fineflow-sweep-results/v1',
      outcome: 'cancelled',
      partial: true,
      metric: 'validation.loss',
      goal: 'minimize',
      algorithm: 'random',
      earlyStopping: 'none',
      rungEpochs: [],
      bestTrialId: 1,
      rows: [
        { trialId: 0, params: { lr: 0.1 }, status: 'cancelled', metricByEpoch: [{ epoch: 1, value: 0.9 }], epochs: 1 },
        {
          trialId: 1,
          params: { lr: 0.01 },
          status: 'completed',
          value: 0.3,
          metricByEpoch: [
            { epoch: 1, value: 0.5 },
            { epoch: 2, value: 0.3 },
          ],
        },
        { trialId: 2, params: { lr: 1 }, status: 'failed', metricByEpoch: [], error: 'loss is NaN' },
      ],
      segments: [],
    };
    const table = trialTableFromResults('sweep', document);
    assert.equal(table.partial, true);
    assert.deepEqual(
      table.rows.map((row) => [row.trialId, row.state, row.epochs, row.objective, row.best]),
      [
        [0, 'cancelled', 1, 0.9, false],
        [1, 'finished', 2, 0.3, true],
        [2, 'failed', 0, undefined, false],
      ],
    );
    assert.match(renderTrialTable(table), /failed\s+0\s+-\s+lr=1  error: loss is NaN/);
    // A document written before outcomes were recorded is a complete one.
    const { outcome: _outcome, partial: _partial, ...older } = document;
    assert.equal(trialTableFromResults('sweep', older).partial, false);
  });

  it('names the engine each trial trained on, a pruned trial too, from the results or the live query', () => {
    const segment = (trialId: number, engine: string, fromEpoch: number, toEpoch: number) => ({
      trialId,
      fromEpoch,
      toEpoch,
      worker: 'w1',
      startedAtMs: 0,
      endedAtMs: 1,
      attempt: 1,
      resumedFromEpoch: fromEpoch,
      backend: engine === 'graph' ? 'tensorflow' : 'cpu',
      engine,
    });
    const document: SweepResultsDocument = {
      format: 'fineflow-sweep-results/v1',
      outcome: 'completed',
      metric: 'validation.accuracy',
      goal: 'maximize',
      algorithm: 'random',
      earlyStopping: 'asha',
      rungEpochs: [1],
      bestTrialId: 0,
      rows: [
        {
          trialId: 0,
          params: { lr: 0.1 },
          status: 'completed',
          value: 0.9,
          metricByEpoch: [{ epoch: 1, value: 0.8 }],
          epochs: 3,
        },
        {
          trialId: 1,
          params: { lr: 1 },
          status: 'stopped',
          stopReason: 'rung 0: not in the top 1/3',
          metricByEpoch: [{ epoch: 1, value: 0.2 }],
          epochs: 1,
        },
      ],
      segments: [segment(0, 'graph', 0, 1), segment(0, 'graph', 1, 3), segment(1, 'eager', 0, 1)],
    };
    const table = trialTableFromResults('sweep', document);
    assert.deepEqual(
      table.rows.map((row) => [row.trialId, row.state, row.engine]),
      [
        [0, 'finished', 'graph'],
        [1, 'pruned', 'eager'],
      ],
    );
    const lines = renderTrialTable(table).split('\n');
    assert.match(lines[1] ?? '', /trial\s+state\s+epochs\s+validation.accuracy ↑\s+engine\s+params/);
    assert.match(lines[3] ?? '', /^\s+1\s+pruned\s+1\s+0\.2000\s+eager\s+lr=1$/);
    const fromQuery = trialTableFromStatus('sweep', {
      ...live,
      trials: live.trials.map((trial) => (trial.trialId === 1 ? { ...trial, engines: ['eager'] } : trial)),
    });
    assert.equal(fromQuery.rows[1]?.engine, 'eager');
    assert.match(renderTrialTable(fromQuery), /\n\s+1\s+pruned\s+1\s+0\.2000\s+eager\s+batchSize=16/);
  });

  it('shows a warm start under the header, from the results or the live query', () => {
    const line = 'warm start: 3 trials from 1 earlier sweep, 1 ignored: sweep x.json: not JSON (1)';
    const fromResults = trialTableFromResults('sweep', {
      format: 'fineflow-sweep-results/v1',
      metric: 'validation.accuracy',
      goal: 'maximize',
      algorithm: 'tpe',
      earlyStopping: 'none',
      rungEpochs: [],
      rows: [],
      segments: [],
      warmStart: { sweeps: 1, trials: 3, ignored: 1, reasons: ['sweep x.json: not JSON (1)'], line },
    });
    assert.equal(fromResults.warmStart, line);
    assert.equal(renderTrialTable(fromResults).split('\n')[1], line);
    assert.equal(trialTableFromStatus('sweep', { ...live, warmStart: line }).warmStart, line);
    assert.equal(trialTableFromStatus('sweep', live).warmStart, undefined);
    assert.doesNotMatch(renderTrialTable(trialTableFromStatus('sweep', live)), /warm start/);
  });

  it('looks for the running attempt first, the recorded one for an ended stage', () => {
    assert.deepEqual(sweepWorkflowIds('r', { id: 's', attempts: 0, status: 'running' }), ['r.s.sweep-1']);
    assert.deepEqual(sweepWorkflowIds('r', { id: 's', attempts: 1, status: 'running' }), [
      'r.s.sweep-2',
      'r.s.sweep-1',
    ]);
    assert.deepEqual(sweepWorkflowIds('r', { id: 's', attempts: 1, status: 'cancelled' }), [
      'r.s.sweep-1',
      'r.s.sweep-2',
    ]);
    assert.deepEqual(sweepWorkflowIds('r', { id: 's', attempts: 3, status: 'cancelled' }), [
      'r.s.sweep-3',
      'r.s.sweep-2',
      'r.s.sweep-1',
      'r.s.sweep-4',
    ]);
  });
});
