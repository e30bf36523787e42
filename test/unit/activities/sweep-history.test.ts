/**
 * The sweep history's I/O over the in-memory store: records written once per ended sweep, read back newest first,
 * an oversized object refused before it is read, a failed write reported and never thrown.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSweepHistory, writeSweepHistory } from '../../../activities/sweep-history';
import { sweepHistoryPrefix } from '../../../src/core/storage/layout';
import { parseSearchSpace } from '../../../src/core/sweep/space';
import { SWEEP_HISTORY_LIMITS, warmStartLine, type SweepHistorySubject } from '../../../src/core/sweep/sweep-history';
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
const settings = { sweeps: 3, maxTrials: 10 };

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

  describe('a stage with more records than one listing returns', () => {
    const NOW = Date.UTC(2026, 11, 5, 12);
    const MINUTE = 60_000;
    const cap = SWEEP_HISTORY_LIMITS.listedKeys;

    /** A store with `count` placeholder records ending `stepMs` apart from `newestMs` back, counting listings. */
    async function crowded(count: number, newestMs: number, stepMs = MINUTE) {
      const store = memoryStore();
      const prefix = sweepHistoryPrefix(BUCKET, 'digits', 'sweep');
      for (let index = 0; index < count; index += 1) {
        const endedAt = new Date(newestMs - index * stepMs).toISOString();
        await store.putBytes(`${prefix}${endedAt}_bulk-${index}_1.json`, '{}');
      }
      const listed: number[] = [];
      const counting = {
        ...store,
        list: async (uri: string, options?: Parameters<typeof store.list>[1]) => {
          const found = await store.list(uri, options);
          listed.push(found.length);
          return found;
        },
      };
      return { store, counting, listed };
    }

    const recent = async (store: ReturnType<typeof memoryStore>, minutesAgo: readonly number[]) => {
      for (const [index, minutes] of minutesAgo.entries()) {
        await writeSweepHistory(store, {
          context: context(`recent-${index}`),
          subject,
          table: table([index / 10]),
          outcome: 'completed',
          endedAtMs: NOW - minutes * MINUTE,
        });
      }
    };

    it('finds the newest records after a recent key, listing only them', async () => {
      const { store, counting, listed } = await crowded(cap + 500, NOW - 2 * 365 * 24 * 60 * MINUTE);
      await recent(store, [10, 20, 30]);
      const warm = await readSweepHistory(counting, { context: context('run-9'), subject, settings }, NOW);
      assert.deepEqual(listed, [3], 'one listing, of the last hour');
      assert.deepEqual(
        warm.priorTrials.map((trial) => trial.params.learningRate),
        [0, 0.1, 0.2],
      );
      assert.equal(warm.summary.overflow, undefined);
    });

    it('past the bound starts from the newer records it read, and the log names the fix', async () => {
      const { store, counting, listed } = await crowded(cap + 500, NOW - 2 * 365 * 24 * 60 * MINUTE);
      await recent(store, [10, 20, 30]);
      const warm = await readSweepHistory(
        counting,
        { context: context('run-9'), subject, settings: { sweeps: 5, maxTrials: 10 } },
        NOW,
      );
      assert.ok(
        listed.every((count) => count <= cap + 1),
        `every listing bounded: ${listed.join(', ')}`,
      );
      assert.equal(warm.summary.trials, 3);
      assert.match(
        warmStartLine(warm.summary),
        /^warm start: 3 trials from 3 earlier sweeps \(more than 1000 objects under s3:\/\/fineflow\/sweeps\/digits\/sweep\/ in the last history, too many to find the newest: read the 3 of the last year only; run `fineflow gc` to keep each stage's newest 20 records\)$/,
      );
    });

    it('when even the last hour is over the bound, the sweep starts cold and says why', async () => {
      const { counting, listed } = await crowded(cap + 5, NOW - MINUTE, 1000);
      const warm = await readSweepHistory(counting, { context: context('run-9'), subject, settings }, NOW);
      assert.deepEqual(listed, [cap + 1]);
      assert.deepEqual(warm.priorTrials, []);
      assert.match(
        warmStartLine(warm.summary),
        /starts cold .*in the last hour, too many .*: read none; run `fineflow gc`/,
      );
    });
  });
});
