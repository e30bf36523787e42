import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import { ashaRungEpochs, ashaShouldStop, createAsha, isPromotable, type AshaState } from '../../../src/core/sweep/asha';
import { createMedianStopping, medianShouldStop, type MedianState } from '../../../src/core/sweep/median';
import { RandomSource, seedRandomState } from '../../../src/core/sweep/random-source';
import {
  createSweep,
  nextTrials,
  parseSweepConfig,
  recordIntermediate,
  recordResult,
} from '../../../src/core/sweep/sweep-state';
import { planSweep } from '../../../src/core/sweep/sweep-plan';

/** Report `value` for each trial in order at `epoch`; returns the trials that continue. */
function reportRung(
  state: AshaState,
  epoch: number,
  reports: readonly [number, number][],
): { state: AshaState; continuing: number[] } {
  const continuing: number[] = [];
  for (const [trialId, value] of reports) {
    const decision = ashaShouldStop(state, trialId, epoch, value);
    state = decision.state;
    if (!decision.stop) continuing.push(trialId);
  }
  return { state, continuing };
}

void describe('ASHA', () => {
  void it('places rungs at minEpochs·η^k below maxEpochs', () => {
    assert.deepEqual(ashaRungEpochs({ reductionFactor: 3, minEpochs: 1, maxEpochs: 27 }), [1, 3, 9]);
    assert.deepEqual(ashaRungEpochs({ reductionFactor: 2, minEpochs: 2, maxEpochs: 20 }), [2, 4, 8, 16]);
    assert.deepEqual(ashaRungEpochs({ reductionFactor: 4, minEpochs: 5, maxEpochs: 5 }), []);
    assert.throws(() => createAsha({ reductionFactor: 1, minEpochs: 1, maxEpochs: 9 }, 'maximize'), InvalidInputError);
    assert.throws(() => createAsha({ reductionFactor: 3, minEpochs: 4, maxEpochs: 3 }, 'maximize'), InvalidInputError);
  });

  void it('promotes exactly the top 1/η at each rung', () => {
    let state = createAsha({ reductionFactor: 3, minEpochs: 1, maxEpochs: 27 }, 'maximize');
    // Nine trials reach rung 0 (epoch 1) one after another; value = 0.1 × trial id, arriving in
    // an order where each of the top three arrives when it is within ⌊n/3⌋ of those seen.
    const rung0 = reportRung(
      state,
      1,
      [9, 1, 2, 3, 4, 8, 5, 6, 7].map((id): [number, number] => [id, id / 10]),
    );
    assert.deepEqual(rung0.continuing.sort(), [7, 8, 9], 'top 3 of 9 continue past epoch 1');
    // Reports between rungs never stop a trial.
    for (const id of [7, 8, 9]) assert.equal(ashaShouldStop(rung0.state, id, 2, 0).stop, false);
    const rung1 = reportRung(rung0.state, 3, [
      [9, 0.95],
      [8, 0.85],
      [7, 0.75],
    ]);
    assert.deepEqual(rung1.continuing, [9], 'top 1 of 3 continues past epoch 3');
    state = rung1.state;
    assert.deepEqual(
      state.rungs.map((entries) => entries.length),
      [9, 3, 0],
    );
    const decision = ashaShouldStop(state, 9, 9, 0.99);
    assert.equal(decision.stop, false);
    assert.equal(decision.rung, 2);
  });

  void it('decides each arrival by its rank among the values recorded so far (minimize)', () => {
    const random = new RandomSource(seedRandomState(11));
    let state = createAsha({ reductionFactor: 4, minEpochs: 2, maxEpochs: 100 }, 'minimize');
    const seen: number[] = [];
    for (let trialId = 0; trialId < 60; trialId++) {
      const value = random.uniform();
      seen.push(value);
      const keep = Math.max(1, Math.floor(seen.length / 4));
      const rank = seen.filter((other) => other < value).length; // 0 = best
      const decision = ashaShouldStop(state, trialId, 2, value);
      state = decision.state;
      assert.equal(decision.stop, rank >= keep, `trial ${trialId}: rank ${rank} of ${seen.length}, keep ${keep}`);
      assert.equal(decision.rung, 0);
    }
  });

  void it('records every rung a trial skips past in one report, and stops on a non-finite value', () => {
    const state = createAsha({ reductionFactor: 2, minEpochs: 1, maxEpochs: 16 }, 'maximize');
    const jump = ashaShouldStop(state, 0, 5, 0.5);
    assert.equal(jump.stop, false);
    assert.equal(jump.rung, 2, 'epochs 1, 2 and 4 completed');
    assert.equal(ashaShouldStop(jump.state, 1, 1, NaN).stop, true);
  });

  void it('lets ties continue', () => {
    assert.equal(isPromotable(0.5, [0.5, 0.5, 0.5], 3, 'maximize'), true);
    assert.equal(isPromotable(0.4, [0.5, 0.4, 0.3], 3, 'maximize'), false);
    assert.equal(isPromotable(0.3, [0.5, 0.4, 0.3], 3, 'minimize'), true);
  });
});

void describe('ASHA grace (earlyStopping.graceParameter)', () => {
  void it('does not judge a trial at rungs at or below its grace epochs, and does not record it there', () => {
    let state = createAsha({ reductionFactor: 3, minEpochs: 1, maxEpochs: 9 }, 'maximize');
    for (const [trialId, value] of [
      [0, 0.9],
      [1, 0.8],
      [2, 0.7],
    ] as const)
      state = ashaShouldStop(state, trialId, 1, value).state;
    const slow = ashaShouldStop(state, 3, 1, 0.1, 1.5);
    assert.equal(slow.stop, false, 'still warming up at epoch 1');
    assert.deepEqual(slow.state.rungs[0]?.length, 3, 'not recorded at the skipped rung');
    const unguarded = ashaShouldStop(state, 3, 1, 0.1);
    assert.equal(unguarded.stop, true, 'the same value without grace is stopped');
    const atThree = ashaShouldStop(slow.state, 3, 3, 0.2, 1.5);
    assert.equal(atThree.stop, false, 'judged at epoch 3: alone there, so the best so far');
    assert.deepEqual(atThree.state.rungs[1], [{ trialId: 3, value: 0.2 }]);
    assert.equal(ashaShouldStop(state, 4, 3, 0.05, 3).stop, false, 'grace 3 skips the epoch-3 rung too');
  });

  void it('reads the grace from the trial’s parameter named in the config, which must be in the space', () => {
    const stage = {
      objective: { metric: 'validation.accuracy' },
      space: { lr: { logUniform: [1e-4, 1] }, warmupEpochs: { uniform: [0, 4] } },
      epochsPerTrial: 9,
      maxTrials: 20,
      earlyStopping: { type: 'asha', graceParameter: 'warmupEpochs' },
    };
    const config = parseSweepConfig(stage);
    assert.equal(config.earlyStopping.type === 'asha' && config.earlyStopping.graceParameter, 'warmupEpochs');
    const plain = parseSweepConfig({ ...stage, earlyStopping: { type: 'asha' } });
    assert.equal('graceParameter' in plain.earlyStopping, false, 'absent unless given: earlier sweeps unchanged');
    assert.throws(
      () => parseSweepConfig({ ...stage, earlyStopping: { type: 'asha', graceParameter: 'warmup' } }),
      (error: unknown) =>
        error instanceof InvalidInputError &&
        error.details.path === 'earlyStopping.graceParameter' &&
        /lr, warmupEpochs/.test(error.message),
    );
    // Drive a sweep: trials with warm-up ≥ 1 epoch are never stopped at epoch 1.
    let state = createSweep(config);
    const stoppedAtOne: number[] = [];
    for (let i = 0; i < 12; i++) {
      const started = nextTrials(state);
      state = started.state;
      const trial = started.trials[0] as { trialId: number; params: Record<string, unknown> };
      const decision = recordIntermediate(state, trial.trialId, 1, ((i * 7) % 10) / 10);
      state = decision.state;
      if (decision.stop) stoppedAtOne.push(trial.params.warmupEpochs as number);
      state = recordResult(state, trial.trialId, { status: 'stopped' });
    }
    assert.ok(stoppedAtOne.length > 0);
    assert.ok(
      stoppedAtOne.every((warmup) => warmup < 1),
      `stopped at epoch 1 with warm-up ${stoppedAtOne.join(', ')}`,
    );
  });
});

void it('the grace is opt-in: a named warm-up parameter gets it; absent, `none` or another stopping rule do not', () => {
  const inputs = {
    model: 's3://fineflow/models/base/model.json',
    data: 's3://fineflow/data/manifest.json',
    objective: { metric: 'validation.accuracy' },
    space: { learningRate: { logUniform: [1e-4, 1] }, warmupEpochs: { uniform: [0, 4] } },
    trial: { epochs: 9 },
    earlyStopping: { type: 'asha' },
  };
  const grace = (plan: ReturnType<typeof planSweep>) =>
    plan.config.earlyStopping.type === 'asha' ? plan.config.earlyStopping.graceParameter : 'not asha';
  const withGrace = (value: string) => ({ ...inputs, earlyStopping: { type: 'asha', graceParameter: value } });
  assert.equal(grace(planSweep(withGrace('warmupEpochs'))), 'warmupEpochs');
  assert.equal(grace(planSweep(inputs)), undefined, 'not a default: the benchmark did not show it helps');
  assert.equal(grace(planSweep(withGrace('none'))), undefined);
  assert.throws(() => planSweep(withGrace('warmup')), /earlyStopping\.graceParameter.*learningRate, warmupEpochs/);
  const median = { ...inputs, earlyStopping: { type: 'median' } };
  assert.equal(planSweep(median).config.earlyStopping.type, 'median');
});

void describe('median stopping', () => {
  function report(
    state: MedianState,
    trialId: number,
    values: readonly number[],
  ): { state: MedianState; stops: boolean[] } {
    const stops: boolean[] = [];
    values.forEach((value, i) => {
      const decision = medianShouldStop(state, trialId, i + 1, value);
      state = decision.state;
      stops.push(decision.stop);
    });
    return { state, stops };
  }

  void it('stops a trial whose best so far is worse than the others’ median at that epoch, after warm-up', () => {
    let state = createMedianStopping({ warmupEpochs: 1, minTrials: 3 }, 'maximize');
    state = report(state, 0, [0.2, 0.4, 0.6]).state;
    state = report(state, 1, [0.3, 0.5, 0.7]).state;
    // Only two others so far: not enough to judge.
    const early = report(state, 2, [0.0, 0.0, 0.0]);
    assert.deepEqual(early.stops, [false, false, false]);
    state = early.state;
    // Others at epoch 2: 0.4, 0.5, 0.0 → median 0.4. Epoch 1 is warm-up.
    assert.deepEqual(report(state, 3, [0.0, 0.39, 0.9]).stops, [false, true, false]);
    assert.equal(medianShouldStop(state, 3, 2, 0.41).stop, false);
    // Best so far counts, not the latest value: 0.45 at epoch 1 beats the epoch-2 median 0.4.
    const withBest = medianShouldStop(medianShouldStop(state, 4, 1, 0.45).state, 4, 2, 0.1);
    assert.equal(withBest.stop, false);
  });

  void it('works for minimisation and validates its config', () => {
    let state = createMedianStopping({ warmupEpochs: 0, minTrials: 2 }, 'minimize');
    state = medianShouldStop(state, 0, 1, 1.0).state;
    state = medianShouldStop(state, 1, 1, 2.0).state;
    assert.equal(medianShouldStop(state, 2, 1, 1.6).stop, true, 'median of 1.0 and 2.0 is 1.5');
    assert.equal(medianShouldStop(state, 2, 1, 1.4).stop, false);
    assert.throws(() => createMedianStopping({ minTrials: 0 }, 'minimize'), InvalidInputError);
  });
});
