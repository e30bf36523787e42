import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import { ashaNextPromotion, ashaRecordRungs, createAsha } from '../../../src/core/sweep/asha';
import {
  closePausedTrials,
  best,
  createSweep,
  finishesPausedAfterClose,
  isDone,
  nextTrials,
  parseSweepConfig,
  recordIntermediate,
  recordResult,
  resultsTable,
  stopLaunching,
  sweepProgress,
  type SweepState,
} from '../../../src/core/sweep/sweep-state';
import type { TpeSearchState } from '../../../src/core/sweep/tpe';

const SPACE = { x: { uniform: [0, 1] } };

function promotionSweep(overrides: Record<string, unknown> = {}): SweepState {
  return createSweep(
    parseSweepConfig({
      algorithm: 'random',
      space: SPACE,
      objective: { metric: 'validation.accuracy', goal: 'maximize' },
      maxTrials: 30,
      parallelism: 1,
      epochsPerTrial: 9,
      earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1, promotion: true },
      seed: 5,
      ...overrides,
    }),
  );
}

/** Starts the next trial (asserting that it is new, not a resume) and runs it to its first rung (epoch 1). */
function startAndPause(state: SweepState, value: number): { state: SweepState; trialId: number } {
  const next = nextTrials(state);
  assert.deepEqual(next.resumed, [], 'a new trial starts');
  const [trial] = next.trials;
  assert.ok(trial);
  const decision = recordIntermediate(next.state, trial.trialId, 1, value);
  assert.equal(decision.paused, true, decision.reason);
  return { state: decision.state, trialId: trial.trialId };
}

const status = (state: SweepState, trialId: number) => state.trials[trialId]?.status;

void describe('promotion-based ASHA (earlyStopping.promotion)', () => {
  void it('is absent unless asked for: no promotion record, trials are judged on arrival and never pause', () => {
    const state = promotionSweep({ earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1 } });
    assert.equal('promotion' in state.config.earlyStopping, false);
    assert.equal(state.stopper.type === 'asha' && 'promoted' in state.stopper, false);
    const started = nextTrials(state);
    const decision = recordIntermediate(started.state, 0, 1, 0.5);
    assert.equal(decision.stop, false, 'the first trial is the best so far and continues');
    assert.equal(decision.paused, undefined);
    assert.equal('paused' in sweepProgress(decision.state), false);
  });

  void it('pauses a trial at a rung and starts new trials while the rung has fewer than η values', () => {
    let state = promotionSweep();
    ({ state } = startAndPause(state, 0.9));
    assert.equal(status(state, 0), 'paused');
    assert.equal(state.trials[0]?.epochs, 1);
    ({ state } = startAndPause(state, 0.1));
    assert.equal(status(state, 1), 'paused', 'a rung of two promotes nobody, not even the best');
    assert.equal(sweepProgress(state).paused, 2);
    assert.equal(sweepProgress(state).running, 0);
  });

  void it('resumes the best paused trial before starting a new one once it ranks in the top 1/η', () => {
    let state = promotionSweep();
    for (const value of [0.9, 0.1, 0.5]) ({ state } = startAndPause(state, value));
    const next = nextTrials(state);
    assert.deepEqual(next.trials, [], 'the slot goes to the promoted trial');
    assert.equal(next.resumed.length, 1);
    assert.equal(next.resumed[0]?.trialId, 0);
    assert.equal(next.resumed[0]?.fromEpoch, 1, 'it resumes from the checkpoint of its rung');
    assert.match(next.resumed[0]?.reason ?? '', /promoted from rung 0 \(epoch 1\): 0\.9 ranks 1 of 3 \(top 1\)/);
    assert.equal(status(next.state, 0), 'running');
    assert.equal(next.state.trials[0]?.epochs, undefined, 'a running trial has no final epoch count');
    // Its epochs continue: 2 (between rungs) goes on, 3 (rung 1) pauses it again.
    const two = recordIntermediate(next.state, 0, 2, 0.91);
    assert.equal(two.stop, false);
    const three = recordIntermediate(two.state, 0, 3, 0.92);
    assert.equal(three.paused, true);
    assert.deepEqual(
      three.state.trials[0]?.reports.map((report) => report.epoch),
      [1, 2, 3],
    );
    // Promoted once from rung 0; the next free slot starts a new trial (rung 1 has one value, rung 0 no other).
    const after = nextTrials(three.state);
    assert.deepEqual(after.resumed, []);
    assert.equal(after.trials[0]?.trialId, 3);
  });

  void it('makes the second of three promotable once its rung has six values', () => {
    let state = promotionSweep();
    for (const value of [0.9, 0.8, 0.1]) ({ state } = startAndPause(state, value));
    let next = nextTrials(state);
    assert.equal(next.resumed[0]?.trialId, 0);
    state = recordIntermediate(next.state, 0, 3, 0.5).state; // trial 0 pauses at rung 1
    for (const value of [0.2, 0.3]) ({ state } = startAndPause(state, value));
    assert.equal(status(state, 1), 'paused', 'five values at rung 0: only the top one, already promoted');
    ({ state } = startAndPause(state, 0.05));
    next = nextTrials(state);
    assert.equal(next.resumed[0]?.trialId, 1, 'six values: the top two, and trial 1 is second');
    assert.match(next.resumed[0]?.reason ?? '', /ranks 2 of 6 \(top 2\)/);
  });

  void it('promotes from the highest rung first', () => {
    const asha = createAsha({ reductionFactor: 2, minEpochs: 1, maxEpochs: 8, promotion: true }, 'maximize');
    let state = asha;
    for (const [trialId, epoch, value] of [
      [0, 1, 0.4],
      [1, 1, 0.3],
      [2, 1, 0.9],
      [3, 1, 0.8],
      [0, 2, 0.6],
      [2, 2, 0.7],
    ] as const)
      state = ashaRecordRungs(state, trialId, epoch, value).state;
    const promotion = ashaNextPromotion(state, () => true);
    assert.deepEqual(
      { trialId: promotion?.trialId, rung: promotion?.rung },
      { trialId: 2, rung: 1 },
      'rung 1 (two values, top one) before rung 0 (four values, top two)',
    );
  });

  void it('shows TPE a paused trial as pruned at its deepest rung, with its value there', () => {
    let state = promotionSweep({ algorithm: 'tpe' });
    ({ state } = startAndPause(state, 0.7));
    const searcher = state.searcher as TpeSearchState;
    assert.deepEqual(
      searcher.trials.find((trial) => trial.trialId === 0),
      { trialId: 0, params: state.trials[0]?.params, status: 'pruned', value: 0.7, epoch: 1 },
    );
  });

  void it('records trials still paused when the sweep ends as stopped there; the sweep is done', () => {
    // η = 5: rungs at epochs 1 and 5; four trials never fill a rung's top ⌊n/5⌋.
    let state = promotionSweep({ maxTrials: 4, earlyStopping: { type: 'asha', reductionFactor: 5, promotion: true } });
    for (const value of [0.1, 0.9, 0.5, 0.3]) ({ state } = startAndPause(state, value));
    // Nobody is promotable, no new trial may start (maxTrials) and none completed, so the best paused trial of the
    // highest rung goes on (otherwise the sweep would end without a result).
    assert.equal(isDone(state), false);
    let next = nextTrials(state);
    assert.equal(next.resumed[0]?.trialId, 1);
    assert.match(next.resumed[0]?.reason ?? '', /no new trial may start and none completed/);
    state = recordIntermediate(next.state, 1, 5, 0.95).state;
    assert.equal(status(state, 1), 'paused');
    next = nextTrials(state);
    assert.equal(next.resumed[0]?.trialId, 1, 'then from its new, highest rung');
    assert.equal(next.resumed[0]?.fromEpoch, 5);
    state = recordIntermediate(next.state, 1, 9, 0.97).state;
    state = recordResult(state, 1, { status: 'completed', value: 0.97, epochs: 9 });
    assert.equal(isDone(state), true);
    assert.deepEqual(nextTrials(state).resumed, []);
    const closed = closePausedTrials(state);
    assert.deepEqual(
      closed.trials.map((trial) => trial.status),
      ['stopped', 'completed', 'stopped', 'stopped'],
    );
    const rows = resultsTable(closed).rows;
    assert.equal(rows[0]?.stopReason, 'paused at epoch 1 and not promoted before the sweep ended');
    assert.equal(rows[0]?.epochs, 1);
    assert.equal(rows[0]?.value, 0.1);
  });

  void it('resumes nobody once the target is reached', () => {
    let state = promotionSweep({
      objective: { metric: 'validation.accuracy', goal: 'maximize', target: 0.5 },
      parallelism: 2,
      epochsPerTrial: 3, // one rung, at epoch 1
    });
    const pauseAll = (values: readonly number[]) => {
      const next = nextTrials(state);
      assert.deepEqual(next.resumed, []);
      state = next.state;
      next.trials.forEach(
        (trial, i) => (state = recordIntermediate(state, trial.trialId, 1, values[i] as number).state),
      );
    };
    pauseAll([0.9, 0.1]);
    pauseAll([0.4, 0.45]); // rung 0: 0.9, 0.1, 0.4, 0.45 → trial 0 is in the top ⌊4/3⌋
    const next = nextTrials(state);
    assert.deepEqual(
      next.resumed.map((trial) => trial.trialId),
      [0],
    );
    assert.deepEqual(
      next.trials.map((trial) => trial.trialId),
      [4],
      'the second slot starts a new trial',
    );
    state = recordIntermediate(next.state, 0, 3, 0.99).state;
    state = recordResult(state, 0, { status: 'completed', value: 0.99, epochs: 3 });
    state = recordIntermediate(state, 4, 1, 0.95).state;
    assert.equal(status(state, 4), 'paused');
    assert.deepEqual(nextTrials(state).resumed, [], 'trial 4 tops rung 0, but the sweep reached its target');
    assert.equal(isDone(state), true);
  });

  void it('lets running trials finish instead of pausing once launching stopped (time budget)', () => {
    let state = promotionSweep({ parallelism: 2 });
    const next = nextTrials(state);
    state = stopLaunching(next.state, 'time budget spent (1000 ms)');
    const decision = recordIntermediate(state, 0, 1, 0.4);
    assert.equal(decision.stop, false, decision.reason);
    assert.match(decision.reason, /continues past rung 0/);
    state = recordIntermediate(decision.state, 0, 9, 0.8).state;
    state = recordResult(state, 0, { status: 'completed', value: 0.8, epochs: 9 });
    assert.equal(status(state, 0), 'completed', 'the sweep still gets a result');
  });

  void it('closed by the time budget with every trial paused and none completed: the best paused one finishes', () => {
    // Trials 0 and 1 pause at rung 0; trial 2 runs when the budget fires, then fails: nothing runs, nothing completed.
    let state = promotionSweep();
    ({ state } = startAndPause(state, 0.3));
    ({ state } = startAndPause(state, 0.6));
    const third = nextTrials(state);
    state = stopLaunching(third.state, 'time budget spent (1000 ms)');
    state = recordResult(state, 2, { status: 'failed', error: 'worker lost' });
    assert.deepEqual(nextTrials(state).resumed, [], 'without the option (histories before the change): nothing');
    assert.equal(isDone(state), true);
    assert.equal(finishesPausedAfterClose(state), true);
    const next = nextTrials(state, { finishAfterClose: true });
    assert.deepEqual(next.trials, [], 'no new trial starts');
    assert.equal(next.resumed.length, 1);
    assert.equal(next.resumed[0]?.trialId, 1, 'the best paused trial');
    assert.match(next.resumed[0]?.reason ?? '', /none completed \(time budget spent \(1000 ms\)\)$/);
    // Closed, it trains on past the rungs to a result; nobody else resumes.
    const decision = recordIntermediate(next.state, 1, 3, 0.7);
    assert.equal(decision.stop, false, decision.reason);
    state = recordResult(decision.state, 1, { status: 'completed', value: 0.8, epochs: 9 });
    assert.equal(finishesPausedAfterClose(state), false);
    assert.deepEqual(nextTrials(state, { finishAfterClose: true }).resumed, []);
    assert.equal(isDone(state), true);
    assert.equal(best(state)?.trialId, 1);
  });

  void it('closed with a reached target or too many failures: no paused trial finishes', () => {
    let state = promotionSweep({ maxFailedTrials: 1 });
    ({ state } = startAndPause(state, 0.3));
    const second = nextTrials(state);
    state = recordResult(second.state, 1, { status: 'failed', error: 'boom' });
    state = stopLaunching(state, 'time budget spent (1000 ms)');
    assert.equal(finishesPausedAfterClose(state), false);
    assert.deepEqual(nextTrials(state, { finishAfterClose: true }).resumed, []);
  });

  void it('continues identically after a JSON round trip (continue-as-new)', () => {
    const run = (roundTrip: boolean) => {
      let state = promotionSweep({ algorithm: 'tpe', parallelism: 2, tpe: { nStartupTrials: 3 } });
      const epochs = new Map<number, number>();
      const log: string[] = [];
      for (let tick = 0; tick < 60 && !isDone(state); tick++) {
        if (roundTrip) state = JSON.parse(JSON.stringify(state)) as SweepState;
        const next = nextTrials(state);
        state = next.state;
        for (const trial of state.trials.filter((candidate) => candidate.status === 'running')) {
          const epoch = (epochs.get(trial.trialId) ?? 0) + 1;
          epochs.set(trial.trialId, epoch);
          const value = ((trial.params.x as number) * epoch) / 9;
          const decision = recordIntermediate(state, trial.trialId, epoch, value);
          state = decision.state;
          log.push(`${trial.trialId}@${epoch}${decision.paused ? ' paused' : ''}`);
          if (epoch >= 9) state = recordResult(state, trial.trialId, { status: 'completed', value, epochs: epoch });
        }
      }
      return { log, state };
    };
    const plain = run(false);
    assert.deepEqual(run(true).log, plain.log);
    // Every epoch of every trial was trained once, in order: a resumed trial continues its count.
    for (const trial of plain.state.trials)
      assert.deepEqual(
        trial.reports.map((report) => report.epoch),
        trial.reports.map((_, i) => i + 1),
      );
    assert.ok(plain.log.some((line) => line.endsWith('paused')));
    assert.ok(plain.state.trials.some((trial) => trial.status === 'completed'));
  });

  void it('rejects a promotion that is not a boolean, and promotion with auditEvery, naming the field', () => {
    assert.throws(
      () => promotionSweep({ earlyStopping: { type: 'asha', promotion: 'yes' } }),
      (error: unknown) =>
        error instanceof InvalidInputError &&
        /^earlyStopping\.promotion: must be true or false/.test(error.message) &&
        error.details.path === 'earlyStopping.promotion',
    );
    assert.throws(
      () => promotionSweep({ earlyStopping: { type: 'asha', promotion: true, auditEvery: 3 } }),
      /earlyStopping\.promotion: cannot be combined with auditEvery/,
    );
    const off = promotionSweep({ earlyStopping: { type: 'asha', promotion: false } });
    assert.equal('promotion' in off.config.earlyStopping, false, 'false is the default and leaves no trace');
  });
});
