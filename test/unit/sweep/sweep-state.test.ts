import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import {
  best,
  createSweep,
  isDone,
  launchBlockedReason,
  nextTrials,
  parseSweepConfig,
  recordIntermediate,
  recordResult,
  resultsTable,
  runningTrials,
  stopLaunching,
  sweepProgress,
  type SweepState,
} from '../../../src/core/sweep/sweep-state';
import type { ParameterValues } from '../../../src/core/sweep/space';

const baseInput = {
  model: 'registry://digits-cnn@latest', // stage keys the sweep ignores
  objective: { metric: 'validation.accuracy', goal: 'maximize' },
  algorithm: 'tpe',
  space: {
    learningRate: { logUniform: [1e-4, 1e-1] },
    unfreezeLayers: { choice: [0, 2, 4] },
    batchSize: { choice: [16, 32] },
  },
  maxTrials: 12,
  parallelism: 3,
  epochsPerTrial: 9,
  earlyStopping: { type: 'asha', reductionFactor: 3, minEpochs: 1 },
  seed: 7,
  tpe: { nStartupTrials: 4 },
};

/** A deterministic stand-in for training: accuracy after `epoch` for these hyperparameters. */
function accuracy(params: ParameterValues, epoch: number): number {
  const lr = params.learningRate as number;
  const ceiling = 0.95 - 0.08 * Math.abs(Math.log10(lr) + 2.5) - (params.unfreezeLayers === 2 ? 0 : 0.05);
  return ceiling * (1 - Math.exp(-epoch / 3));
}

interface Event {
  readonly kind: 'start' | 'stop' | 'end';
  readonly trialId: number;
  readonly detail: string;
}

/**
 * Drive a sweep to completion like the workflow would: trials advance one epoch per tick,
 * round-robin; `failWhen` makes a trial fail at epoch 2. Optionally round-trips the state
 * through JSON after `roundTripAfter` ticks. Returns the event log and the final state.
 */
function drive(
  input: Record<string, unknown>,
  options: { roundTripAfter?: number; failWhen?: (id: number) => boolean } = {},
): { events: Event[]; state: SweepState; maxRunning: number } {
  let state = createSweep(parseSweepConfig(input));
  const events: Event[] = [];
  const epochOf = new Map<number, number>();
  let maxRunning = 0;
  for (let tick = 0; tick < 1000 && !isDone(state); tick++) {
    if (tick === options.roundTripAfter) state = JSON.parse(JSON.stringify(state)) as SweepState;
    const next = nextTrials(state);
    state = next.state;
    for (const trial of next.trials) {
      events.push({ kind: 'start', trialId: trial.trialId, detail: JSON.stringify(trial.params) });
      epochOf.set(trial.trialId, 0);
    }
    maxRunning = Math.max(maxRunning, runningTrials(state).length);
    for (const trial of runningTrials(state)) {
      const epoch = (epochOf.get(trial.trialId) ?? 0) + 1;
      epochOf.set(trial.trialId, epoch);
      if (options.failWhen?.(trial.trialId) && epoch === 2) {
        state = recordResult(state, trial.trialId, { status: 'failed', error: 'out of memory', durationMs: 200 });
        events.push({ kind: 'end', trialId: trial.trialId, detail: 'failed' });
        continue;
      }
      const value = accuracy(trial.params, epoch);
      const reported = recordIntermediate(state, trial.trialId, epoch, value);
      state = reported.state;
      if (reported.stop) {
        events.push({ kind: 'stop', trialId: trial.trialId, detail: `${epoch} ${reported.reason}` });
        state = recordResult(state, trial.trialId, { status: 'stopped', durationMs: epoch * 100 });
      } else if (epoch === state.config.epochsPerTrial) {
        state = recordResult(state, trial.trialId, {
          status: 'completed',
          value,
          epochs: epoch,
          durationMs: epoch * 100,
        });
        events.push({ kind: 'end', trialId: trial.trialId, detail: String(value) });
      }
    }
  }
  return { events, state, maxRunning };
}

void describe('parseSweepConfig', () => {
  void it('applies defaults and ignores the stage’s other inputs', () => {
    const config = parseSweepConfig({
      objective: { metric: 'loss', goal: 'minimize' },
      space: { x: { uniform: [0, 1] } },
    });
    assert.equal(config.algorithm, 'tpe');
    assert.equal(config.maxTrials, 10);
    assert.equal(config.maxFailedTrials, 10);
    assert.equal(config.parallelism, 1);
    assert.deepEqual(config.earlyStopping, { type: 'none' });
    assert.deepEqual(config.tpe, { nStartupTrials: 10, nEiCandidates: 24, priorWeight: 1, constantLiar: true });
    const grid = parseSweepConfig({
      algorithm: 'grid',
      objective: { metric: 'loss' },
      space: { x: { uniform: [0, 1] }, c: { choice: [1, 2] } },
      gridPointsPerParameter: 4,
    });
    assert.equal(grid.maxTrials, 8, 'a grid defaults to all its points');
    assert.equal(grid.objective.goal, 'maximize');
    assert.deepEqual(parseSweepConfig(baseInput).earlyStopping, { type: 'asha', reductionFactor: 3, minEpochs: 1 });
  });

  void it('rejects bad fields with their path', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ algorithm: 'bayes' }, 'algorithm'],
      [{ objective: { metric: '' } }, 'objective.metric'],
      [{ objective: { metric: 'acc', goal: 'up' } }, 'objective.goal'],
      [{ maxTrials: 0 }, 'maxTrials'],
      [{ parallelism: 1.5 }, 'parallelism'],
      [{ earlyStopping: { type: 'hyperband' } }, 'earlyStopping.type'],
      [{ earlyStopping: { type: 'asha', reductionFactor: 1 } }, 'earlyStopping.reductionFactor'],
      [{ space: { lr: { logUniform: [-1, 1] } } }, 'space.lr.logUniform'],
    ];
    for (const [patch, path] of cases) {
      assert.throws(
        () => parseSweepConfig({ ...baseInput, ...patch }),
        (error: unknown) => error instanceof InvalidInputError && error.details.path === path,
        `expected an error at ${path}`,
      );
    }
  });
});

void describe('sweep controller', () => {
  void it('never runs more than `parallelism` trials nor starts more than `maxTrials`', () => {
    const { state, events, maxRunning } = drive(baseInput);
    assert.equal(maxRunning, 3);
    assert.equal(events.filter((e) => e.kind === 'start').length, 12);
    assert.equal(state.trials.length, 12);
    assert.ok(isDone(state));
    assert.deepEqual(nextTrials(state).trials, []);
    assert.match(launchBlockedReason(state) ?? '', /maxTrials/);
  });

  void it('stops trials with ASHA and records them as stopped', () => {
    const { state } = drive(baseInput);
    const progress = sweepProgress(state);
    assert.ok(progress.stopped > 0, 'some trials were stopped early');
    assert.ok(progress.completed > 0, 'some trials ran to the end');
    assert.equal(progress.completed + progress.stopped + progress.failed, 12);
    for (const trial of state.trials.filter((t) => t.status === 'stopped')) {
      assert.ok([1, 3].includes(trial.reports.length), `stopped at a rung, got ${trial.reports.length}`);
      assert.ok(trial.stopRequested?.reason.includes('top'));
    }
  });

  void it('reports the best completed trial and a results table with metrics per rung', () => {
    const { state } = drive(baseInput);
    const winner = best(state);
    assert.ok(winner);
    const completed = state.trials.filter((t) => t.status === 'completed');
    assert.equal(winner.value, Math.max(...completed.map((t) => t.value as number)));
    const table = resultsTable(state);
    assert.equal(table.metric, 'validation.accuracy');
    assert.deepEqual(table.rungEpochs, [1, 3]);
    assert.equal(table.bestTrialId, winner.trialId);
    assert.equal(table.rows.length, 12);
    const finished = table.rows.find((row) => row.trialId === winner.trialId);
    assert.deepEqual(
      finished?.metricByEpoch.map((m) => m.epoch),
      [1, 3, 9],
    );
    assert.equal(finished?.durationMs, 900);
    assert.deepEqual(JSON.parse(JSON.stringify(table)), table, 'plain JSON');
  });

  void it('stops launching after maxFailedTrials failures, but lets running trials finish', () => {
    const { state, events } = drive(
      { ...baseInput, maxFailedTrials: 2, earlyStopping: { type: 'none' } },
      { failWhen: (id) => id >= 2 },
    );
    const progress = sweepProgress(state);
    assert.ok(isDone(state));
    // Trials 0–2 start together; 2 fails; 3 replaces it and fails: no trial starts after that.
    assert.equal(progress.failed, 2);
    assert.equal(events.filter((e) => e.kind === 'start').length, 4);
    assert.equal(progress.completed, 2, 'trials 0 and 1 ran to the end');
    assert.match(launchBlockedReason(state) ?? '', /failed/);
    assert.equal(resultsTable(state).rows.find((row) => row.trialId === 2)?.error, 'out of memory');
  });

  void it('ends a grid sweep when the grid is exhausted', () => {
    const { state } = drive({
      ...baseInput,
      algorithm: 'grid',
      maxTrials: 100,
      space: { a: { choice: [1, 2] }, b: { int: [1, 3] } },
      earlyStopping: null,
    });
    assert.equal(state.trials.length, 6);
    assert.match(launchBlockedReason(state) ?? '', /exhausted/);
  });

  void it('is deterministic and continues identically after a JSON round trip mid-sweep', () => {
    const reference = drive(baseInput);
    assert.deepEqual(drive(baseInput).events, reference.events);
    for (const tick of [1, 5, 11]) {
      const resumed = drive(baseInput, { roundTripAfter: tick });
      assert.deepEqual(resumed.events, reference.events, `round trip after tick ${tick}`);
      assert.deepEqual(resumed.state, reference.state);
    }
    assert.notDeepEqual(drive({ ...baseInput, seed: 8 }).events, reference.events);
  });

  void it('is idempotent under repeated reports and results, and honours stopLaunching', () => {
    let state = createSweep(
      parseSweepConfig({ ...baseInput, earlyStopping: { type: 'asha', reductionFactor: 2, minEpochs: 1 } }),
    );
    const started = nextTrials(state);
    state = started.state;
    assert.equal(started.trials.length, 3);
    state = recordIntermediate(state, 0, 1, 0.9).state;
    const repeated = recordIntermediate(state, 0, 1, 0.1);
    assert.equal(repeated.state, state, 'repeated epoch ignored');
    const stopped = recordIntermediate(state, 1, 1, 0.1);
    assert.equal(stopped.stop, true);
    state = stopped.state;
    assert.equal(recordIntermediate(state, 1, 2, 0.99).stop, true, 'a trial asked to stop keeps being told so');
    // It finished its epoch anyway: still recorded as stopped, with its last reported value.
    state = recordResult(state, 1, { status: 'completed', value: 0.2 });
    assert.equal(state.trials[1]?.status, 'stopped');
    assert.equal(state.trials[1]?.value, 0.1);
    assert.equal(recordResult(state, 1, { status: 'failed', error: 'late' }), state);
    assert.throws(() => recordResult(state, 99, { status: 'failed', error: 'x' }), InvalidInputError);
    state = recordResult(state, 2, { status: 'completed', value: NaN });
    assert.equal(state.trials[2]?.status, 'failed');
    state = stopLaunching(state, 'time budget of 1h spent');
    assert.deepEqual(nextTrials(state).trials, []);
    assert.equal(isDone(state), false, 'trial 0 still runs');
    state = recordResult(state, 0, { status: 'completed', value: 0.93 });
    assert.equal(isDone(state), true);
    assert.equal(best(state)?.trialId, 0);
  });
});
