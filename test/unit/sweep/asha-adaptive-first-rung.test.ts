import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import {
  FIRST_RUNG_CHECK,
  ashaRecordRungs,
  createAsha,
  rankCorrelation,
  type AshaState,
} from '../../../src/core/sweep/asha';
import { createSweep, parseSweepConfig, recordIntermediate } from '../../../src/core/sweep/sweep-state';

const adaptive = (): AshaState =>
  createAsha({ reductionFactor: 3, minEpochs: 1, maxEpochs: 9, promotion: true, adaptiveFirstRung: true }, 'maximize');

/** Records trials 0…n−1 at rung 0 (epoch 1) with `first[i]`, then at rung 1 (epoch 3) with `second[i]`. */
function recordPairs(state: AshaState, first: readonly number[], second: readonly number[]): AshaState {
  for (const [id, value] of first.entries()) state = ashaRecordRungs(state, id, 1, value).state;
  for (const [id, value] of second.entries()) state = ashaRecordRungs(state, id, 3, value).state;
  return state;
}

void describe('adaptive first rung over promotion-based ASHA (earlyStopping.adaptiveFirstRung)', () => {
  void it("rankCorrelation is Spearman's, with mean ranks for ties and 0 when one side is constant", () => {
    assert.equal(rankCorrelation([1, 2, 3, 4], [10, 20, 30, 40]), 1);
    assert.equal(rankCorrelation([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    assert.equal(rankCorrelation([0.5, 0.5, 0.5], [1, 2, 3]), 0);
    // ranks x: 1.5 1.5 3 4, y: 1 2 3 4 → 4.5 / sqrt(4.5 · 5)
    assert.ok(Math.abs(rankCorrelation([0.1, 0.1, 0.2, 0.3], [1, 2, 3, 4]) - 4.5 / Math.sqrt(4.5 * 5)) < 1e-12);
    assert.equal(rankCorrelation([1], [2]), 0);
  });

  void it('decides nothing before 6 trials have values at both rungs, then once', () => {
    assert.deepEqual(FIRST_RUNG_CHECK, { trials: 6, minCorrelation: 0.3 });
    let state = recordPairs(adaptive(), [0.6, 0.5, 0.4, 0.3, 0.2], [0.2, 0.3, 0.4, 0.5, 0.6]);
    assert.equal(state.firstRungCheck, undefined, 'five pairs: no decision yet');
    state = ashaRecordRungs(state, 5, 1, 0.1).state;
    state = ashaRecordRungs(state, 5, 3, 0.7).state;
    assert.deepEqual(state.firstRungCheck, { trials: 6, correlation: -1, dropped: true });
    // A later pair that would raise the correlation changes nothing: the decision is taken once.
    state = ashaRecordRungs(state, 6, 3, 0.01).state;
    assert.deepEqual(state.firstRungCheck, { trials: 6, correlation: -1, dropped: true });
  });

  void it('keeps the first rung when it ranks like the second (correlation ≥ 0.3)', () => {
    const state = recordPairs(adaptive(), [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [0.95, 0.85, 0.75, 0.65, 0.55, 0.45]);
    assert.deepEqual(state.firstRungCheck, { trials: 6, correlation: 1, dropped: false });
    const next = ashaRecordRungs(state, 7, 1, 0.5);
    assert.equal(next.rung, 0, 'a new trial still pauses at epoch 1');
  });

  void it('after a drop a new trial is first recorded at rung 1 (epoch 3), not at epoch 1', () => {
    const state = recordPairs(adaptive(), [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    assert.equal(state.firstRungCheck?.dropped, true);
    const atOne = ashaRecordRungs(state, 7, 1, 0.99);
    assert.equal(atOne.rung, -1, 'goes on past epoch 1');
    assert.equal(atOne.state.rungs[0]?.length, 6, 'nothing recorded at rung 0');
    const atThree = ashaRecordRungs(atOne.state, 7, 3, 0.2);
    assert.equal(atThree.rung, 1);
  });

  void it('without the option nothing is decided and the state has no new field (recorded histories unchanged)', () => {
    let state = createAsha({ reductionFactor: 3, minEpochs: 1, maxEpochs: 9, promotion: true }, 'maximize');
    state = recordPairs(state, [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    assert.equal('firstRungCheck' in state, false);
    assert.equal(ashaRecordRungs(state, 7, 1, 0.99).rung, 0);
  });

  void it('a sweep with the option lets a new trial run past epoch 1 once the first rung was dropped', () => {
    const config = parseSweepConfig({
      algorithm: 'random',
      space: { lr: { uniform: [0, 1] } },
      objective: { metric: 'validation.accuracy', goal: 'maximize' },
      maxTrials: 20,
      parallelism: 1,
      epochsPerTrial: 9,
      earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1, promotion: true, adaptiveFirstRung: true },
      seed: 1,
    });
    const sweep = createSweep(config);
    const stopper = recordPairs(
      sweep.stopper as AshaState,
      [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
      [0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    );
    const trial = { trialId: 7, params: { lr: 0.5 }, status: 'running' as const, reports: [] };
    const state = {
      ...sweep,
      stopper,
      trials: [...Array.from({ length: 7 }, (_, id) => ({ ...trial, trialId: id, status: 'paused' as const })), trial],
    };
    const decision = recordIntermediate(state, 7, 1, 0.99);
    assert.equal(decision.stop, false, decision.reason);
    assert.equal(decision.reason, 'before the next rung');
  });

  void it('is refused without promotion, with brackets or promoteByTpeScore, or not a boolean, naming it', () => {
    const base = {
      algorithm: 'tpe',
      space: { lr: { uniform: [0, 1] } },
      objective: { metric: 'validation.accuracy', goal: 'maximize' },
      maxTrials: 4,
      epochsPerTrial: 9,
    };
    const parse = (earlyStopping: Record<string, unknown>) =>
      parseSweepConfig({ ...base, earlyStopping: { type: 'asha', ...earlyStopping } });
    for (const [stopping, pattern] of [
      [{ adaptiveFirstRung: true }, /earlyStopping\.adaptiveFirstRung.*needs promotion: true/],
      [{ promotion: true, adaptiveFirstRung: 'yes' }, /earlyStopping\.adaptiveFirstRung.*must be true or false/],
      [{ promotion: true, brackets: true, adaptiveFirstRung: true }, /cannot be combined with brackets/],
      [{ promotion: true, promoteByTpeScore: true, adaptiveFirstRung: true }, /cannot be combined/],
    ] as const) {
      assert.throws(
        () => parse(stopping),
        (error: unknown) => error instanceof InvalidInputError && pattern.test(error.message),
      );
    }
    const parsed = parse({ promotion: true, adaptiveFirstRung: true });
    assert.equal(parsed.earlyStopping.type === 'asha' && parsed.earlyStopping.adaptiveFirstRung, true);
    assert.equal('adaptiveFirstRung' in parse({ promotion: true }).earlyStopping, false);
    assert.throws(
      () => createAsha({ reductionFactor: 3, minEpochs: 1, maxEpochs: 9, adaptiveFirstRung: true }, 'maximize'),
      /adaptiveFirstRung: runs over promotion-based ASHA/,
    );
  });
});
