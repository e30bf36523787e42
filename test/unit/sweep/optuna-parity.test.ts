/**
 * Fineflow's TPE and ASHA against Optuna's (the reference the sweep benchmark compares with), on
 * values Optuna 4.5.0 computed in the bench's venv (bench/optuna/setup-venv.sh).
 *
 * Parzen estimators: the expected log densities were computed by Optuna 4.5.0's `_ParzenEstimator` (univariate,
 * prior_weight 1, magic clip, consider_endpoints False, default weights) for the same observations,
 * in the bench's venv (bench/optuna/setup-venv.sh):
 *
 *   pe = _ParzenEstimator({'x': internal_observations}, {'x': distribution}, parameters)
 *   pe.log_pdf({'x': points})
 *
 * Agreement to 1e-6 pins every piece that shapes TPE's proposals: kernel weights, the prior kernel,
 * neighbour bandwidths with the endpoint rule, the magic clip, truncation, integer cells and log
 * spaces, and the smoothed categorical rows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  categoricalEstimator,
  categoricalProbability,
  numericEstimator,
  numericTransform,
} from '../../../src/core/sweep/parzen-estimators';
import { ashaShouldStop, createAsha } from '../../../src/core/sweep/asha';
import type { ParameterDomain } from '../../../src/core/sweep/space';

type NumericDomain = Extract<ParameterDomain, { kind: 'uniform' | 'logUniform' | 'int' }>;

function numericLogDensities(domain: NumericDomain, observations: number[], points: number[]): number[] {
  const transform = numericTransform(domain);
  const estimator = numericEstimator(observations.map(transform.forward), transform.low, transform.high, 1);
  return points.map((point) => transform.logMass(estimator, point));
}

function assertClose(actual: readonly number[], expected: readonly number[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((value, i) =>
    assert.ok(Math.abs(value - (expected[i] as number)) < 1e-6, `point ${i}: ${value} vs Optuna ${expected[i]}`),
  );
}

void describe('Parzen estimators agree with Optuna 4.5.0', () => {
  void it('integer domain (IntDistribution(0, 6)): cell masses', () => {
    assertClose(
      numericLogDensities(
        { kind: 'int', low: 0, high: 6, step: 1, log: false },
        [3, 3, 4, 0, 6, 2],
        [0, 1, 2, 3, 4, 5, 6],
      ),
      [
        -2.3820469827099076, -2.1390869768395424, -1.731278728723756, -1.4888276921655057, -1.731278728723756,
        -2.1390869768395424, -2.3820469827099076,
      ],
    );
  });

  void it('log domain (FloatDistribution(1e-5, 1, log=True)): densities in log space', () => {
    assertClose(
      numericLogDensities(
        { kind: 'logUniform', low: 1e-5, high: 1 },
        [1e-3, 2e-3, 0.05, 0.3],
        [1e-5, 1e-4, 1e-3, 0.01, 0.1, 1],
      ),
      [
        -3.9354978951663684, -2.9426843306249193, -2.1890089115847706, -2.226680506560646, -2.2493034313234093,
        -2.5085778591575347,
      ],
    );
  });

  void it('uniform domain (FloatDistribution(0, 0.9)) with two close points (magic clip)', () => {
    assertClose(
      numericLogDensities({ kind: 'uniform', low: 0, high: 0.9 }, [0.1, 0.12, 0.5], [0, 0.1, 0.3, 0.6, 0.9]),
      [0.32380252123068265, 0.4525024631504193, 0.35146957523831723, -0.051111286517555476, -1.1016324008331946],
    );
  });

  void it('categorical (5 choices, observed indices 1, 1, 3): smoothed rows', () => {
    const estimator = categoricalEstimator([1, 1, 3], 5, 1);
    assertClose(
      [0, 1, 2, 3, 4].map((index) => Math.log(categoricalProbability(estimator, index))),
      [-2.0149030205422647, -1.0340737675305383, -2.0149030205422647, -1.408767216971949, -2.0149030205422647],
    );
  });
});

/**
 * Optuna's SuccessiveHalvingPruner(min_resource=1, reduction_factor=3) with 18 trials of budget 9,
 * two at a time, each reporting one epoch per tick (the bench's order): which trials it pruned at
 * which epoch, in the order they ended. Trial i's value at epoch e is base_i + slope_i · e.
 */
const SHA_CURVES: readonly (readonly [number, number])[] = [
  [0.5, 0.01],
  [0.6, 0],
  [0.4, 0.05],
  [0.55, 0.02],
  [0.7, -0.02],
  [0.3, 0.08],
  [0.62, 0.01],
  [0.58, 0.03],
  [0.45, 0.04],
  [0.66, 0],
  [0.61, 0.02],
  [0.5, 0.06],
  [0.7, -0.03],
  [0.69, 0],
  [0.72, -0.05],
  [0.71, 0.01],
  [0.4, 0.1],
  [0.73, 0],
];
const OPTUNA_SHA_ENDS = [
  [0, 9, 'completed'],
  [1, 9, 'completed'],
  [2, 1, 'pruned'],
  [3, 1, 'pruned'],
  [5, 1, 'pruned'],
  [4, 9, 'completed'],
  [6, 9, 'completed'],
  [7, 1, 'pruned'],
  [8, 1, 'pruned'],
  [9, 9, 'completed'],
  [10, 9, 'completed'],
  [11, 1, 'pruned'],
  [12, 3, 'pruned'],
  [14, 3, 'pruned'],
  [13, 9, 'completed'],
  [16, 1, 'pruned'],
  [15, 9, 'completed'],
  [17, 9, 'completed'],
];

void describe('ASHA agrees with Optuna 4.5.0 SuccessiveHalvingPruner', () => {
  void it('prunes the same trials at the same epochs (rungs at epochs 1 and 3)', () => {
    let asha = createAsha({ reductionFactor: 3, minEpochs: 1, maxEpochs: 9 }, 'maximize');
    const value = (trial: number, epoch: number): number => {
      const [base, slope] = SHA_CURVES[trial] as readonly [number, number];
      return Math.round((base + slope * epoch) * 1000) / 1000;
    };
    const running: { trial: number; epoch: number }[] = [];
    const ends: (string | number)[][] = [];
    let next = 0;
    while (running.length > 0 || next < SHA_CURVES.length) {
      while (running.length < 2 && next < SHA_CURVES.length) running.push({ trial: next++, epoch: 0 });
      for (const entry of [...running]) {
        entry.epoch++;
        const decision = ashaShouldStop(asha, entry.trial, entry.epoch, value(entry.trial, entry.epoch));
        asha = decision.state;
        const ended = entry.epoch >= 9 ? 'completed' : decision.stop ? 'pruned' : undefined;
        if (ended === undefined) continue;
        ends.push([entry.trial, entry.epoch, ended]);
        running.splice(running.indexOf(entry), 1);
      }
    }
    assert.deepEqual(ends, OPTUNA_SHA_ENDS);
  });
});
