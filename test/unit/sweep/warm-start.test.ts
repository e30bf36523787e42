import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import { sampleDomain, type ParameterValues } from '../../../src/core/sweep/space';
import { RandomSource, seedRandomState } from '../../../src/core/sweep/random-source';
import {
  createSweep,
  nextTrials,
  parseSweepConfig,
  recordIntermediate,
  recordResult,
  resultsTable,
  sweepProgress,
  type SweepState,
} from '../../../src/core/sweep/sweep-state';
import { splitTrials, type TpeSearchState } from '../../../src/core/sweep/tpe';
import {
  MAX_PRIOR_TRIALS,
  priorObservations,
  priorTrialProblem,
  type PriorTrial,
} from '../../../src/core/sweep/warm-start';
import { warmStartStops, withStoppingAsha } from '../../../src/core/sweep/warm-stopping';

const oneParameter = (extra: Record<string, unknown> = {}): ReturnType<typeof parseSweepConfig> =>
  parseSweepConfig({
    algorithm: 'tpe',
    objective: { metric: 'acc', goal: 'maximize' },
    space: { x: { uniform: [0, 1] } },
    maxTrials: 20,
    epochsPerTrial: 9,
    earlyStopping: { type: 'asha' },
    ...extra,
  });

/** `n` completed priors spread over [0, 1], the best at x = 0.2. */
function spreadPriors(n: number): PriorTrial[] {
  return Array.from({ length: n }, (_, i) => {
    const x = (i + 0.5) / n;
    return { params: { x }, status: 'completed', value: 1 - (x - 0.2) ** 2, epochs: 9 };
  });
}

function firstSuggestion(state: SweepState): ParameterValues {
  const trial = nextTrials(state).trials[0];
  assert.ok(trial);
  return trial.params;
}

const tpeState = (state: SweepState): TpeSearchState => {
  assert.equal(state.searcher.algorithm, 'tpe');
  return state.searcher as TpeSearchState;
};

void describe('warm start: TPE seeded from earlier trials', () => {
  void it('with ≥ nStartupTrials priors the model picks the first trial', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const config = oneParameter({ seed });
      const cold = firstSuggestion(createSweep(config));
      // What the cold sweep's first (startup) suggestion is: a draw from the prior with the seed's stream.
      assert.deepEqual(cold, {
        x: sampleDomain({ kind: 'uniform', low: 0, high: 1 }, new RandomSource(seedRandomState(seed))),
      });
      const warm = firstSuggestion(createSweep(config, { priorTrials: spreadPriors(20) }));
      assert.ok(Math.abs((warm.x as number) - 0.2) < 0.15, `seed ${seed}: x = ${String(warm.x)} should be near 0.2`);
    }
  });

  void it('with fewer priors than nStartupTrials still draws from the prior, and priors count toward startup', () => {
    const config = oneParameter({ seed: 3 });
    assert.deepEqual(
      firstSuggestion(createSweep(config, { priorTrials: spreadPriors(9) })),
      firstSuggestion(createSweep(config)),
    );
    // 9 priors + 1 finished trial of this sweep = 10: the second suggestion already uses the model.
    let warm = createSweep(config, { priorTrials: spreadPriors(9) });
    let cold = createSweep(config);
    for (const which of ['warm', 'cold'] as const) {
      let state = which === 'warm' ? warm : cold;
      const started = nextTrials(state);
      state = recordResult(started.state, 0, { status: 'completed', value: 0, epochs: 9 });
      if (which === 'warm') warm = state;
      else cold = state;
    }
    assert.notDeepEqual(firstSuggestion(warm), firstSuggestion(cold));
  });

  void it('ranks priors in the good/bad split like its own trials: completed before stopped, deeper first', () => {
    // Stopped trials near x = 0.9 had high values at epoch 1; the one good completed trial is at x = 0.1.
    const priors: PriorTrial[] = [
      { params: { x: 0.1 }, status: 'completed', value: 0.8, epochs: 9 },
      ...Array.from({ length: 9 }, (_, i): PriorTrial => ({
        params: { x: 0.5 + i * 0.01 },
        status: 'completed',
        value: 0.1,
        epochs: 9,
      })),
      ...Array.from({ length: 10 }, (_, i): PriorTrial => ({
        params: { x: 0.9 + i * 0.005 },
        status: 'stopped',
        value: 0.99,
        epochs: 1,
      })),
    ];
    const observed = priorObservations(oneParameter().space, 'maximize', priors);
    // Given newest first; returned oldest first, ids −20 … −1, the first given (newest) −1. Stopped = "pruned".
    assert.deepEqual(
      observed.map((trial) => trial.trialId),
      Array.from({ length: 20 }, (_, i) => i - 20),
    );
    assert.deepEqual(observed[19], { trialId: -1, params: { x: 0.1 }, status: 'completed', value: 0.8 });
    assert.deepEqual(observed[9], { trialId: -11, params: { x: 0.9 }, status: 'pruned', value: 0.99, epoch: 1 });
    // The split ranks them: the completed 0.8 is the good trial, not the stopped 0.99s.
    const below = splitTrials(observed, 'maximize').below;
    assert.deepEqual(
      below.map((trial) => [trial.status, trial.value]),
      [
        ['completed', 0.8],
        ['completed', 0.1],
      ],
    );
    for (let seed = 1; seed <= 5; seed++) {
      const x = firstSuggestion(createSweep(oneParameter({ seed }), { priorTrials: priors })).x as number;
      assert.ok(x < 0.4, `seed ${seed}: x = ${x} should follow the completed good trial at 0.1, not the stopped ones`);
    }
    const deeper = priorObservations(oneParameter().space, 'maximize', [
      { params: { x: 0.3 }, status: 'stopped', value: 0.9, epochs: 1 },
      { params: { x: 0.4 }, status: 'stopped', value: 0.2, epochs: 3 },
      { params: { x: 0.5 }, status: 'stopped', value: 0.5, epochs: 3 },
    ]);
    assert.deepEqual(
      splitTrials(deeper, 'maximize', 0.5).below.map((trial) => trial.params.x),
      [0.5, 0.4],
    );
  });

  void it('keeps priors out of the trials, results table, counts, maxTrials and ASHA rungs', () => {
    const config = oneParameter({ seed: 5, maxTrials: 2 });
    const cold = createSweep(config);
    let state = createSweep(config, { priorTrials: spreadPriors(30) });
    assert.deepEqual(state.trials, []);
    assert.deepEqual(state.stopper, cold.stopper);
    assert.deepEqual(resultsTable(state).rows, []);
    assert.equal(sweepProgress(state).started, 0);
    const started = nextTrials(state);
    assert.equal(started.trials[0]?.trialId, 0);
    state = started.state;
    // A value far below every prior's is not stopped at the first rung: the rung holds this sweep's trials only.
    const first = recordIntermediate(state, 0, 1, -5);
    assert.equal(first.stop, false);
    state = recordResult(first.state, 0, { status: 'completed', value: -5, epochs: 1 });
    state = nextTrials(state).state;
    state = recordResult(state, 1, { status: 'completed', value: -4, epochs: 1 });
    assert.equal(nextTrials(state).trials.length, 0, 'maxTrials 2 counts only this sweep');
    assert.equal(sweepProgress(state).completed, 2);
    assert.deepEqual(
      resultsTable(state).rows.map((row) => row.trialId),
      [0, 1],
    );
  });

  void it('random and grid search ignore priors', () => {
    for (const algorithm of ['random', 'grid'] as const) {
      const config = oneParameter({ algorithm, seed: 2 });
      assert.deepEqual(createSweep(config, { priorTrials: spreadPriors(12) }), createSweep(config));
    }
  });

  void it('a sweep without priors is bit-identical to one created before warm start existed', () => {
    const config = parseSweepConfig({
      algorithm: 'tpe',
      seed: 7,
      maxTrials: 16,
      epochsPerTrial: 9,
      earlyStopping: { type: 'asha' },
      objective: { metric: 'acc', goal: 'maximize' },
      space: {
        lr: { logUniform: [1e-4, 1] },
        layers: { int: [1, 4] },
        act: { choice: ['relu', 'tanh'] },
        drop: { uniform: [0, 0.5] },
      },
    });
    assert.deepEqual(createSweep(config, { priorTrials: [] }), createSweep(config));
    assert.equal('priors' in tpeState(createSweep(config)), false, 'no new key in the state of a cold sweep');
    let state = createSweep(config, { priorTrials: [] });
    const suggestions: ParameterValues[] = [];
    for (let i = 0; i < 16; i++) {
      const next = nextTrials(state);
      const trial = next.trials[0];
      assert.ok(trial);
      state = next.state;
      suggestions.push(trial.params);
      const p = trial.params as { lr: number; layers: number; act: string; drop: number };
      const value = (epoch: number): number =>
        1 -
        Math.abs(Math.log10(p.lr) + 2) / 4 -
        0.05 * Math.abs(p.layers - 2) -
        (p.act === 'tanh' ? 0.03 : 0) -
        0.2 * p.drop +
        0.01 * epoch;
      let epoch = 1;
      let stopped = false;
      for (; epoch <= 9; epoch++) {
        const report = recordIntermediate(state, trial.trialId, epoch, value(epoch));
        state = report.state;
        if (report.stop) {
          stopped = true;
          break;
        }
      }
      state = recordResult(
        state,
        trial.trialId,
        stopped ? { status: 'stopped', epochs: epoch } : { status: 'completed', value: value(9), epochs: 9 },
      );
    }
    // sha256 of JSON.stringify(suggestions) printed by main at 3029295, before priors existed (6 startup + 10 model).
    assert.equal(
      createHash('sha256').update(JSON.stringify(suggestions)).digest('hex'),
      '95ceeae0b6bd41bc59b6dda6b5bc73966301e55b6fce91560892097bfbfca713',
    );
  });

  void it(`keeps the best ${MAX_PRIOR_TRIALS} priors by the ranking, and the state survives JSON`, () => {
    const priors = spreadPriors(150);
    const state = createSweep(oneParameter({ seed: 9 }), { priorTrials: priors });
    const kept = tpeState(state).priors ?? [];
    assert.equal(kept.length, MAX_PRIOR_TRIALS);
    const cutoff = [...priors.map((prior) => prior.value)].sort((a, b) => b - a)[MAX_PRIOR_TRIALS - 1] ?? NaN;
    assert.ok(kept.every((trial) => (trial.value ?? -Infinity) >= cutoff));
    // Given newest first (x upwards), kept oldest first: x downwards, ids −100 … −1.
    const xs = kept.map((trial) => trial.params.x as number);
    assert.deepEqual(
      xs,
      [...xs].sort((a, b) => b - a),
    );
    assert.deepEqual(
      kept.map((trial) => trial.trialId),
      Array.from({ length: MAX_PRIOR_TRIALS }, (_, i) => i - MAX_PRIOR_TRIALS),
    );
    assert.ok(JSON.stringify(state).length < 20_000, `state is ${JSON.stringify(state).length} bytes`);
    const revived = JSON.parse(JSON.stringify(state)) as SweepState;
    assert.deepEqual(nextTrials(revived).trials, nextTrials(state).trials);
  });

  void it('rejects a prior that does not fit the space, naming the trial and the field', () => {
    const space = oneParameter().space;
    const good: PriorTrial = { params: { x: 0.5 }, status: 'completed', value: 1, epochs: 3 };
    assert.equal(priorTrialProblem(space, good), undefined);
    const cases: [PriorTrial, RegExp][] = [
      [{ ...good, params: { x: 1.5 } }, /params\.x = 1\.5 is outside its domain/],
      [{ ...good, params: {} }, /params\.x is missing/],
      [{ ...good, params: { x: 0.5, y: 1 } }, /params\.y is not a parameter of the current space/],
      [{ ...good, value: NaN }, /value must be a finite number/],
      [{ ...good, epochs: 0 }, /epochs must be an integer ≥ 1/],
      [{ ...good, status: 'failed' as 'completed' }, /status must be completed or stopped/],
    ];
    for (const [prior, message] of cases) {
      assert.match(priorTrialProblem(space, prior) ?? '', message);
      assert.throws(
        () => createSweep(oneParameter(), { priorTrials: [good, prior] }),
        (error: unknown) =>
          error instanceof InvalidInputError &&
          /^priorTrials\[1\]: /.test(error.message) &&
          message.test(error.message),
      );
    }
    const ints = parseSweepConfig({
      objective: { metric: 'acc' },
      space: { n: { int: { low: 2, high: 10, step: 2 } }, act: { choice: ['relu', 'tanh'] }, k: 3 },
    }).space;
    assert.equal(priorTrialProblem(ints, { ...good, params: { n: 4, act: 'tanh', k: 3 } }), undefined);
    assert.match(priorTrialProblem(ints, { ...good, params: { n: 5, act: 'tanh', k: 3 } }) ?? '', /params\.n = 5/);
    assert.match(priorTrialProblem(ints, { ...good, params: { n: 4, act: 'gelu', k: 3 } }) ?? '', /params\.act/);
    assert.match(priorTrialProblem(ints, { ...good, params: { n: 4, act: 'tanh', k: 4 } }) ?? '', /params\.k = 4/);
  });
});

describe('a warm start that fills TPE startup runs stopping-based ASHA (warmStartStops)', () => {
  const promotion = (extra: Record<string, unknown> = {}) =>
    oneParameter({ earlyStopping: { type: 'asha', promotion: true, ...extra } });

  it('stops once the usable priors fill the startup, keeps promotion below it', () => {
    assert.equal(warmStartStops(promotion(), spreadPriors(10)), true);
    assert.equal(warmStartStops(promotion(), spreadPriors(9)), false);
    assert.equal(warmStartStops(promotion({}), []), false);
    // The startup is the sweep's own setting: with 5 startup trials, 5 priors are enough.
    assert.equal(warmStartStops(promotion(), spreadPriors(5)), false);
    const fiveStartup = parseSweepConfig({ ...rawPromotion(), tpe: { nStartupTrials: 5 } });
    assert.equal(warmStartStops(fiveStartup, spreadPriors(5)), true);
  });

  it('counts priors as TPE would take them: ones outside the space throw, as the warm start itself does', () => {
    const outside: PriorTrial[] = [...spreadPriors(10), { params: { x: 2 }, status: 'completed', value: 1, epochs: 9 }];
    assert.throws(() => warmStartStops(promotion(), outside), InvalidInputError);
  });

  it('leaves stopping-based ASHA, other algorithms and promotion-only options alone', () => {
    const priors = spreadPriors(12);
    assert.equal(warmStartStops(oneParameter(), priors), false); // already stopping-based
    assert.equal(warmStartStops(oneParameter({ earlyStopping: { type: 'none' } }), priors), false);
    assert.equal(
      warmStartStops(parseSweepConfig({ ...rawPromotion(), algorithm: 'random', tpe: undefined }), priors),
      false,
    );
    assert.equal(warmStartStops(promotion({ brackets: true }), priors), false);
    assert.equal(warmStartStops(promotion({ lossAtRungs: 'tie-break' }), priors), false);
  });

  it('withStoppingAsha drops promotion and nothing else; a trial past rung 0 then runs on instead of pausing', () => {
    const config = promotion({ reductionFactor: 3, minEpochs: 1 });
    const stopped = withStoppingAsha(config);
    assert.deepEqual(stopped.earlyStopping, { type: 'asha', reductionFactor: 3, minEpochs: 1 });
    assert.deepEqual({ ...stopped, earlyStopping: undefined }, { ...config, earlyStopping: undefined });
    // The first trial to reach rung 0: promotion pauses it (no peers yet), stopping-based lets it go on.
    const firstAtRung = (sweep: SweepState) => {
      const started = nextTrials(sweep);
      const id = started.trials[0]!.trialId;
      const after = recordIntermediate(started.state, id, 1, 0.9);
      return { stop: after.stop, status: after.state.trials.find((t) => t.trialId === id)!.status };
    };
    const priors = spreadPriors(10);
    assert.equal(firstAtRung(createSweep(config, { priorTrials: priors })).status, 'paused');
    const going = firstAtRung(createSweep(stopped, { priorTrials: priors }));
    assert.deepEqual(going, { stop: false, status: 'running' });
  });
});

function rawPromotion(): Record<string, unknown> {
  return {
    algorithm: 'tpe',
    objective: { metric: 'acc', goal: 'maximize' },
    space: { x: { uniform: [0, 1] } },
    maxTrials: 20,
    epochsPerTrial: 9,
    earlyStopping: { type: 'asha', promotion: true },
  };
}
