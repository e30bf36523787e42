import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SweepProgress } from '../../../src/core/sweep/sweep-state';
import {
  splitWaitingTrials,
  sweepProgressMessage,
  sweepStageProgress,
  withTrialAttemptCounts,
} from '../../../src/core/sweep/trials-waiting';

const counts: SweepProgress = { started: 4, running: 2, completed: 1, stopped: 1, failed: 0, maxTrials: 8 };

describe('trials waiting for a worker', () => {
  it('moves the queued trials out of running', () => {
    assert.deepEqual(splitWaitingTrials(counts, 1), { ...counts, running: 1, waitingForWorker: 1 });
    assert.deepEqual(splitWaitingTrials(counts, 0), { ...counts, waitingForWorker: 0 });
  });

  it('never counts more waiting than started-and-running, nor fewer than none', () => {
    assert.deepEqual(splitWaitingTrials(counts, 5), { ...counts, running: 0, waitingForWorker: 2 });
    assert.deepEqual(splitWaitingTrials(counts, -1), { ...counts, waitingForWorker: 0 });
  });

  it('leaves a sweep recorded before the split as it was', () => {
    assert.deepEqual(splitWaitingTrials(counts, undefined), counts);
  });

  it('says both counts, and the waiting one only when a trial waits', () => {
    const best = { ...counts, bestValue: 0.912345, bestTrialId: 2 };
    assert.equal(
      sweepProgressMessage(splitWaitingTrials(best, 1), 'validation.accuracy'),
      'trials 2/8 done (1 running, 1 waiting for a worker, 1 pruned, 0 failed) best validation.accuracy=0.9123 (trial 2)',
    );
    assert.equal(
      sweepProgressMessage(splitWaitingTrials(counts, 0), 'validation.loss'),
      'trials 2/8 done (2 running, 1 pruned, 0 failed)',
    );
    // Before the split: the message it always was.
    assert.equal(sweepProgressMessage(counts, 'validation.loss'), 'trials 2/8 done (2 running, 1 pruned, 0 failed)');
  });
});

void describe('trials with no activity while the sweep drains toward continue-as-new', () => {
  const counts = { started: 3, running: 3, completed: 0, stopped: 0, failed: 0, maxTrials: 4 };
  void it('count as resuming, out of running, before the queued ones are split out', () => {
    assert.deepEqual(splitWaitingTrials(counts, 1, 1), { ...counts, running: 1, resuming: 1, waitingForWorker: 1 });
    assert.deepEqual(splitWaitingTrials(counts, undefined, 2), { ...counts, running: 1, resuming: 2 });
    assert.deepEqual(splitWaitingTrials(counts, 0, 0), { ...counts, waitingForWorker: 0 });
    assert.deepEqual(splitWaitingTrials(counts, 5, 5), { ...counts, running: 0, resuming: 3, waitingForWorker: 0 });
  });
  void it('read so in the progress line', () => {
    assert.equal(
      sweepProgressMessage(splitWaitingTrials(counts, 1, 1), 'validation.loss'),
      'trials 0/4 done (1 running, 1 waiting for a worker, 1 resuming after continue-as-new, 0 pruned, 0 failed)',
    );
  });
});

void describe('trials Temporal retries after their worker died, or hears nothing from', () => {
  const counts = { started: 3, running: 2, completed: 1, stopped: 0, failed: 0, maxTrials: 4, waitingForWorker: 1 };
  void it('count as retrying and unresponsive, out of running first, then out of waiting', () => {
    assert.deepEqual(withTrialAttemptCounts(counts, { retrying: 1, unresponsive: 0 }), {
      ...counts,
      running: 1,
      retrying: 1,
    });
    assert.deepEqual(withTrialAttemptCounts(counts, { retrying: 2, unresponsive: 1 }), {
      ...counts,
      running: 0,
      waitingForWorker: 0,
      retrying: 2,
      unresponsive: 1,
    });
    // No more than the sweep runs, none below zero: the table and the line may be read moments apart.
    assert.deepEqual(withTrialAttemptCounts(counts, { retrying: 9, unresponsive: -1 }), {
      ...counts,
      running: 0,
      waitingForWorker: 0,
      retrying: 3,
    });
    assert.equal(withTrialAttemptCounts(counts, { retrying: 0, unresponsive: 0 }), counts);
  });

  const progress = {
    message: 'trials 1/4 done (1 running, 1 pruned, 0 failed) best validation.loss=0.5 (trial 0)',
    fraction: 0.25,
    detail: {
      started: 2,
      running: 1,
      completed: 0,
      stopped: 1,
      failed: 0,
      maxTrials: 4,
      bestValue: 0.5,
      bestTrialId: 0,
    },
  };
  const table = (...states: string[]) => ({
    source: 'live',
    metric: 'validation.loss',
    rows: states.map((state) => ({ state })),
  });

  void it("read so in the stage's progress line, from the trial table's rows", () => {
    const shown = sweepStageProgress(progress, table('pruned', 'retrying'));
    assert.equal(
      shown.message,
      'trials 1/4 done (0 running, 1 retrying, 1 pruned, 0 failed) best validation.loss=0.5 (trial 0)',
    );
    assert.deepEqual(shown.detail, { ...progress.detail, running: 0, retrying: 1 });
    assert.equal(shown.fraction, 0.25);
    assert.equal(
      sweepStageProgress(progress, table('pruned', 'unresponsive')).message,
      'trials 1/4 done (0 running, 1 unresponsive, 1 pruned, 0 failed) best validation.loss=0.5 (trial 0)',
    );
  });

  void it('leave the line as sent when nothing retries, the sweep ended or the detail is not counts', () => {
    assert.equal(sweepStageProgress(progress, table('pruned', 'running')), progress);
    assert.equal(sweepStageProgress(progress, undefined), progress);
    assert.equal(sweepStageProgress(progress, { ...table('retrying'), outcome: 'cancelled' }), progress);
    assert.equal(sweepStageProgress(progress, { ...table('retrying'), source: 'results' }), progress);
    const epochs = { message: 'epoch 3/20', detail: { epoch: 3, epochs: 20 } };
    assert.equal(sweepStageProgress(epochs, table('retrying')), epochs);
    const forged = { ...progress, detail: { ...progress.detail, running: '1' } };
    assert.equal(sweepStageProgress(forged, table('retrying')), forged);
  });
});
