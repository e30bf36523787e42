import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  epochLine,
  finishedLine,
  formatParams,
  prunedLine,
  segmentLines,
  segmentStartedLine,
  stampLine,
  sweepEndedLine,
  sweepStartedLine,
} from '../../../src/core/sweep/sweep-log';
import type { SweepTrialSegmentResult } from '../../../src/core/sweep/sweep-types';

const segment: SweepTrialSegmentResult = {
  trialId: 3,
  reports: [
    {
      epoch: 2,
      value: 0.61234,
      metrics: { trainLoss: 0.41, trainAccuracy: 0.8234, validationLoss: 0.52, validationAccuracy: 0.61234 },
    },
    { epoch: 3, value: 0.7, metrics: { trainLoss: 0.3, trainAccuracy: 0.9 } },
  ],
  epochsDone: 3,
  finished: true,
  finalValue: 0.7,
  backend: 'tensorflow',
  engine: 'graph',
  worker: '42@train-a',
  startedAtMs: 1_000,
  endedAtMs: 3_500,
  attempt: 2,
  resumedFromEpoch: 2,
};

describe('sweep log lines', () => {
  it('stamps lines like the stage runner and keeps each on one line', () => {
    assert.equal(stampLine(Date.UTC(2026, 10, 26, 19, 40), 'a\nb'), '2026-11-26T19:40:00.000Z a b');
  });

  it('names parameters sorted, numbers to four significant digits', () => {
    assert.equal(
      formatParams({ learningRate: 0.00123456, batchSize: 32, optimizer: 'adam', tags: ['a b'] }),
      'batchSize=32 learningRate=0.001235 optimizer=adam tags=["a b"]',
    );
    assert.equal(formatParams({}), '(no parameters)');
  });

  it('a long segment reads in minutes and hours, as every other duration (formatHumanDuration)', () => {
    const long = { ...segment, startedAtMs: 0, endedAtMs: 2 * 3_600_000 + 5 * 60_000 };
    assert.match(segmentLines('validation.accuracy', 1, long).at(-1) ?? '', / in 2h 5m, backend tensorflow/);
    const minutes = { ...segment, startedAtMs: 0, endedAtMs: 125_000 };
    assert.match(segmentLines('validation.accuracy', 1, minutes).at(-1) ?? '', / in 2m 5s, backend tensorflow/);
  });

  it('a first segment names the params, a later one the checkpoint it resumes', () => {
    assert.equal(segmentStartedLine(3, { lr: 0.01 }, 0, 1), 'trial 3 started with lr=0.01; training epochs 1-1');
    assert.equal(
      segmentStartedLine(3, { lr: 0.01 }, 1, 3),
      'trial 3 continues from the checkpoint of epoch 1; training epochs 2-3',
    );
  });

  it('a segment gives one line per epoch, then worker, retry, backend and engine', () => {
    const lines = segmentLines('validation.accuracy', 1, segment);
    assert.deepEqual(lines, [
      'trial 3 epoch 2: validation.accuracy=0.6123 (train loss 0.41 accuracy 0.8234, validation loss 0.52 accuracy 0.6123)',
      'trial 3 epoch 3: validation.accuracy=0.7 (train loss 0.3 accuracy 0.9)',
      'trial 3 segment epochs 2-3 ran on 42@train-a (attempt 2, resumed from epoch 2) in 2.5 s, backend tensorflow, engine graph',
    ]);
    assert.equal(
      epochLine(1, 'train.loss', {
        epoch: 1,
        value: 0.5,
        metrics: { trainLoss: 0.5, trainAccuracy: 0.7, validationAccuracy: 0.6 },
      }),
      'trial 1 epoch 1: train.loss=0.5 (train loss 0.5 accuracy 0.7, validation loss - accuracy 0.6)',
    );
  });

  it("a segment on the eager engine because graph was unavailable gets fine-tune's warning line, with the reason", () => {
    const eager = { ...segment, engine: 'eager', engineFallbackReason: 'the graph addon is missing' };
    const lines = segmentLines('validation.accuracy', 1, eager);
    assert.match(lines.at(-2) ?? '', /, engine eager$/);
    assert.equal(
      lines.at(-1),
      'trial 3 warning: trained on the eager engine, not the faster graph engine: the graph addon is missing',
    );
    assert.equal(segmentLines('validation.accuracy', 1, segment).length, 3, 'no warning on the graph engine');
  });

  it('says why a trial was pruned and how one finished', () => {
    assert.equal(
      prunedLine(4, 3, 'rung 1 (epoch 3): 0.41 is not in the top 1/3'),
      'trial 4 pruned at epoch 3: rung 1 (epoch 3): 0.41 is not in the top 1/3',
    );
    assert.equal(
      finishedLine(3, 'validation.accuracy', 0.70004, 9, segment),
      'trial 3 finished with validation.accuracy=0.7 after 9 epoch(s) (backend tensorflow, engine graph)',
    );
    assert.equal(
      finishedLine(3, 'validation.accuracy', 0.7, 9, {}),
      'trial 3 finished with validation.accuracy=0.7 after 9 epoch(s)',
    );
  });

  it('sweep start and end lines; a cancelled sweep says its results are partial', () => {
    assert.match(
      sweepStartedLine({
        algorithm: 'tpe',
        earlyStopping: 'asha',
        maxTrials: 8,
        parallelism: 2,
        metric: 'validation.accuracy',
        goal: 'maximize',
        epochsPerTrial: 9,
        generation: 0,
      }),
      /^sweep started: tpe search, asha early stopping, up to 8 trials, 2 at a time/,
    );
    assert.match(
      sweepStartedLine({
        algorithm: 'tpe',
        earlyStopping: 'none',
        maxTrials: 8,
        parallelism: 2,
        metric: 'm',
        goal: 'maximize',
        epochsPerTrial: 9,
        generation: 2,
      }),
      /continues as new/,
    );
    assert.equal(
      sweepEndedLine('cancelled', '1 completed', 's3://b/r/results.json', {
        trialId: 0,
        value: 0.9,
        metric: 'validation.accuracy',
      }),
      'sweep cancelled: 1 completed; best trial 0 with validation.accuracy=0.9; results in s3://b/r/results.json (partial)',
    );
    assert.equal(
      sweepEndedLine('completed', '2 completed', 's3://x'),
      'sweep completed: 2 completed; results in s3://x',
    );
  });
});
