import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  conditionGp,
  defaultHyperparameters,
  fitHyperparameters,
  logPosterior,
  type GpHyperparameters,
} from '../../../src/core/sweep/gaussian-process';
import { copulaScores, createGpSearch, fitModel, gpSearch, type GpSearchState } from '../../../src/core/sweep/gp';
import { encodeSpace } from '../../../src/core/sweep/gp-encoding';
import {
  logExpectedImprovement,
  standardNormalMass,
  standardNormalQuantile,
} from '../../../src/core/sweep/normal-math';
import { RandomSource, seedRandomState } from '../../../src/core/sweep/random-source';
import { createRandomSearch, randomSearch } from '../../../src/core/sweep/random';
import { parseSearchSpace, sampleFromPrior, type ParameterValues } from '../../../src/core/sweep/space';
import type { TpeTrial } from '../../../src/core/sweep/tpe';

const mixedSpace = parseSearchSpace({
  lr: { logUniform: [1e-4, 1e-1] },
  layers: { int: { low: 0, high: 6 } },
  width: { int: { low: 8, high: 256, log: true } },
  units: { int: { low: 10, high: 100, step: 15 } },
  dropout: { uniform: [0, 0.5] },
  optimizer: { choice: ['adam', 'sgd', { name: 'rmsprop', rho: 0.9 }] },
  epochs: 9,
});

/** A smooth objective on the mixed space, best at lr 10^-2.5, dropout 0.2, optimizer sgd, 3 layers. */
function mixedObjective(params: ParameterValues): number {
  const lr = params.lr as number;
  return (
    -((Math.log10(lr) + 2.5) ** 2) -
    ((params.dropout as number) - 0.2) ** 2 -
    (params.optimizer === 'sgd' ? 0 : 0.3) -
    0.05 * Math.abs((params.layers as number) - 3)
  );
}

/** Runs `n` sequential trials of a searcher state on `objective` (maximised), returning the final state. */
function runSequential(
  initial: GpSearchState,
  objective: (params: ParameterValues) => number,
  n: number,
): { state: GpSearchState; best: number } {
  let state = initial;
  let best = -Infinity;
  for (let i = 0; i < n; i++) {
    const { trials, state: next } = gpSearch.suggest(state, 1);
    const trial = trials[0]!;
    const value = objective(trial.params);
    best = Math.max(best, value);
    state = gpSearch.observe(next, { trialId: trial.trialId, status: 'completed', value });
  }
  return { state, best };
}

function inDomain(params: ParameterValues): void {
  const lr = params.lr as number;
  assert.ok(lr >= 1e-4 && lr <= 1e-1, `lr ${lr}`);
  assert.ok(Number.isInteger(params.layers) && (params.layers as number) >= 0 && (params.layers as number) <= 6);
  assert.ok(Number.isInteger(params.width) && (params.width as number) >= 8 && (params.width as number) <= 256);
  assert.ok([10, 25, 40, 55, 70, 85, 100].includes(params.units as number), `units ${params.units}`);
  assert.ok((params.dropout as number) >= 0 && (params.dropout as number) <= 0.5);
  assert.ok(
    ['adam', 'sgd', { name: 'rmsprop', rho: 0.9 }].some((v) => JSON.stringify(v) === JSON.stringify(params.optimizer)),
  );
  assert.equal(params.epochs, 9);
}

describe('GP searcher: encoding', () => {
  const encoding = encodeSpace(mixedSpace);

  it('gives numeric parameters one coordinate, a choice one per value, a fixed parameter none', () => {
    assert.equal(encoding.dims, 5 + 3);
  });

  it('round-trips every prior draw exactly, inside [0, 1]', () => {
    const random = new RandomSource(seedRandomState(7));
    for (let i = 0; i < 200; i++) {
      const params = sampleFromPrior(mixedSpace, random);
      const point = encoding.encode(params);
      assert.ok(point.every((u) => u >= 0 && u <= 1));
      const back = encoding.decode(point);
      for (const [name, value] of Object.entries(params)) {
        if (typeof value === 'number' && !Number.isInteger(value))
          assert.ok(Math.abs((back[name] as number) - value) <= 1e-12 * Math.abs(value), name);
        else assert.deepEqual(back[name], value, name);
      }
    }
  });

  it('puts a log parameter on its log scale and a choice one-hot', () => {
    const point = encoding.encode({
      ...sampleFromPrior(mixedSpace, new RandomSource(seedRandomState(1))),
      lr: 10 ** -2.5,
    });
    const lrIndex = mixedSpace.parameters.findIndex((p) => p.name === 'lr');
    // parameters by name: dropout, epochs (fixed), layers, lr, …; coordinates: dropout, layers, lr, optimizer×3, units, width
    assert.equal(lrIndex, 3);
    assert.ok(Math.abs(point[2]! - 0.5) < 1e-12);
    assert.deepEqual(
      point.slice(3, 6).map((u) => u),
      point.slice(3, 6).map((u) => (u === 1 ? 1 : 0)),
    );
    assert.equal(
      point.slice(3, 6).reduce((a, b) => a + b, 0),
      1,
    );
  });

  it('perturbs to valid points only', () => {
    const random = new RandomSource(seedRandomState(3));
    const centre = sampleFromPrior(mixedSpace, random);
    for (let i = 0; i < 200; i++) inDomain(encoding.perturb(centre, new Array(encoding.dims).fill(0.3), random));
  });
});

describe('GP searcher: the model', () => {
  it('has the analytic gradient of the log posterior (finite differences)', () => {
    const random = new RandomSource(seedRandomState(5));
    const x = Array.from({ length: 12 }, () => [random.uniform(), random.uniform()]);
    const y = x.map(([a, b]) => Math.sin(5 * a!) + b! * b!);
    const hp: GpHyperparameters = { logLengthScales: [-1, -0.3], logSignal: 0.2, logNoise: -3 };
    const { gradient } = logPosterior({ x, y }, hp);
    const vector = [...hp.logLengthScales, hp.logSignal, hp.logNoise];
    for (let i = 0; i < vector.length; i++) {
      const shifted = (delta: number): number => {
        const v = vector.map((value, j) => (j === i ? value + delta : value));
        return logPosterior({ x, y }, { logLengthScales: v.slice(0, 2), logSignal: v[2]!, logNoise: v[3]! }).value;
      };
      const numeric = (shifted(1e-5) - shifted(-1e-5)) / 2e-5;
      assert.ok(
        Math.abs(numeric - gradient[i]!) < 1e-4 * Math.max(1, Math.abs(numeric)),
        `${i}: ${numeric} vs ${gradient[i]}`,
      );
    }
  });

  it('fits better than its starting point, spends a bounded number of evaluations, interpolates its data', () => {
    const x = Array.from({ length: 15 }, (_, i) => [i / 14]);
    const y = x.map(([a]) => Math.sin(6 * a!));
    const start = defaultHyperparameters(1);
    const fit = fitHyperparameters({ x, y }, [start], 20);
    assert.equal(fit.evaluations, 21);
    assert.ok(fit.logPosterior > logPosterior({ x, y }, start).value);
    const posterior = conditionGp({ x, y }, fit.hyperparameters);
    const between = posterior.predict([0.5 / 14 + 7 / 14]);
    assert.ok(Math.abs(between.mean - Math.sin(6 * (7.5 / 14))) < 0.05, `mean ${between.mean}`);
    assert.ok(posterior.predict([7 / 14]).variance < between.variance);
  });

  it('ranks to normal scores: best highest, ties shared, stopped trials below completed ones', () => {
    const trials: TpeTrial[] = [
      { trialId: 0, params: {}, status: 'completed', value: 0.9 },
      { trialId: 1, params: {}, status: 'completed', value: 0.8 },
      { trialId: 2, params: {}, status: 'completed', value: 0.8 },
      { trialId: 3, params: {}, status: 'pruned', value: 0.95, epoch: 3 },
    ];
    const scores = copulaScores(trials);
    assert.ok(scores[0]! > scores[1]! && scores[2]! > scores[3]!);
    assert.equal(scores[1], scores[2]);
    assert.ok(Math.abs(scores[1]!) < 1e-9, 'the middle two share rank 1.5 of 4: score 0');
    assert.ok(Math.abs(scores[0]! + scores[3]!) < 1e-9);
  });
});

describe('GP searcher: normal math', () => {
  it('inverts the normal CDF', () => {
    for (const p of [1e-10, 1e-4, 0.01, 0.3, 0.5, 0.77, 0.99, 1 - 1e-6]) {
      const z = standardNormalQuantile(p);
      assert.ok(Math.abs(standardNormalMass(-Infinity, z) - p) < 1e-6 * Math.max(p, 1e-3), `${p}`);
    }
    assert.throws(() => standardNormalQuantile(0), RangeError);
  });

  it('computes log expected improvement, finite and increasing far into the tail', () => {
    const direct = (z: number): number => {
      const pdf = Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
      return Math.log(pdf + z * standardNormalMass(-Infinity, z));
    };
    for (const z of [-5, -2, 0, 1.5, 4]) assert.ok(Math.abs(logExpectedImprovement(z) - direct(z)) < 1e-5, `${z}`);
    let previous = -Infinity;
    for (let z = -60; z <= 5; z += 0.25) {
      const value = logExpectedImprovement(z);
      assert.ok(Number.isFinite(value) && value > previous, `z ${z}`);
      previous = value;
    }
  });
});

describe('GP searcher: suggestions', () => {
  it('is deterministic for a seed, differs across seeds, and survives a JSON round trip', () => {
    const hash = (seed: number, viaJson: boolean): string => {
      let state = createGpSearch(mixedSpace, 'maximize', seed, { nStartupTrials: 5 });
      const seen: ParameterValues[] = [];
      for (let i = 0; i < 12; i++) {
        if (viaJson) state = JSON.parse(JSON.stringify(state)) as GpSearchState;
        const { trials, state: next } = gpSearch.suggest(state, 1);
        seen.push(trials[0]!.params);
        state = gpSearch.observe(next, {
          trialId: trials[0]!.trialId,
          status: 'completed',
          value: mixedObjective(trials[0]!.params),
        });
      }
      return createHash('sha256').update(JSON.stringify(seen)).digest('hex');
    };
    assert.equal(hash(11, false), hash(11, false));
    assert.equal(hash(11, false), hash(11, true));
    assert.notEqual(hash(11, false), hash(12, false));
  });

  it('draws its startup trials as random search does under the same seed', () => {
    const gp = gpSearch.suggest(createGpSearch(mixedSpace, 'maximize', 4), 6).trials;
    const random = randomSearch.suggest(createRandomSearch(mixedSpace, 'maximize', 4), 6).trials;
    assert.deepEqual(gp, random);
  });

  it('keeps every suggestion inside its domain, fixed parameters unchanged', () => {
    const { state } = runSequential(
      createGpSearch(mixedSpace, 'maximize', 2, { nStartupTrials: 4 }),
      mixedObjective,
      30,
    );
    for (const trial of state.trials) inDomain(trial.params);
  });

  it('finds the minimum of a 1-D function closer than random search with the same budget', () => {
    const space = parseSearchSpace({ x: { uniform: [0, 1] } });
    const loss = (params: ParameterValues): number => ((params.x as number) - 0.3137) ** 2;
    let gpWins = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      let gp = createGpSearch(space, 'minimize', seed, { nStartupTrials: 4 });
      let gpBest = Infinity;
      for (let i = 0; i < 15; i++) {
        const { trials, state } = gpSearch.suggest(gp, 1);
        const value = loss(trials[0]!.params);
        gpBest = Math.min(gpBest, value);
        gp = gpSearch.observe(state, { trialId: trials[0]!.trialId, status: 'completed', value });
      }
      const random = randomSearch.suggest(createRandomSearch(space, 'minimize', seed), 15).trials;
      const randomBest = Math.min(...random.map((trial) => loss(trial.params)));
      assert.ok(gpBest < 1e-4, `seed ${seed}: GP best ${gpBest}`);
      if (gpBest < randomBest) gpWins++;
    }
    assert.equal(gpWins, 6);
  });

  it('spreads a batch suggested while trials run (constant liar)', () => {
    // Without the running trial counted as the worst so far, both suggestions land within ~0.002 of the
    // acquisition's peak on five of these six seeds (measured when this test was written).
    const space = parseSearchSpace({ x: { uniform: [0, 1] } });
    const loss = (params: ParameterValues): number => ((params.x as number) - 0.3137) ** 2;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      let state = createGpSearch(space, 'minimize', seed, { nStartupTrials: 4 });
      for (let i = 0; i < 8; i++) {
        const { trials, state: next } = gpSearch.suggest(state, 1);
        state = gpSearch.observe(next, {
          trialId: trials[0]!.trialId,
          status: 'completed',
          value: loss(trials[0]!.params),
        });
      }
      const [first, second] = gpSearch.suggest(state, 2).trials;
      const gap = Math.abs((first!.params.x as number) - (second!.params.x as number));
      assert.ok(gap > 0.05, `seed ${seed}: the batch's two points are ${gap} apart`);
    }
  });

  it('fits at most maxObservations trials with a bounded number of evaluations', () => {
    const { state } = runSequential(
      createGpSearch(mixedSpace, 'maximize', 5, { nStartupTrials: 3, maxObservations: 16, fitIterations: 7 }),
      mixedObjective,
      30,
    );
    assert.ok(state.fitted, 'the state carries the last fit');
    const finished = state.trials.filter((trial) => trial.status === 'completed');
    const model = fitModel(state, encodeSpace(mixedSpace), finished);
    assert.equal(model.x.length, 16);
    // Two starts (the default and the previous fit), each 7 steps plus the final point.
    assert.equal(model.evaluations, 2 * 8);
    // The kept trials are the best 16 by value.
    const values = finished.map((trial) => trial.value!).sort((a, b) => b - a);
    assert.deepEqual(
      model.ranked.map((trial) => trial.value),
      values.slice(0, 16),
    );
  });

  it('counts a stopped trial as an observation worse than the completed ones', () => {
    let state = createGpSearch(parseSearchSpace({ x: { uniform: [0, 1] } }), 'maximize', 3, { nStartupTrials: 4 });
    const suggested = gpSearch.suggest(state, 4);
    state = suggested.state;
    for (const [i, trial] of suggested.trials.entries())
      state = gpSearch.observe(state, {
        trialId: trial.trialId,
        status: i === 0 ? 'pruned' : 'completed',
        value: i === 0 ? 0.99 : 0.5,
        epoch: 1,
      });
    const model = fitModel(
      state,
      encodeSpace(state.space),
      state.trials.filter((trial) => trial.status !== 'running'),
    );
    assert.equal(model.ranked.at(-1)!.status, 'pruned');
    assert.equal(Math.min(...model.y), model.y.at(-1));
  });
});
