import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import { median } from '../../../src/core/sweep/median';
import { planSweep } from '../../../src/core/sweep/sweep-plan';
import { parseSweepConfig } from '../../../src/core/sweep/sweep-state';
import { RandomSource, seedRandomState } from '../../../src/core/sweep/random-source';
import { createSearcher, observeTrial, suggestTrials, type SearcherState } from '../../../src/core/sweep/searchers';
import { parseSearchSpace, type ParameterValues } from '../../../src/core/sweep/space';
import { jointEstimator, jointLogDensity, sampleJoint } from '../../../src/core/sweep/tpe-multivariate';

function correlation(xs: readonly number[], ys: readonly number[]): number {
  const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    const y = ys[i] as number;
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}

void describe('multivariate TPE estimator', () => {
  const space = parseSearchSpace({ x: { uniform: [0, 1] }, y: { uniform: [0, 1] }, c: { choice: ['a', 'b'] } });
  // Good trials lie on the diagonal x = y, with c = 'a' in the lower half and 'b' in the upper half.
  const observations = Array.from({ length: 40 }, (_, i) => {
    const t = (i + 0.5) / 40;
    return { params: { x: t, y: t, c: t < 0.5 ? 'a' : 'b' } };
  });

  void it('draws whole configurations from one kernel, keeping what the observations had together', () => {
    const estimator = jointEstimator(space, observations, 1);
    assert.equal(estimator.weights.length, 41, 'one kernel per observation plus the prior');
    const random = new RandomSource(seedRandomState(7));
    const draws = Array.from({ length: 3000 }, () => sampleJoint(estimator, random));
    const xs = draws.map((d) => d.x as number);
    const ys = draws.map((d) => d.y as number);
    assert.ok(correlation(xs, ys) > 0.6, `x–y correlation ${correlation(xs, ys)}`);
    const meanX = (c: string): number => {
      const chosen = draws.filter((d) => d.c === c).map((d) => d.x as number);
      return chosen.reduce((a, b) => a + b, 0) / chosen.length;
    };
    assert.ok(meanX('a') < 0.4 && meanX('b') > 0.6, `mean x given a ${meanX('a')}, given b ${meanX('b')}`);
    assert.ok(draws.every((d) => (d.x as number) >= 0 && (d.x as number) <= 1));
  });

  void it('gives configurations like the observations a higher density than recombined ones', () => {
    const estimator = jointEstimator(space, observations, 1);
    const onDiagonal = jointLogDensity(estimator, { x: 0.2, y: 0.2, c: 'a' });
    const offDiagonal = jointLogDensity(estimator, { x: 0.2, y: 0.8, c: 'a' });
    const wrongCategory = jointLogDensity(estimator, { x: 0.2, y: 0.2, c: 'b' });
    assert.ok(onDiagonal > offDiagonal + 1, `${onDiagonal} vs ${offDiagonal}`);
    assert.ok(onDiagonal > wrongCategory + 0.5, `${onDiagonal} vs ${wrongCategory}`);
  });

  void it('handles integer and log parameters and an empty history (the prior alone)', () => {
    const mixed = parseSearchSpace({ n: { int: { low: 1, high: 64, log: true } }, lr: { logUniform: [1e-5, 1] } });
    const empty = jointEstimator(mixed, [], 1);
    assert.deepEqual(empty.weights, [1]);
    const random = new RandomSource(seedRandomState(3));
    for (let i = 0; i < 200; i++) {
      const draw = sampleJoint(empty, random);
      assert.ok(Number.isInteger(draw.n) && (draw.n as number) >= 1 && (draw.n as number) <= 64, String(draw.n));
      assert.ok((draw.lr as number) >= 1e-5 && (draw.lr as number) <= 1);
      assert.ok(Number.isFinite(jointLogDensity(empty, draw)));
    }
  });
});

void describe('multivariate TPE search', () => {
  /** Sequential search; returns the best value found (minimising). */
  function optimise(multivariate: boolean | undefined, seed: number, budget: number): number {
    const space = parseSearchSpace({ x: { uniform: [-3, 3] }, y: { uniform: [-3, 3] } });
    // A narrow valley along x = y: recombining good x and good y values independently misses it.
    const valley = (p: ParameterValues): number =>
      20 * ((p.x as number) - (p.y as number)) ** 2 + ((p.x as number) + (p.y as number) - 1) ** 2;
    let state: SearcherState = createSearcher('tpe', space, 'minimize', {
      seed,
      ...(multivariate === undefined ? {} : { tpe: { multivariate } }),
    });
    let best = Infinity;
    for (let i = 0; i < budget; i++) {
      const suggestion = suggestTrials(state, 1);
      const trial = suggestion.trials[0];
      assert.ok(trial);
      const value = valley(trial.params);
      best = Math.min(best, value);
      state = JSON.parse(
        JSON.stringify(observeTrial(suggestion.state, { trialId: trial.trialId, status: 'completed', value })),
      ) as SearcherState;
    }
    return best;
  }
  const seeds = Array.from({ length: 20 }, (_, i) => 500 + i);

  void it('finds a correlated valley better than univariate TPE (median of 20 seeds, 40 trials)', () => {
    const joint = seeds.map((seed) => optimise(true, seed, 40));
    const univariate = seeds.map((seed) => optimise(false, seed, 40));
    assert.ok(
      median(joint) < median(univariate),
      `median best: joint ${median(joint)} vs univariate ${median(univariate)}`,
    );
  });

  void it('is deterministic, and a state without the option (older sweeps) stays univariate', () => {
    assert.equal(optimise(true, 1, 25), optimise(true, 1, 25));
    assert.equal(optimise(undefined, 2, 25), optimise(false, 2, 25));
  });
});

void describe('tpe.multivariate in a sweep stage', () => {
  const stage = {
    model: 's3://fineflow/models/base/model.json',
    data: 's3://fineflow/data/manifest.json',
    objective: { metric: 'validation.accuracy' },
    space: { learningRate: { logUniform: [0.0001, 0.01] } },
  };

  void it('maps tpe.multivariate to the controller, and leaves it out when not given', () => {
    assert.equal(planSweep({ ...stage, tpe: { multivariate: true } }).config.tpe.multivariate, true);
    assert.equal('multivariate' in planSweep(stage).config.tpe, false, 'earlier sweeps keep their exact config');
  });

  void it('refuses a value that is not a boolean, naming the field', () => {
    assert.throws(
      () => parseSweepConfig({ ...stage, tpe: { multivariate: 'yes' } }),
      (error: unknown) => error instanceof InvalidInputError && error.details.path === 'tpe.multivariate',
    );
  });
});
