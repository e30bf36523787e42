import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SweepProgress } from '../../../src/core/sweep/sweep-state';
import { splitWaitingTrials, sweepProgressMessage } from '../../../src/core/sweep/trials-waiting';

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
