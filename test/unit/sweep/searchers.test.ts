import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median } from '../../../src/core/sweep/median';
import { RandomSource, seedRandomState } from '../../../src/core/sweep/random-source';
import type { Goal } from '../../../src/core/sweep/searcher';
import {
  createSearcher,
  observeTrial,
  remainingSuggestions,
  suggestTrials,
  type SearchAlgorithm,
  type SearcherState,
} from '../../../src/core/sweep/searchers';
import { parseSearchSpace, type ParameterValues, type SearchSpace } from '../../../src/core/sweep/space';
import { InvalidInputError } from '../../../src/core/errors';
import { parseSweepConfig } from '../../../src/core/sweep/sweep-state';
import { planSweep } from '../../../src/core/sweep/sweep-plan';
import { defaultGamma, goodGroupSize, splitTrials, type TpeTrial } from '../../../src/core/sweep/tpe';

/** Run a sequential search of `budget` evaluations; returns the best value found. */
function optimise(
  algorithm: SearchAlgorithm,
  space: SearchSpace,
  goal: Goal,
  objective: (p: ParameterValues) => number,
  seed: number,
  budget: number,
): number {
  let state: SearcherState = createSearcher(algorithm, space, goal, { seed });
  let bestValue = goal === 'minimize' ? Infinity : -Infinity;
  for (let i = 0; i < budget; i++) {
    const suggestion = suggestTrials(state, 1);
    const trial = suggestion.trials[0];
    assert.ok(trial);
    const value = objective(trial.params);
    bestValue = goal === 'minimize' ? Math.min(bestValue, value) : Math.max(bestValue, value);
    state = observeTrial(suggestion.state, { trialId: trial.trialId, status: 'completed', value });
  }
  return bestValue;
}

const SEEDS = Array.from({ length: 10 }, (_, i) => 1000 + i);

void describe('random source', () => {
  void it('is reproducible from a seed and from a JSON snapshot', () => {
    const a = new RandomSource(seedRandomState(42));
    const first = Array.from({ length: 5 }, () => a.uniform());
    const resumed = new RandomSource(JSON.parse(JSON.stringify(a.snapshot())) as [number, number, number, number]);
    const b = new RandomSource(seedRandomState(42));
    assert.deepEqual(
      Array.from({ length: 5 }, () => b.uniform()),
      first,
    );
    assert.deepEqual(
      Array.from({ length: 5 }, () => resumed.uniform()),
      Array.from({ length: 5 }, () => b.uniform()),
    );
    const neighbour = new RandomSource(seedRandomState(43));
    assert.notDeepEqual(
      Array.from({ length: 5 }, () => neighbour.uniform()),
      first,
      'seed 43 gives another stream',
    );
  });

  void it('gives uniform draws in [0, 1) with the right mean', () => {
    const random = new RandomSource(seedRandomState(1));
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const u = random.uniform();
      assert.ok(u >= 0 && u < 1);
      sum += u;
    }
    assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01);
  });
});

void describe('grid search', () => {
  void it('suggests every point once, then nothing', () => {
    const space = parseSearchSpace({ a: { choice: [1, 2, 3] }, b: { uniform: [0, 1] } });
    let state = createSearcher('grid', space, 'maximize', { seed: 0, gridPointsPerParameter: 2 });
    assert.equal(remainingSuggestions(state), 6);
    const first = suggestTrials(state, 4);
    const second = suggestTrials(first.state, 4);
    state = second.state;
    assert.deepEqual(
      first.trials.map((t) => t.trialId),
      [0, 1, 2, 3],
    );
    assert.deepEqual(
      second.trials.map((t) => t.trialId),
      [4, 5],
    );
    const all = [...first.trials, ...second.trials].map((t) => JSON.stringify(t.params));
    assert.equal(new Set(all).size, 6);
    assert.equal(remainingSuggestions(state), 0);
    assert.deepEqual(suggestTrials(state, 3).trials, []);
  });
});

void describe('determinism', () => {
  const space = parseSearchSpace({
    x: { uniform: [-3, 3] },
    lr: { logUniform: [1e-5, 1] },
    c: { choice: ['a', 'b', 'c'] },
    n: { int: [1, 20] },
  });
  const objective = (p: ParameterValues): number =>
    ((p.x as number) - 1) ** 2 +
    Math.abs(Math.log10(p.lr as number) + 3) +
    (p.c === 'b' ? 0 : 1) +
    Math.abs((p.n as number) - 12) / 10;

  for (const algorithm of ['random', 'tpe'] as const) {
    void it(`${algorithm}: same seed and events give the same suggestions, also after a JSON round trip`, () => {
      const run = (roundTripAt: number): ParameterValues[] => {
        let state: SearcherState = createSearcher(algorithm, space, 'minimize', {
          seed: 5,
          tpe: { nStartupTrials: 5 },
        });
        const params: ParameterValues[] = [];
        for (let i = 0; i < 25; i++) {
          if (i === roundTripAt) state = JSON.parse(JSON.stringify(state)) as SearcherState;
          const suggestion = suggestTrials(state, 2);
          for (const trial of suggestion.trials) params.push(trial.params);
          state = suggestion.state;
          for (const trial of suggestion.trials)
            state = observeTrial(state, {
              trialId: trial.trialId,
              status: 'completed',
              value: objective(trial.params),
            });
        }
        return params;
      };
      const reference = run(-1);
      assert.deepEqual(run(-1), reference);
      assert.deepEqual(run(12), reference);
      const other = createSearcher(algorithm, space, 'minimize', { seed: 6 });
      assert.notDeepEqual(suggestTrials(other, 1).trials[0]?.params, reference[0]);
    });
  }
});

void describe('TPE', () => {
  void it('uses Optuna’s gamma and ranks pruned trials after completed ones, deeper first', () => {
    assert.deepEqual([1, 10, 11, 100, 250, 300].map(defaultGamma), [1, 1, 2, 10, 25, 25]);
    const trials: TpeTrial[] = [
      { trialId: 0, params: {}, status: 'completed', value: 0.5 },
      { trialId: 1, params: {}, status: 'pruned', value: 0.9, epoch: 1 },
      { trialId: 2, params: {}, status: 'pruned', value: 0.6, epoch: 3 },
      { trialId: 3, params: {}, status: 'completed', value: 0.7 },
      ...Array.from({ length: 16 }, (_, i): TpeTrial => ({
        trialId: 4 + i,
        params: {},
        status: 'completed',
        value: 0.1,
      })),
    ];
    const { below, above } = splitTrials(trials, 'maximize');
    assert.deepEqual(
      below.map((t) => t.trialId),
      [3, 0],
    );
    assert.deepEqual(
      above.slice(-2).map((t) => t.trialId),
      [2, 1],
    );
  });

  void it('honours gamma: the good group is ⌈gamma·n⌉ trials, at most 25', () => {
    assert.deepEqual(
      [1, 4, 10, 40, 100, 200].map((n) => goodGroupSize(n, 0.25)),
      [1, 1, 3, 10, 25, 25],
    );
    const finished: TpeTrial[] = Array.from({ length: 12 }, (_, i) => ({
      trialId: i,
      params: {},
      status: 'completed',
      value: i,
    }));
    const ids = (trials: readonly TpeTrial[]) => trials.map((t) => t.trialId).sort((a, b) => a - b);
    assert.deepEqual(ids(splitTrials(finished, 'maximize').below), [10, 11], 'without gamma: Optuna’s 0.1 → ⌈1.2⌉ = 2');
    assert.deepEqual(ids(splitTrials(finished, 'maximize', 0.25).below), [9, 10, 11]);
    assert.deepEqual(ids(splitTrials(finished, 'minimize', 0.5).below), [0, 1, 2, 3, 4, 5]);
  });

  void it('tpe.gamma reaches the searcher from a stage, is absent unless given, and is bounded', () => {
    const stage = {
      model: 's3://fineflow/models/base/model.json',
      data: 's3://fineflow/data/manifest.json',
      objective: { metric: 'validation.accuracy' },
      space: { x: { uniform: [0, 1] } },
    };
    assert.equal(planSweep({ ...stage, tpe: { gamma: 0.25 } }).config.tpe.gamma, 0.25);
    assert.equal('gamma' in planSweep(stage).config.tpe, false, 'earlier sweeps keep their exact config');
    for (const bad of [0, 1, -0.1, 'a lot', Infinity])
      assert.throws(
        () => parseSweepConfig({ ...stage, tpe: { gamma: bad } }),
        (error: unknown) =>
          error instanceof InvalidInputError && error.details.path === 'tpe.gamma' && /> 0 and < 1/.test(error.message),
      );
    // A larger good group changes what TPE proposes once the model is used.
    const propose = (gamma?: number) => {
      const config = parseSweepConfig({ ...stage, seed: 4, tpe: { nStartupTrials: 3, ...(gamma ? { gamma } : {}) } });
      let state: SearcherState = createSearcher('tpe', config.space, 'maximize', { seed: 4, tpe: config.tpe });
      for (let i = 0; i < 12; i++) {
        const suggestion = suggestTrials(state, 1);
        const trial = suggestion.trials[0];
        assert.ok(trial);
        const x = trial.params.x as number;
        state = observeTrial(suggestion.state, {
          trialId: trial.trialId,
          status: 'completed',
          value: -((x - 0.3) ** 2),
        });
      }
      return suggestTrials(state, 1).trials[0]?.params.x;
    };
    assert.notEqual(propose(0.5), propose());
    assert.equal(propose(0.1), propose(), 'gamma 0.1 is the default');
  });

  void it('ignores failed trials and spreads a parallel batch (constant liar)', () => {
    const space = parseSearchSpace({ x: { uniform: [0, 1] } });
    let state: SearcherState = createSearcher('tpe', space, 'maximize', { seed: 3, tpe: { nStartupTrials: 3 } });
    for (let i = 0; i < 6; i++) {
      const s = suggestTrials(state, 1);
      const trial = s.trials[0];
      assert.ok(trial);
      state = observeTrial(s.state, {
        trialId: trial.trialId,
        status: i % 3 === 2 ? 'failed' : 'completed',
        value: -Math.abs((trial.params.x as number) - 0.3),
      });
    }
    const batch = suggestTrials(state, 4).trials.map((t) => t.params.x as number);
    assert.equal(new Set(batch).size, 4);
  });

  void it('beats random search on a shifted quadratic with log and categorical parameters (median of 10 seeds)', () => {
    const space = parseSearchSpace({
      x: { uniform: [-5, 5] },
      y: { uniform: [-5, 5] },
      lr: { logUniform: [1e-5, 1] },
      optimizer: { choice: ['sgd', 'adam', 'rmsprop', 'adagrad'] },
    });
    const objective = (p: ParameterValues): number =>
      ((p.x as number) - 1.7) ** 2 +
      ((p.y as number) + 2.2) ** 2 +
      (Math.log10(p.lr as number) + 3.3) ** 2 +
      (p.optimizer === 'adam' ? 0 : 3);
    const tpe = SEEDS.map((seed) => optimise('tpe', space, 'minimize', objective, seed, 50));
    const random = SEEDS.map((seed) => optimise('random', space, 'minimize', objective, seed, 50));
    assert.ok(median(tpe) < median(random) * 0.6, `median best: tpe ${median(tpe)} vs random ${median(random)}`);
    assert.ok(tpe.filter((value, i) => value < (random[i] as number)).length >= 7, `tpe ${tpe} random ${random}`);
  });

  void it('beats random search on Branin, maximising its negation (median of 10 seeds)', () => {
    const space = parseSearchSpace({ x1: { uniform: [-5, 10] }, x2: { uniform: [0, 15] } });
    const branin = (p: ParameterValues): number => {
      const x1 = p.x1 as number;
      const x2 = p.x2 as number;
      const b = 5.1 / (4 * Math.PI ** 2);
      return (x2 - b * x1 ** 2 + (5 / Math.PI) * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
    };
    const regret = (best: number): number => -best - 0.397887;
    const tpe = SEEDS.map((seed) => regret(optimise('tpe', space, 'maximize', (p) => -branin(p), seed, 80)));
    const random = SEEDS.map((seed) => regret(optimise('random', space, 'maximize', (p) => -branin(p), seed, 80)));
    assert.ok(median(tpe) < median(random), `median regret: tpe ${median(tpe)} vs random ${median(random)}`);
  });
});
