import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatObjectiveTable,
  formatSeedsDone,
  METHODS,
  parseSeedRange,
  sweepSeedByEverySeed,
  type MethodId,
  type SeedsDone,
} from '../../../bench/sweep/real-bench';
import type { SweepRun } from '../../../bench/sweep/sweep-stats';

const methods = (['fineflow-tpe-asha', 'random', 'optuna-tpe-sha'] as const).map((id) => ({ id }));
const sweep = (seed: number, epochs: number): SweepRun => ({ seed, epochs, reached: true, trials: 1, anytime: [] });

void describe('sweep bench: a seed range run seed by seed (resumable, with an honest count)', () => {
  void it('finishes every method on a seed before the next seed starts, and returns each method in seed order', async () => {
    const calls: string[] = [];
    const done: SeedsDone[] = [];
    const runs = await sweepSeedByEverySeed(
      [501, 502, 503],
      methods,
      (method, seed) => {
        calls.push(`${method.id}@${seed}`);
        return Promise.resolve(sweep(seed, seed - 500 + method.id.length));
      },
      (progress) => done.push(progress),
    );
    assert.deepEqual(calls, [
      'fineflow-tpe-asha@501',
      'random@501',
      'optuna-tpe-sha@501',
      'fineflow-tpe-asha@502',
      'random@502',
      'optuna-tpe-sha@502',
      'fineflow-tpe-asha@503',
      'random@503',
      'optuna-tpe-sha@503',
    ]);
    assert.deepEqual(
      [...runs].map(([id, list]) => [id, list.map((run) => run.seed)]),
      methods.map(({ id }) => [id, [501, 502, 503]]),
    );
    assert.deepEqual(
      done.map(({ seed, done: k, total, next }) => [seed, k, total, next]),
      [
        [501, 1, 3, 502],
        [502, 2, 3, 503],
        [503, 3, 3, undefined],
      ],
    );
  });

  void it('a run stopped part-way has counted only the seeds every method finished', async () => {
    const done: number[] = [];
    await assert.rejects(
      sweepSeedByEverySeed(
        [1, 2, 3, 4, 5],
        methods,
        (method, seed) =>
          seed === 3 && method.id === 'random' ? Promise.reject(new Error('stopped')) : Promise.resolve(sweep(seed, 9)),
        (progress) => done.push(progress.done),
      ),
      /stopped/,
    );
    assert.deepEqual(done, [1, 2]);
  });

  void it('the progress line says k of N seeds, which seeds are done, the methods and where the run goes on', () => {
    const ids: MethodId[] = ['fineflow-tpe-asha', 'random'];
    const line = formatSeedsDone('digits-categorical', {
      seed: 507,
      done: 7,
      total: 60,
      methods: ids,
      first: 501,
      last: 560,
      next: 508,
    });
    assert.equal(
      line,
      'digits-categorical: seed 507 done for all 2 methods (fineflow-tpe-asha, random) — 7 of 60 seeds done (seeds 501…507 of 501…560); next seed 508',
    );
    assert.match(
      formatSeedsDone('defect-cnn', { seed: 560, done: 60, total: 60, methods: ids, first: 501, last: 560 }),
      /60 of 60 seeds done \(seeds 501…560 of 501…560\); the range is complete$/,
    );
  });

  void it('--first-seed and --seeds are whole numbers within bounds; a bad one names the flag', () => {
    assert.deepEqual(parseSeedRange(undefined, undefined), { first: 1, count: 20 });
    assert.deepEqual(parseSeedRange('501', '60'), { first: 501, count: 60 });
    for (const [first, count, flag] of [
      ['501', '60x', '--seeds'],
      ['501', '0', '--seeds'],
      ['501', '1001', '--seeds'],
      ['501', '1.5', '--seeds'],
      ['-3', '60', '--first-seed'],
      ['', '60', '--first-seed'],
      ['1e3', '60', '--first-seed'],
      ['2000000', '60', '--first-seed'],
    ] as const)
      assert.throws(() => parseSeedRange(first, count), new RegExp(`^RangeError: ${flag}: must be a whole number`));
  });
});

void describe("sweep bench table: #20's comparisons seed by seed", () => {
  void it('pairs the default with random and both Optuna rows: ratio, interval and seeds better / worse / same', () => {
    const runsOf = (epochs: number[]) => epochs.map((value, i) => sweep(i + 1, value));
    const pick = (id: MethodId) => METHODS.find((method) => method.id === id)!;
    const result = {
      objective: 'x',
      target: 0.9,
      methods: [pick('fineflow-tpe-asha'), pick('random'), pick('optuna-tpe-sha'), pick('optuna-tpe-hyperband')],
      runs: {
        'fineflow-tpe-asha': runsOf([10, 40, 60]),
        random: runsOf([20, 80, 60]),
        'optuna-tpe-sha': runsOf([5, 40, 90]),
        'optuna-tpe-hyperband': runsOf([10, 30, 50]),
      },
    };
    const lines = formatObjectiveTable(result, 360);
    for (const line of [
      'Fineflow TPE+ASHA default / random (no stopping), paired: 0.67× [0.50, 1.00]; seeds better / worse / same: 2 / 0 / 1',
      'Fineflow TPE+ASHA default / Optuna TPE+SuccessiveHalving, paired: 1.00× [0.67, 2.00]; seeds better / worse / same: 1 / 1 / 1',
      'Fineflow TPE+ASHA default / Optuna TPE+Hyperband, paired: 1.33× [1.00, 1.33]; seeds better / worse / same: 0 / 2 / 1',
    ])
      assert.ok(lines.includes(line), lines.join('\n'));
    const alone = { ...result, methods: [pick('fineflow-tpe-asha')], runs: { 'fineflow-tpe-asha': runsOf([1, 2, 3]) } };
    assert.ok(!formatObjectiveTable(alone, 360).some((line) => line.startsWith('Fineflow TPE+ASHA default / ')));
  });
});
