import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import {
  ashaNextPromotion,
  ashaRecordRungs,
  ashaMarkPromoted,
  createAsha,
  type AshaState,
} from '../../../src/core/sweep/asha';
import { parseSearchSpace } from '../../../src/core/sweep/space';
import {
  createSweep,
  isDone,
  nextTrials,
  parseSweepConfig,
  recordIntermediate,
  recordResult,
  runningTrials,
  type SweepState,
} from '../../../src/core/sweep/sweep-state';
import { createTpeSearch, tpeScore, type TpeSearchState, type TpeTrial } from '../../../src/core/sweep/tpe';

const space = parseSearchSpace({ x: { uniform: [0, 1] }, size: { choice: [8, 16] } }, 'space');

function tpeWith(trials: readonly TpeTrial[], nStartupTrials = 3): TpeSearchState {
  return { ...createTpeSearch(space, 'maximize', 1, { nStartupTrials }), trials, nextTrialId: trials.length };
}

const completed = (trialId: number, x: number, size: number, value: number): TpeTrial => ({
  trialId,
  params: { x, size },
  status: 'completed',
  value,
});

void describe("TPE's score of a configuration (tpeScore)", () => {
  // Good results near x = 0.1 with size 8, poor ones near x = 0.9 with size 16.
  const history = [
    completed(0, 0.1, 8, 0.9),
    completed(1, 0.12, 8, 0.88),
    ...Array.from({ length: 10 }, (_, i) => completed(2 + i, 0.8 + i / 50, 16, 0.2 + i / 100)),
  ];

  void it('rates a configuration like the good trials above one like the poor trials', () => {
    const state = tpeWith([
      ...history,
      { trialId: 12, params: { x: 0.11, size: 8 }, status: 'pruned', value: 0.1, epoch: 1 },
      { trialId: 13, params: { x: 0.85, size: 16 }, status: 'pruned', value: 0.5, epoch: 1 },
    ]);
    const near = tpeScore(state, 12);
    const far = tpeScore(state, 13);
    assert.ok(near !== undefined && far !== undefined);
    assert.ok(near > 0 && far < 0 && near > far, `near ${near}, far ${far}`);
  });

  void it("leaves the trial's own result out: its score does not depend on its value or status", () => {
    const scoreWith = (own: TpeTrial) => tpeScore(tpeWith([...history, own]), 12);
    const paused = scoreWith({ trialId: 12, params: { x: 0.3, size: 8 }, status: 'pruned', value: 0.1, epoch: 1 });
    const best = scoreWith(completed(12, 0.3, 8, 0.99));
    const running = scoreWith({ trialId: 12, params: { x: 0.3, size: 8 }, status: 'running' });
    assert.equal(paused, best);
    assert.equal(paused, running);
  });

  void it('is undefined until the model is in use (nStartupTrials finished trials besides it) and for an unknown id', () => {
    const few = tpeWith([completed(0, 0.1, 8, 0.9), completed(1, 0.9, 16, 0.2), completed(2, 0.5, 8, 0.5)], 3);
    assert.equal(tpeScore(few, 2), undefined, 'two others < 3 startup trials');
    assert.notEqual(tpeScore({ ...few, options: { ...few.options, nStartupTrials: 2 } }, 2), undefined);
    assert.equal(tpeScore(few, 99), undefined);
  });
});

const promoting = (): AshaState =>
  createAsha({ reductionFactor: 3, minEpochs: 1, maxEpochs: 9, promotion: true }, 'maximize');

/** Rung 0 with trials 0…n-1 at values 1 − id/100 (trial 0 best), the value's top ⌊n/3⌋ already promoted. */
function rungOf(n: number): AshaState {
  let state = promoting();
  for (let id = 0; id < n; id++) state = ashaRecordRungs(state, id, 1, 1 - id / 100).state;
  for (let id = 0; id < Math.floor(n / 3); id++) state = ashaMarkPromoted(state, id, 0);
  return state;
}

void describe("promotion's second chance (ashaNextPromotion with a score)", () => {
  const paused = () => true;
  // The score ranks trial 7 first, trial 8 second: both below the value's top third.
  const score = (trialId: number) => ({ 7: 5, 8: 4 })[trialId] ?? -trialId;
  const secondChance = { score, label: 'TPE score' };

  void it("promotes the best-scored paused trial of the rung's top ⌊n/η²⌋ by score when the value's top is used up", () => {
    const state = rungOf(9);
    assert.equal(ashaNextPromotion(state, paused), undefined, 'by value alone nobody is promotable');
    const promotion = ashaNextPromotion(state, paused, false, secondChance);
    assert.deepEqual({ trialId: promotion?.trialId, rung: promotion?.rung }, { trialId: 7, rung: 0 });
    assert.match(promotion?.reason ?? '', /by its TPE score 5: ranks 1 of 9 by it \(top 1\)/);
    const after = ashaMarkPromoted(state, 7, 0);
    assert.equal(ashaNextPromotion(after, paused, false, secondChance), undefined, 'top ⌊9/9⌋ = 1: only one');
    const eighteen = ashaMarkPromoted(rungOf(18), 7, 0);
    assert.equal(ashaNextPromotion(eighteen, paused, false, secondChance)?.trialId, 8, 'top ⌊18/9⌋ = 2');
  });

  void it('waits for η² trials at the rung, and the value keeps priority', () => {
    assert.equal(ashaNextPromotion(rungOf(8), paused, false, secondChance), undefined, '⌊8/9⌋ = 0');
    const fresh = promoting();
    let state = fresh;
    for (let id = 0; id < 9; id++) state = ashaRecordRungs(state, id, 1, 1 - id / 100).state;
    assert.equal(ashaNextPromotion(state, paused, false, secondChance)?.trialId, 0, "the value's top first");
  });

  void it('skips trials without a score, running trials and the last resort ignores it', () => {
    const state = rungOf(9);
    assert.equal(
      ashaNextPromotion(state, (id) => id !== 7, false, secondChance),
      undefined,
      'trial 7 is running',
    );
    const unscored = { score: (id: number) => (id === 7 ? undefined : -100 - id), label: 'TPE score' };
    assert.equal(
      ashaNextPromotion(state, paused, false, unscored),
      undefined,
      'trial 7 has no score; the top by score, trial 0, was promoted by its value already',
    );
    assert.equal(ashaNextPromotion(state, paused, true, secondChance)?.trialId, 3, 'last resort: by value');
  });
});

void describe('earlyStopping.promoteByTpeScore in the sweep controller', () => {
  const config = (earlyStopping: Record<string, unknown>, algorithm = 'tpe') =>
    parseSweepConfig({
      algorithm,
      space: { x: { uniform: [0, 1] } },
      objective: { metric: 'validation.accuracy', goal: 'maximize' },
      maxTrials: 5,
      epochsPerTrial: 9,
      earlyStopping,
      seed: 1,
    });
  const base = { type: 'asha', reductionFactor: 3, minEpochs: 1, promotion: true };

  void it('is refused at its field when not a boolean, without promotion, with another algorithm or with brackets', () => {
    const refused = (earlyStopping: Record<string, unknown>, pattern: RegExp, algorithm = 'tpe') =>
      assert.throws(
        () => config(earlyStopping, algorithm),
        (error: unknown) =>
          error instanceof InvalidInputError &&
          error.message.startsWith('earlyStopping.promoteByTpeScore: ') &&
          pattern.test(error.message),
      );
    refused({ ...base, promoteByTpeScore: 'yes' }, /must be true or false/);
    refused({ ...base, promotion: false, promoteByTpeScore: true }, /needs promotion: true/);
    refused({ ...base, promoteByTpeScore: true }, /needs algorithm: tpe .*got algorithm random/, 'random');
    refused({ ...base, brackets: true, promoteByTpeScore: true }, /cannot be combined with brackets/);
    assert.equal('promoteByTpeScore' in config(base).earlyStopping, false, 'absent unless asked for');
  });

  /**
   * A sweep over x where small x starts slowly and ends best (epoch 1: x; epoch 9: 1 − x), so the value's top at the
   * first rung is the worst configurations; the searcher learns small x is good from the trials that complete.
   */
  function drive(promoteByTpeScore: boolean, epochs: number): { state: SweepState; reasons: string[] } {
    let state = createSweep(
      parseSweepConfig({
        algorithm: 'tpe',
        space: { x: { uniform: [0, 1] } },
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        maxTrials: 200,
        parallelism: 2,
        epochsPerTrial: 9,
        earlyStopping: { ...base, ...(promoteByTpeScore ? { promoteByTpeScore } : {}) },
        tpe: { nStartupTrials: 5 },
        seed: 4,
      }),
    );
    const reasons: string[] = [];
    const done = new Map<number, number>();
    const valueAt = (x: number, epoch: number) => x + ((1 - 2 * x) * (epoch - 1)) / 8;
    for (let spent = 0; spent < epochs && !isDone(state);) {
      const next = nextTrials(state);
      state = next.state;
      reasons.push(...next.resumed.map((trial) => trial.reason));
      for (const trial of runningTrials(state)) {
        const epoch = (done.get(trial.trialId) ?? 0) + 1;
        done.set(trial.trialId, epoch);
        spent++;
        const value = valueAt(trial.params.x as number, epoch);
        const decision = recordIntermediate(state, trial.trialId, epoch, value);
        state = decision.state;
        if (decision.stop) state = recordResult(state, trial.trialId, { status: 'stopped', epochs: epoch });
        else if (epoch >= 9) state = recordResult(state, trial.trialId, { status: 'completed', value, epochs: epoch });
      }
    }
    return { state, reasons };
  }

  void it('promotes a paused trial by its TPE score, which promotion by value never does', () => {
    const without = drive(false, 150);
    assert.equal(without.reasons.filter((reason) => /TPE score/.test(reason)).length, 0);
    const withScore = drive(true, 150);
    const bySecondChance = withScore.reasons.filter((reason) => /by its TPE score/.test(reason));
    assert.ok(bySecondChance.length > 0, `no second-chance promotion in: ${withScore.reasons.join(' | ')}`);
    const best = (run: { state: SweepState }) =>
      Math.max(...run.state.trials.filter((trial) => trial.status === 'completed').map((trial) => trial.value ?? 0));
    assert.ok(best(withScore) > best(without), `with ${best(withScore)}, without ${best(without)}`);
  });
});
