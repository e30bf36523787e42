import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import {
  nextSegmentEnd,
  objectiveValue,
  planSweep,
  promotionDefaultApplies,
  trialPrefix,
  trialSettings,
} from '../../../src/core/sweep/sweep-plan';
import type { JsonObject } from '../../../src/core/spec/plan-types';
import { createSweep, recordIntermediate, nextTrials } from '../../../src/core/sweep';

const base: JsonObject = {
  model: 's3://fineflow/models/base/model.json',
  data: 's3://fineflow/data/manifest.json',
  objective: { metric: 'validation.accuracy' },
  space: { learningRate: { logUniform: [0.0001, 0.01] }, unfreeze: { choice: [0, 2, 4] } },
};

function fieldOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof InvalidInputError, String(error));
    return error.details.field ?? error.details.path;
  }
  assert.fail('expected an InvalidInputError');
}

describe('planSweep: promotion-based ASHA by default (behind the workflow patch)', () => {
  const asha = (extra: JsonObject = {}): JsonObject => ({
    ...base,
    earlyStopping: { type: 'asha', reductionFactor: 3, ...extra },
  });
  const stoppingOf = (inputs: JsonObject, promotionByDefault: boolean) =>
    planSweep(inputs, { promotionByDefault }).config.earlyStopping;

  it('gives ASHA promotion when not written, only when asked to (sweeps recorded before replay unchanged)', () => {
    assert.deepEqual(stoppingOf(asha(), false), { type: 'asha', reductionFactor: 3, minEpochs: 1 });
    assert.deepEqual(stoppingOf(asha(), true), { type: 'asha', reductionFactor: 3, minEpochs: 1, promotion: true });
    assert.equal(promotionDefaultApplies(asha()), true);
  });

  it('keeps what the stage wrote: promotion false, an audit, median or no early stopping', () => {
    for (const inputs of [
      asha({ promotion: false }),
      asha({ auditEvery: 3 }),
      { ...base, earlyStopping: { type: 'median' } },
      base,
    ]) {
      assert.equal(promotionDefaultApplies(inputs), false, JSON.stringify(inputs.earlyStopping));
      assert.equal('promotion' in stoppingOf(inputs, true), false, JSON.stringify(inputs.earlyStopping));
    }
  });

  it('never applies to trialStage trials (they run whole and cannot pause)', () => {
    const inputs: JsonObject = {
      objective: { metric: 'score' },
      trialStage: { uses: 'command', with: { run: 'true' } },
      earlyStopping: { type: 'asha', maxEpochs: 4 },
      space: { x: { uniform: [0, 1] } },
    };
    assert.equal(promotionDefaultApplies(inputs), false);
  });
});

describe('planSweep: stage inputs → controller config', () => {
  it('applies the spec defaults and the controller defaults', () => {
    const plan = planSweep(base);
    assert.equal(plan.config.algorithm, 'tpe');
    assert.equal(plan.config.objective.goal, 'maximize');
    assert.equal(plan.config.epochsPerTrial, 10);
    assert.equal(plan.toleratedFailures, 3);
    assert.equal(plan.config.maxFailedTrials, 4, 'the controller stops launching one failure past the tolerance');
    assert.equal(plan.timeBudgetMs, undefined);
    assert.deepEqual(plan.config.earlyStopping, { type: 'none' });
  });

  it('reads warmStart: off by default and with none, defaults 5 sweeps / 200 trials, bounded, TPE only', () => {
    assert.equal(planSweep(base).warmStart, undefined);
    assert.equal(planSweep({ ...base, warmStart: 'none' }).warmStart, undefined);
    assert.deepEqual(planSweep({ ...base, warmStart: {} }).warmStart, { sweeps: 5, maxTrials: 200 });
    assert.deepEqual(planSweep({ ...base, warmStart: { sweeps: 20, maxTrials: 500 } }).warmStart, {
      sweeps: 20,
      maxTrials: 500,
    });
    assert.equal(
      fieldOf(() => planSweep({ ...base, warmStart: { sweeps: 21 } })),
      'warmStart.sweeps',
    );
    assert.equal(
      fieldOf(() => planSweep({ ...base, warmStart: { maxTrials: 0 } })),
      'warmStart.maxTrials',
    );
    assert.equal(
      fieldOf(() => planSweep({ ...base, warmStart: { maxTrials: 2.5 } })),
      'warmStart.maxTrials',
    );
    assert.equal(
      fieldOf(() => planSweep({ ...base, warmStart: 'yes' })),
      'warmStart',
    );
    assert.equal(
      fieldOf(() => planSweep({ ...base, algorithm: 'random', warmStart: {} })),
      'warmStart',
    );
  });

  it('maps the spec names: tpe.startupTrials/candidates, earlyStopping.maxEpochs, timeBudget, int ranges with step', () => {
    const plan = planSweep({
      ...base,
      algorithm: 'tpe',
      tpe: { startupTrials: 4, candidates: 12, gamma: 0.25 },
      earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1, maxEpochs: 27 },
      maxTrials: 30,
      parallelism: 3,
      maxFailedTrials: 0,
      seed: 9,
      timeBudget: '1h30m',
      space: { batchSize: { int: [8, 64], step: 8 }, learningRate: 0.001 },
      trial: { epochs: 5, optimizer: 'sgd' },
    });
    assert.equal(plan.config.tpe.nStartupTrials, 4);
    assert.equal(plan.config.tpe.nEiCandidates, 12);
    assert.equal(plan.config.epochsPerTrial, 27, 'earlyStopping.maxEpochs wins over trial.epochs');
    assert.deepEqual(plan.config.earlyStopping, { type: 'asha', reductionFactor: 3, minEpochs: 1 });
    assert.equal(plan.config.maxTrials, 30);
    assert.equal(plan.config.parallelism, 3);
    assert.equal(plan.config.maxFailedTrials, 1);
    assert.equal(plan.config.seed, 9);
    assert.equal(plan.timeBudgetMs, 5_400_000);
    const batch = plan.config.space.parameters.find((p) => p.name === 'batchSize');
    assert.deepEqual(batch?.domain, { kind: 'int', low: 8, high: 64, step: 8, log: false });
    assert.deepEqual(plan.config.space.parameters.find((p) => p.name === 'learningRate')?.domain, {
      kind: 'fixed',
      value: 0.001,
    });
    // trial settings: the budget and per-epoch checkpoints are the sweep's, the rest is the stage's.
    assert.deepEqual(plan.trialSettings, {
      optimizer: 'sgd',
      model: base.model,
      data: base.data,
      epochs: 27,
      checkpoint: { everyEpochs: 1 },
    });
  });

  it("keeps the trial's own checkpoint retention (keepLast) while checkpointing every epoch", () => {
    const plan = planSweep({ ...base, trial: { epochs: 3, checkpoint: { everyEpochs: 2, keepLast: 1 } } });
    assert.deepEqual(plan.trialSettings.checkpoint, { everyEpochs: 1, keepLast: 1 });
  });

  it('lays the sampled values over the shared settings, and the pinned base model over `model`', () => {
    const plan = planSweep({ ...base, trial: { epochs: 3, batchSize: 16 } });
    const settings = trialSettings(plan, { learningRate: 0.002, batchSize: 32 }, 'registry://digits@4');
    assert.equal(settings.learningRate, 0.002);
    assert.equal(settings.batchSize, 32);
    assert.equal(settings.epochs, 3);
    assert.equal(settings.model, 'registry://digits@4');
  });

  it('names the field of every input it rejects', () => {
    assert.equal(
      fieldOf(() => planSweep({ ...base, model: 3 })),
      'model',
    );
    assert.equal(
      fieldOf(() => planSweep({ ...base, data: '' })),
      'data',
    );
    assert.equal(
      fieldOf(() => planSweep({ ...base, objective: { metric: 'validation.f1' } })),
      'objective.metric',
    );
    assert.equal(
      fieldOf(() => planSweep({ ...base, space: { epochs: { int: [1, 5] } } })),
      'space.epochs',
    );
    assert.equal(
      fieldOf(() => planSweep({ ...base, timeBudget: 'soon' })),
      'timeBudget',
    );
    assert.equal(
      fieldOf(() => planSweep({ ...base, maxFailedTrials: -1 })),
      'maxFailedTrials',
    );
    assert.equal(
      fieldOf(() => planSweep({ ...base, space: { learningRate: { uniform: [0.1, 0.01] } } })),
      'space.learningRate.uniform',
    );
    assert.equal(
      fieldOf(() => planSweep({ ...base, earlyStopping: { type: 'asha', minEpochs: 5 }, trial: { epochs: 3 } })),
      'earlyStopping.maxEpochs',
    );
  });
});

describe('nextSegmentEnd: how far a trial trains before the workflow decides', () => {
  it('ASHA: up to the next rung above the epochs done, then the budget', () => {
    const state = createSweep(
      planSweep({ ...base, earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1 }, trial: { epochs: 27 } })
        .config,
    );
    assert.deepEqual(
      [0, 1, 2, 3, 8, 9, 20].map((done) => nextSegmentEnd(state, done)),
      [1, 3, 3, 9, 9, 27, 27],
    );
  });

  it('median rule: one epoch at a time once past the warm-up', () => {
    const state = createSweep(planSweep({ ...base, earlyStopping: { type: 'median' }, trial: { epochs: 4 } }).config);
    assert.deepEqual(
      [0, 1, 2, 3].map((done) => nextSegmentEnd(state, done)),
      [2, 2, 3, 4],
    );
  });

  it('no early stopping: the whole budget in one segment', () => {
    const state = createSweep(planSweep({ ...base, trial: { epochs: 6 } }).config);
    assert.equal(nextSegmentEnd(state, 0), 6);
  });

  it('segment ends line up with the controller: a report at the segment end is where ASHA decides', () => {
    let state = createSweep(
      planSweep({
        ...base,
        algorithm: 'random',
        parallelism: 2,
        earlyStopping: { type: 'asha', reductionFactor: 2, minEpochs: 1 },
        trial: { epochs: 4 },
      }).config,
    );
    ({ state } = nextTrials(state));
    const first = recordIntermediate(state, 0, nextSegmentEnd(state, 0), 0.9);
    assert.equal(first.stop, false, first.reason);
    const second = recordIntermediate(first.state, 1, nextSegmentEnd(first.state, 0), 0.1);
    assert.equal(second.stop, true, 'the worse trial at rung 1 stops (fewer than η trials there: it must be the best)');
  });
});

describe('objectiveValue and trialPrefix', () => {
  const metrics = { trainLoss: 0.5, trainAccuracy: 0.8, validationLoss: 0.6, validationAccuracy: 0.75 };
  it('reads each supported metric', () => {
    assert.equal(objectiveValue('validation.accuracy', metrics), 0.75);
    assert.equal(objectiveValue('validation.loss', metrics), 0.6);
    assert.equal(objectiveValue('train.accuracy', metrics), 0.8);
    assert.equal(objectiveValue('train.loss', metrics), 0.5);
    assert.equal(objectiveValue('validation.accuracy', { trainLoss: 1, trainAccuracy: 0 }), undefined);
    assert.throws(() => objectiveValue('validation.f1', metrics), InvalidInputError);
  });
  it('keeps a trial inside the stage prefix', () => {
    assert.equal(trialPrefix('s3://b/runs/r/sweep/', 7), 's3://b/runs/r/sweep/trials/trial-0007/');
    assert.equal(trialPrefix('s3://b/runs/r/sweep', 12), 's3://b/runs/r/sweep/trials/trial-0012/');
    assert.throws(() => trialPrefix('s3://b/runs/r/sweep/', -1), InvalidInputError);
  });
});
