import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import {
  ashaBracketOf,
  ashaBracketWeights,
  ashaNextPromotion,
  ashaRecordRungs,
  createAsha,
  type AshaState,
} from '../../../src/core/sweep/asha';
import { createSweep, nextTrials, parseSweepConfig, recordIntermediate } from '../../../src/core/sweep/sweep-state';

const bracketed = (): AshaState =>
  createAsha({ reductionFactor: 3, minEpochs: 1, maxEpochs: 9, promotion: true, brackets: true }, 'maximize');

/** The trial ids (from `from` on) of `count` trials of `bracket`. */
function idsOf(state: AshaState, bracket: number, count: number, from = 0): number[] {
  const ids: number[] = [];
  for (let id = from; ids.length < count; id++) if (ashaBracketOf(state, id) === bracket) ids.push(id);
  return ids;
}

void describe('Hyperband brackets over promotion-based ASHA (earlyStopping.brackets)', () => {
  void it("deals trials to brackets in Hyperband's proportions, interleaved, trial 0 in bracket 0", () => {
    assert.deepEqual(ashaBracketWeights(2, 3), [9, 5, 3]);
    assert.deepEqual(ashaBracketWeights(1, 2), [2, 2]);
    const state = bracketed();
    const cycle = Array.from({ length: 17 }, (_, id) => ashaBracketOf(state, id));
    assert.equal(cycle[0], 0);
    assert.deepEqual(
      [0, 1, 2].map((b) => cycle.filter((x) => x === b).length),
      [9, 5, 3],
    );
    assert.ok(new Set(cycle.slice(0, 6)).size === 3, `the first six trials span every bracket: ${cycle.join(',')}`);
    assert.equal(ashaBracketOf(state, 17), cycle[0], 'the cycle repeats');
    const plain = createAsha({ reductionFactor: 3, minEpochs: 1, maxEpochs: 9, promotion: true }, 'maximize');
    assert.equal(ashaBracketOf(plain, 4), 0, 'without brackets every trial is in bracket 0');
  });

  void it('a bracket skips the rungs below its own: bracket 1 first pauses at epoch 3, bracket 2 never', () => {
    let state = bracketed();
    const [one] = idsOf(state, 1, 1);
    const [two] = idsOf(state, 2, 1);
    assert.equal(ashaRecordRungs(state, one as number, 1, 0.9).rung, -1, 'bracket 1 goes on past epoch 1');
    const recorded = ashaRecordRungs(state, one as number, 3, 0.9);
    assert.equal(recorded.rung, 1);
    assert.deepEqual(recorded.state.rungs[0], [], 'nothing recorded at the skipped rung');
    assert.deepEqual(recorded.state.rungs[1], [{ trialId: one, value: 0.9, bracket: 1 }]);
    state = recorded.state;
    for (const epoch of [1, 3, 8]) assert.equal(ashaRecordRungs(state, two as number, epoch, 0.9).rung, -1);
  });

  void it("a rung ranks each bracket's trials apart: the top of a weak bracket is promoted", () => {
    let state = bracketed();
    // Bracket 0 at rung 0: three strong trials; bracket 1 at rung 1: three weak ones.
    const zero = idsOf(state, 0, 3);
    const one = idsOf(state, 1, 3);
    for (const [i, id] of zero.entries()) state = ashaRecordRungs(state, id, 1, 0.9 - i / 100).state;
    for (const [i, id] of one.entries()) state = ashaRecordRungs(state, id, 3, 0.3 - i / 100).state;
    const paused = () => true;
    const first = ashaNextPromotion(state, paused);
    assert.deepEqual(
      { trialId: first?.trialId, rung: first?.rung },
      { trialId: one[0], rung: 1 },
      'the best of bracket 1 at rung 1 ranks 1 of its 3, though every bracket-0 value is higher',
    );
    assert.match(first?.reason ?? '', /ranks 1 of 3 of bracket 1 \(top 1\)/);
    // Pooled (no brackets), 0.3 would not be in rung 1's top third once bracket-0 trials arrived there.
  });

  void it('is refused without promotion, or when not a boolean, at its field', () => {
    const config = (earlyStopping: Record<string, unknown>) =>
      parseSweepConfig({
        algorithm: 'random',
        space: { x: { uniform: [0, 1] } },
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        maxTrials: 5,
        parallelism: 1,
        epochsPerTrial: 9,
        earlyStopping,
        seed: 1,
      });
    const base = { type: 'asha', reductionFactor: 3, minEpochs: 1 };
    assert.throws(
      () => config({ ...base, brackets: true }),
      (error: unknown) =>
        error instanceof InvalidInputError && /earlyStopping\.brackets: needs promotion: true/.test(error.message),
    );
    assert.throws(
      () => config({ ...base, promotion: true, brackets: 'yes' }),
      (error: unknown) =>
        error instanceof InvalidInputError && /earlyStopping\.brackets: must be true or false/.test(error.message),
    );
    assert.equal('brackets' in config({ ...base, promotion: true }).earlyStopping, false, 'absent unless asked for');
  });

  void it('in a sweep, a bracket-2 trial runs its whole budget without pausing', () => {
    let state = createSweep(
      parseSweepConfig({
        algorithm: 'random',
        space: { x: { uniform: [0, 1] } },
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        maxTrials: 20,
        parallelism: 1,
        epochsPerTrial: 9,
        earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1, promotion: true, brackets: true },
        seed: 3,
      }),
    );
    const asha = state.stopper as AshaState;
    const target = idsOf(asha, 2, 1)[0] as number;
    // Trials before it pause at their first rung (bracket 0 at epoch 1, bracket 1 at epoch 3).
    for (let id = 0; id < target; id++) {
      const next = nextTrials(state);
      const trial = next.trials[0];
      assert.equal(trial?.trialId, id);
      const first = ashaBracketOf(asha, id) === 0 ? 1 : 3;
      let paused: true | undefined;
      state = next.state;
      for (let epoch = 1; epoch <= first; epoch++) ({ state, paused } = recordIntermediate(state, id, epoch, 0.5));
      assert.equal(paused, true, `trial ${id} pauses at epoch ${first}`);
    }
    const next = nextTrials(state);
    assert.deepEqual(next.resumed, [], 'no rung has three trials of one bracket yet');
    assert.equal(next.trials[0]?.trialId, target);
    state = next.state;
    for (let epoch = 1; epoch <= 8; epoch++) {
      const decision = recordIntermediate(state, target, epoch, 0.1);
      assert.equal(decision.stop, false, `epoch ${epoch}: ${decision.reason}`);
      state = decision.state;
    }
  });
});
