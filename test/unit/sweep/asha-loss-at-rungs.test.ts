import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import {
  ashaNextPromotion,
  ashaRecordRungs,
  createAsha,
  type AshaLossAtRungs,
  type AshaState,
} from '../../../src/core/sweep/asha';
import {
  createSweep,
  nextTrials,
  parseSweepConfig,
  recordIntermediate,
  runningTrials,
} from '../../../src/core/sweep/sweep-state';

const asha = (lossAtRungs?: AshaLossAtRungs): AshaState =>
  createAsha(
    { reductionFactor: 3, minEpochs: 1, maxEpochs: 9, promotion: true, ...(lossAtRungs ? { lossAtRungs } : {}) },
    'maximize',
  );

/** Six trials at rung 0 (epoch 1): trials 0–2 tie at 0.25 with losses 1.5, 1.2, 1.1; trials 3–5 lower, with low losses. */
function sixAtRungZero(state: AshaState): AshaState {
  const reports: [number, number][] = [
    [0.25, 1.5],
    [0.25, 1.2],
    [0.25, 1.1],
    [0.2, 0.9],
    [0.15, 0.8],
    [0.1, 0.7],
  ];
  for (const [id, [value, loss]] of reports.entries()) state = ashaRecordRungs(state, id, 1, value, 0, loss).state;
  return state;
}

const paused = () => true;

void describe('validation loss at promotion-based ASHA rungs (earlyStopping.lossAtRungs)', () => {
  void it('without it, tied values are promoted by arrival and no loss is kept', () => {
    const state = sixAtRungZero(asha());
    assert.equal(state.rungs[0]?.[0]?.loss, undefined, 'the loss is not stored');
    assert.equal(ashaNextPromotion(state, paused)?.trialId, 0, 'the first of the tied arrivals');
  });

  void it('tie-break: among tied values the lowest loss is promoted first; a better value still wins', () => {
    let state = sixAtRungZero(asha('tie-break'));
    const first = ashaNextPromotion(state, paused);
    assert.equal(first?.trialId, 2, 'loss 1.1 beats 1.2 and 1.5 at the same 0.25');
    assert.match(first?.reason ?? '', /validation loss 1\.1/);
    // A seventh trial with a higher value and the worst loss ranks first: the loss only orders equal values.
    state = ashaRecordRungs(state, 6, 1, 0.3, 0, 9).state;
    assert.equal(ashaNextPromotion(state, paused)?.trialId, 6);
  });

  void it('rank: rungs rank by loss alone, so the lowest loss is promoted whatever its value', () => {
    const state = sixAtRungZero(asha('rank'));
    const first = ashaNextPromotion(state, paused);
    assert.equal(first?.trialId, 5, 'loss 0.7 at value 0.1');
    assert.match(first?.reason ?? '', /by validation loss/);
  });

  void it('a report without a finite loss ranks after those with one', () => {
    let state = asha('tie-break');
    state = ashaRecordRungs(state, 0, 1, 0.5, 0, Number.NaN).state;
    state = ashaRecordRungs(state, 1, 1, 0.5, 0, 2).state;
    state = ashaRecordRungs(state, 2, 1, 0.1, 0, 0.1).state;
    assert.equal(state.rungs[0]?.[0]?.loss, undefined);
    assert.equal(ashaNextPromotion(state, paused)?.trialId, 1);
  });

  void it('the controller passes the loss through and refuses the option without promotion or with a bad value', () => {
    const config = (earlyStopping: Record<string, unknown>) =>
      parseSweepConfig({
        algorithm: 'random',
        space: { lr: { type: 'logUniform', min: 1e-4, max: 1e-1 } },
        objective: { metric: 'validation.accuracy', goal: 'maximize' },
        maxTrials: 6,
        parallelism: 1,
        epochsPerTrial: 9,
        earlyStopping,
        seed: 1,
      });
    let sweep = nextTrials(createSweep(config({ type: 'asha', promotion: true, lossAtRungs: 'tie-break' }))).state;
    assert.equal(sweep.stopper.type === 'asha' && sweep.stopper.config.lossAtRungs, 'tie-break');
    const [trial] = runningTrials(sweep);
    assert.ok(trial);
    sweep = recordIntermediate(sweep, trial.trialId, 1, 0.25, 1.25).state;
    assert.deepEqual(sweep.stopper.type === 'asha' && sweep.stopper.rungs[0], [
      { trialId: trial.trialId, value: 0.25, loss: 1.25 },
    ]);
    assert.throws(
      () => config({ type: 'asha', promotion: true, lossAtRungs: 'sometimes' }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidInputError);
        assert.match(error.message, /earlyStopping\.lossAtRungs.*tie-break, rank/);
        return true;
      },
    );
    assert.throws(() => config({ type: 'asha', promotion: false, lossAtRungs: 'rank' }), /needs promotion: true/);
  });
});
