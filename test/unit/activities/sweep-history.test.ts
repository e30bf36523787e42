/**
 * The sweep history's I/O over the in-memory store: records written once per ended sweep, read back newest first,
 * an oversized object refused before it is read, a failed write reported and never thrown.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSweepHistory, writeSweepHistory } from '../../../activities/sweep-history';
import { sweepHistoryPrefix } from '../../../src/core/storage/layout';
import { parseSearchSpace } from '../../../src/core/sweep/space';
import { SWEEP_HISTORY_LIMITS, type SweepHistorySubject } from '../../../src/core/sweep/sweep-history';
import type { RecordedResultsTable } from '../../../src/core/sweep/sweep-types';
import { BUCKET, memoryStore, stageContext } from './helpers';

const subject: SweepHistorySubject = {
  space: parseSearchSpace({ learningRate: { uniform: [0, 1] } }),
  objective: { metric: 'validation.accuracy', goal: 'maximize' },
  epochsPerTrial: 3,
};

function table(values: readonly number[]): RecordedResultsTable {
  return {
    metric: 'validation.accuracy',
    goal: 'maximize',
    algorithm: 'tpe',
    earlyStopping: 'none',
    rungEpochs: [],
    rows: values.map((value, trialId) => ({
      trialId,
      params: { learningRate: value },
      status: 'completed',
      value,
      metricByEpoch: [],
      epochs: 3,
    })),
  };
}

const context = (runId: string) => stageContext('sweep', { runId, pipeline: 'digits' });

describe('sweep history activities', () => {
  it('writes one record per sweep under the pipeline stage, and reads the newest back first', async () => {
    const store = memoryStore();
    const first = await writeSweepHistory(store, {
      context: context('run-1'),
      subject,
      table: table([0.1, 0.2]),
      outcome: 'completed',
      endedAtMs: Date.UTC(2026, 11, 5, 10),
    });
    const second = await writeSweepHistory(store, {
      context: context('run-2'),
      subject,
      table: table([0.3]),
      outcome: 'cancelled',
      endedAtMs: Date.UTC(2026, 11, 5, 11),
    });
    assert.deepEqual(first, { uri: 's3://fineflow/sweeps/digits/sweep/2026-12-05T10:00:00.000Z_run-1_1.json' });
    assert.ok('uri' in second);
    const prefix = sweepHistoryPrefix(BUCKET, 'digits', 'sweep');
    // Not records: a nested object and a non-JSON name; a record too large to read.
    await store.putBytes(`${prefix}nested/2099-01-01T00:00:00.000Z_x_1.json`, '{}');
    await store.putBytes(`${prefix}2099-01-01T00:00:00.000Z_notes.txt`, 'x');
    await store.putBytes(
      `${prefix}2000-01-01T00:00:00.000Z_big_1.json`,
      ' '.repeat(SWEEP_HISTORY_LIMITS.recordBytes + 1),
    );
    // Another stage's record is not listed.
    await writeSweepHistory(store, {
      context: stageContext('other', { runId: 'run-3', pipeline: 'digits' }),
      subject,
      table: table([0.9]),
      outcome: 'completed',
      endedAtMs: Date.UTC(2026, 11, 5, 12),
    });
    const warm = await readSweepHistory(store, {
      context: context('run-4'),
      subject,
      settings: { sweeps: 5, maxTrials: 10 },
    });
    assert.deepEqual(
      warm.priorTrials.map((trial) => trial.params.learningRate),
      [0.3, 0.2, 0.1],
    );
    assert.deepEqual(warm.summary.sweeps, 2);
    assert.deepEqual(warm.summary.reasons, [
      `sweep 2000-01-01T00:00:00.000Z_big_1.json: ${SWEEP_HISTORY_LIMITS.recordBytes + 1} bytes, more than a record may hold (${SWEEP_HISTORY_LIMITS.recordBytes}) (1)`,
    ]);
    const newestOnly = await readSweepHistory(store, {
      context: context('run-4'),
      subject,
      settings: { sweeps: 1, maxTrials: 10 },
    });
    assert.deepEqual(newestOnly.summary, { sweeps: 1, trials: 1, ignored: 0, reasons: [] });
  });

  it('reports a failed write instead of throwing, and reads nothing when there is no history', async () => {
    const store = memoryStore();
    const failing = { ...store, putJson: () => Promise.reject(new Error('store is down')) };
    const written = await writeSweepHistory(failing, {
      context: context('run-1'),
      subject,
      table: table([0.5]),
      outcome: 'completed',
      endedAtMs: Date.UTC(2026, 11, 5, 10),
    });
    assert.deepEqual(written, { error: 'store is down' });
    const warm = await readSweepHistory(store, {
      context: context('run-2'),
      subject,
      settings: { sweeps: 5, maxTrials: 10 },
    });
    assert.deepEqual(warm.summary, { sweeps: 0, trials: 0, ignored: 0, reasons: [] });
  });
});
