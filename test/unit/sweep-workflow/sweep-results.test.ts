import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cancelledResultsTable, resultsCsv, trialsOutput } from '../../../src/core/sweep/sweep-results';
import type { SegmentRecord } from '../../../src/core/sweep/sweep-types';
import type { ResultsTable } from '../../../src/core/sweep';

const table: ResultsTable = {
  metric: 'validation.accuracy',
  goal: 'maximize',
  algorithm: 'tpe',
  earlyStopping: 'asha',
  rungEpochs: [1, 3],
  bestTrialId: 0,
  rows: [
    {
      trialId: 0,
      params: { learningRate: 0.001, optimizer: 'adam' },
      status: 'completed',
      value: 0.9,
      metricByEpoch: [
        { epoch: 1, value: 0.5 },
        { epoch: 3, value: 0.8 },
        { epoch: 9, value: 0.9 },
      ],
      epochs: 9,
      durationMs: 1200,
    },
    {
      trialId: 1,
      params: { learningRate: 0.1, optimizer: 'adam' },
      status: 'stopped',
      value: 0.2,
      metricByEpoch: [{ epoch: 1, value: 0.2 }],
      epochs: 1,
      durationMs: 300,
      stopReason: 'rung 0: not in the top 1/3',
    },
    {
      trialId: 2,
      params: { learningRate: 0.01, optimizer: 'a,"b"' },
      status: 'failed',
      metricByEpoch: [],
      error: 'optimizer "a,b"\nis unknown',
    },
  ],
};

const segment = (trialId: number, worker: string, fromEpoch: number, toEpoch: number): SegmentRecord => ({
  trialId,
  worker,
  fromEpoch,
  toEpoch,
  startedAtMs: 0,
  endedAtMs: 1,
  attempt: 1,
  resumedFromEpoch: fromEpoch,
});
const segments = [segment(0, 'w1', 0, 1), segment(0, 'w2', 1, 3), segment(0, 'w2', 3, 9), segment(1, 'w1', 0, 1)];

describe('sweep results', () => {
  it('trials output: one object per trial with the distinct workers that ran it', () => {
    const trials = trialsOutput(table, segments);
    assert.equal(trials.length, 3);
    assert.deepEqual(trials[0]?.workers, ['w1', 'w2']);
    assert.deepEqual(trials[1]?.workers, ['w1']);
    assert.deepEqual(trials[2]?.workers, []);
    assert.equal(trials[1]?.stopReason, 'rung 0: not in the top 1/3');
    assert.equal(trials[2]?.error, 'optimizer "a,b"\nis unknown');
    assert.equal('value' in (trials[2] ?? {}), false);
  });

  it('CSV: a column per parameter and per recorded epoch, RFC 4180 quoting', () => {
    const csv = resultsCsv(table, segments);
    const [header, first, second] = csv.split('\n');
    assert.equal(
      header,
      'trialId,status,validation.accuracy,epochs,durationMs,param.learningRate,param.optimizer,validation.accuracy@1,validation.accuracy@3,validation.accuracy@9,workers,stopReason,error,engines',
    );
    assert.equal(first, '0,completed,0.9,9,1200,0.001,adam,0.5,0.8,0.9,w1 w2,,,');
    assert.equal(second, '1,stopped,0.2,1,300,0.1,adam,0.2,,,w1,rung 0: not in the top 1/3,,');
    assert.ok(csv.includes('2,failed,,,,0.01,"a,""b""",,,,,,"optimizer ""a,b""\nis unknown",'), csv);
    assert.ok(csv.endsWith('\n'));
  });

  it('each trial names the engines its segments trained on, a trial pruned at its first rung too (and why eager)', () => {
    const reason = 'the cpu backend has no graph runtime';
    const trained = [
      { ...segment(0, 'w1', 0, 1), backend: 'tensorflow', engine: 'graph' },
      { ...segment(0, 'w2', 1, 3), backend: 'cpu', engine: 'eager', engineFallbackReason: reason },
      { ...segment(0, 'w2', 3, 9), backend: 'cpu', engine: 'eager', engineFallbackReason: reason },
      { ...segment(1, 'w1', 0, 1), backend: 'tensorflow', engine: 'graph' },
    ];
    const trials = trialsOutput(table, trained);
    assert.deepEqual(
      trials.map((trial) => [trial.engines, trial.engineFallbackReason]),
      [
        [['graph', 'eager'], reason],
        [['graph'], undefined],
        [undefined, undefined],
      ],
    );
    const csv = resultsCsv(table, trained);
    const [header, first, second] = csv.split('\n');
    assert.match(header ?? '', /,workers,stopReason,error,engines$/);
    assert.match(first ?? '', /,graph eager$/);
    assert.match(second ?? '', /,graph$/);
    assert.ok(csv.endsWith('is unknown",\n'), 'a trial with no segment: an empty cell');
    // Segments recorded before engines were: no engine, nothing made up.
    assert.deepEqual(
      trialsOutput(table, segments).map((trial) => 'engines' in trial),
      [false, false, false],
    );
  });

  it('a cancelled sweep keeps finished trials and marks running ones cancelled with their checkpointed epochs', () => {
    const running: ResultsTable = {
      ...table,
      rows: [
        ...table.rows,
        {
          trialId: 3,
          params: { learningRate: 0.003, optimizer: 'sgd' },
          status: 'running',
          value: 0.4,
          metricByEpoch: [{ epoch: 1, value: 0.4 }],
        },
      ],
    };
    const partial = cancelledResultsTable(running, [{ trialId: 3, epochsDone: 2, durationMs: 500 }]);
    assert.deepEqual(partial.rows.slice(0, 3), table.rows);
    assert.deepEqual(partial.rows[3], {
      trialId: 3,
      params: { learningRate: 0.003, optimizer: 'sgd' },
      status: 'cancelled',
      value: 0.4,
      metricByEpoch: [{ epoch: 1, value: 0.4 }],
      epochs: 2,
      durationMs: 500,
    });
    assert.equal(partial.bestTrialId, 0);
    assert.match(resultsCsv(partial, segments), /\n3,cancelled,0\.4,2,500,/);
  });
});
