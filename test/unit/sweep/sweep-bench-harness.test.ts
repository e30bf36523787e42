import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CurveCacheFile } from '../../../bench/sweep/curve-cache';
import { fineflowHistory, optunaSpace, runFineflowSweep, type SweepBudget } from '../../../bench/sweep/drivers';
import {
  calibratedTarget,
  describeBudget,
  formatAnytime,
  formatObjectiveTable,
  formatRetrainTable,
  formatSeedRow,
  withGpSettings,
  METHODS,
  parseMethods,
  parseScenario,
  RETRAIN_METHODS,
  selectObjectives,
  withVariant,
} from '../../../bench/sweep/real-bench';
import { anytimeArea, bestAt, ratioOfMedians, spread, type SweepRun } from '../../../bench/sweep/sweep-stats';
import { parseSearchSpace, type ParameterValues } from '../../../src/core/sweep/space';
import { canonicalJson } from '../../../src/canonical-json';

function run(seed: number, epochs: number, reached = true): SweepRun {
  return { seed, epochs, reached, trials: 1, anytime: [] };
}

void describe('sweep bench statistics', () => {
  void it('spread gives the median and the quartiles with linear interpolation', () => {
    assert.deepEqual(spread([5, 1, 3, 2, 4]), { median: 3, q1: 2, q3: 4 });
    assert.deepEqual(spread([1, 2, 3, 4]), { median: 2.5, q1: 1.75, q3: 3.25 });
  });

  void it('ratioOfMedians is median(a)/median(b) with a paired interval around it', () => {
    const a = [10, 12, 14, 16, 18, 20, 22, 24, 26, 28].map((epochs, i) => run(i + 1, epochs));
    const b = a.map((r) => run(r.seed, r.epochs * 2));
    const estimate = ratioOfMedians(a, b, { resamples: 2000 });
    assert.equal(estimate.ratio, 0.5);
    // Pairing: b is exactly 2·a seed by seed, so every resample's ratio is 0.5.
    assert.deepEqual(estimate.interval, { low: 0.5, high: 0.5 });
  });

  void it('the interval widens when the methods disagree seed by seed and covers the point estimate', () => {
    const a = [5, 40, 8, 60, 12, 30, 9, 70, 15, 20].map((epochs, i) => run(i + 1, epochs));
    const b = [50, 10, 80, 20, 45, 90, 25, 35, 60, 40].map((epochs, i) => run(i + 1, epochs));
    const { ratio, interval } = ratioOfMedians(a, b, { resamples: 2000, seed: 3 });
    assert.ok(interval, 'an interval');
    assert.ok(interval.low < ratio && ratio < interval.high, JSON.stringify({ ratio, interval }));
    assert.ok(interval.high - interval.low > 0.2);
  });

  void it('refuses runs of different seeds', () => {
    assert.throws(() => ratioOfMedians([run(1, 3)], [run(2, 3)]), /same seeds/);
  });

  void it('anytimeArea averages the best-so-far over the horizon and holds the last value', () => {
    // epochs 1..4: 0, 0.5, 0.5, 0.8 → then 0.8 for epochs 5..10.
    const anytime: SweepRun['anytime'] = [
      [2, 0.5],
      [4, 0.8],
    ];
    assert.equal(anytimeArea(anytime, 10), (0 + 0.5 + 0.5 + 0.8 + 0.8 * 6) / 10);
    assert.equal(anytimeArea(anytime, 3), (0 + 0.5 + 0.5) / 3);
    assert.equal(anytimeArea([], 5, 0.1), 0.1);
    assert.equal(bestAt(anytime, 3), 0.5);
    assert.equal(bestAt(anytime, 1, 0.2), 0.2);
  });
});

void describe('sweep bench drivers', () => {
  const space = { x: { uniform: [0, 1] } };
  const budget: SweepBudget = { target: 0.9, epochsPerTrial: 9, parallelism: 2, maxEpochs: 90 };
  // A trial's value climbs towards x: only trials with x ≥ 0.9 can reach the target, after epoch 3.
  const valueAt = (params: ParameterValues, epoch: number): Promise<number> =>
    Promise.resolve((params.x as number) * Math.min(1, epoch / 3));

  void it('counts every epoch asked for and stops at the first value that reaches the target', async () => {
    const asked: number[] = [];
    const result = await runFineflowSweep({ algorithm: 'random', earlyStopping: 'none' }, space, 4, budget, (p, e) => {
      asked.push(e);
      return valueAt(p, e);
    });
    assert.equal(result.epochs, asked.length);
    if (result.reached) assert.ok(result.anytime.at(-1)?.[1] !== undefined && result.anytime.at(-1)![1] >= 0.9);
    assert.ok(result.epochs <= budget.maxEpochs);
    // Without stopping, every trial trains to the end before the next starts in its slot.
    assert.ok(result.trials <= Math.ceil(result.epochs / budget.epochsPerTrial) + budget.parallelism);
  });

  void it('gives up after maxEpochs when the target is out of reach', async () => {
    const result = await runFineflowSweep({ algorithm: 'tpe', earlyStopping: 'asha' }, space, 1, budget, () =>
      Promise.resolve(0.5),
    );
    assert.deepEqual([result.reached, result.epochs], [false, budget.maxEpochs]);
    assert.deepEqual(result.anytime, [[1, 0.5]]);
  });

  void it('ASHA stops trials early, so it starts more trials than random for the same epochs', async () => {
    const hard = { ...budget, target: 2 };
    const tpe = await runFineflowSweep({ algorithm: 'tpe', earlyStopping: 'asha' }, space, 2, hard, valueAt);
    const random = await runFineflowSweep({ algorithm: 'random', earlyStopping: 'none' }, space, 2, hard, valueAt);
    assert.equal(tpe.epochs, random.epochs);
    assert.ok(tpe.trials > random.trials, `${tpe.trials} > ${random.trials}`);
  });

  void it('maps a Fineflow space to Optuna distributions', () => {
    const mapped = optunaSpace(
      parseSearchSpace({
        lr: { logUniform: [1e-5, 1] },
        n: { int: [0, 6] },
        opt: { choice: ['adam', 'sgd'] },
        d: { uniform: [0, 0.5] },
      }),
    );
    assert.deepEqual(mapped, [
      { name: 'd', kind: 'float', low: 0, high: 0.5, log: false },
      { name: 'lr', kind: 'float', low: 1e-5, high: 1, log: true },
      { name: 'n', kind: 'int', low: 0, high: 6, step: 1, log: false },
      { name: 'opt', kind: 'categorical', choices: ['adam', 'sgd'] },
    ]);
  });

  void it('--tpe/--asha add a variant row right after the default, which runs too; bad JSON names the flag', () => {
    const chosen = METHODS.filter((method) => method.id !== 'fineflow-tpe-asha');
    const varied = withVariant(chosen, { tpe: '{"gamma":0.25}', asha: '{"minEpochs":3}' });
    assert.deepEqual(
      varied.map((method) => method.id),
      [
        'fineflow-tpe-asha',
        'fineflow-variant',
        'fineflow-tpe-asha-stopping',
        'fineflow-tpe-asha-brackets',
        'fineflow-tpe-asha-tpe-score',
        'fineflow-tpe-asha-adaptive-rung',
        'fineflow-tpe-asha-loss-tie-break',
        'fineflow-tpe-asha-loss-rank',
        'fineflow-tpe-mv-asha',
        'fineflow-gp-asha',
        'fineflow-dyhpo',
        'fineflow-tpe-asha-inherit',
        'random',
        'optuna-tpe-sha',
        'optuna-tpe-hyperband',
      ],
    );
    assert.deepEqual(varied[1]?.fineflow, {
      algorithm: 'tpe',
      earlyStopping: 'asha',
      tpe: { gamma: 0.25 },
      asha: { minEpochs: 3 },
    });
    assert.deepEqual(varied[0], METHODS[0], 'the default keeps its settings');
    assert.throws(() => withVariant(METHODS, { tpe: '{gamma: 0.25}' }), /--tpe: not JSON/);
    assert.throws(() => withVariant(METHODS, { asha: '[3]' }), /--asha: must be a JSON object/);
  });

  void it('`--only sweep` with no --methods runs the default, random and Optuna rows; opt-in rows only on request', () => {
    assert.deepEqual(
      METHODS.filter((method) => !method.onRequest).map((method) => method.id),
      ['fineflow-tpe-asha', 'random', 'optuna-tpe-sha', 'optuna-tpe-hyperband'],
    );
  });

  void it('a retrain history is the earlier sweep run to its end: its completed and stopped trials', async () => {
    const tpe = { algorithm: 'tpe', earlyStopping: 'asha' } as const;
    const asked = new Map<string, number>();
    const counting = (params: ParameterValues, epoch: number): Promise<number> => {
      const key = JSON.stringify(params);
      asked.set(key, Math.max(asked.get(key) ?? 0, epoch));
      return valueAt(params, epoch);
    };
    const cold = await runFineflowSweep(tpe, space, 3, budget, valueAt);
    const history = await fineflowHistory(tpe, space, 3, budget, counting);
    assert.ok(cold.reached, 'the earlier sweep reached its target');
    // Every trial it started ends completed or stopped (promotion-based ASHA: one still paused at a rung when the
    // sweep closed is stopped there, maybe the one that reached the target at that rung).
    assert.equal(history.length, asked.size);
    assert.ok(history.length >= cold.trials);
    assert.ok(history.some((trial) => trial.value >= budget.target));
    for (const trial of history) {
      assert.equal(trial.epochs, asked.get(JSON.stringify(trial.params)));
      assert.equal(trial.value, (trial.params.x as number) * Math.min(1, trial.epochs / 3));
      if (trial.status === 'completed') assert.equal(trial.epochs, budget.epochsPerTrial);
    }
  });

  void it('a sweep seeded with a history that found the good region reaches the target in fewer epochs', async () => {
    const tpe = { algorithm: 'tpe', earlyStopping: 'asha' } as const;
    let warmTotal = 0;
    let coldTotal = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const history = await fineflowHistory(tpe, space, seed + 100, budget, valueAt);
      warmTotal += (await runFineflowSweep(tpe, space, seed, budget, valueAt, history)).epochs;
      coldTotal += (await runFineflowSweep(tpe, space, seed, budget, valueAt)).epochs;
    }
    assert.ok(warmTotal < coldTotal, `warm ${warmTotal} < cold ${coldTotal} epochs over 8 seeds`);
  });

  void it('the retrain table pairs warm with cold, and --scenario names bad values', () => {
    const runsOf = (epochs: number[]) => epochs.map((value, i) => run(i + 1, value));
    const table = formatRetrainTable(
      {
        objective: 'x',
        target: 0.9,
        methods: RETRAIN_METHODS,
        runs: {
          'fineflow-tpe-asha-warm': runsOf([10, 20, 30]),
          'fineflow-tpe-asha': runsOf([20, 40, 60]),
          random: runsOf([40, 80, 120]),
          'optuna-tpe-sha': runsOf([20, 40, 60]),
          'optuna-tpe-sha-warm': runsOf([10, 20, 30]),
        },
      },
      360,
    );
    assert.match(
      table[2] ?? '',
      /^\| Fineflow TPE\+ASHA warm \| 3\/3 \| 20 \[15, 25\] .* 0\.25× \[0\.25, 0\.25\] \| 0\.50× .* \| 1\.00× /,
    );
    assert.ok(
      table.includes(
        'Fineflow warm / Fineflow cold, paired: 0.50× [0.50, 0.50]; seeds better / worse / same: 3 / 0 / 0',
      ),
    );
    assert.ok(
      table.includes(
        'Optuna SHA warm / Optuna SHA cold, paired: 0.50× [0.50, 0.50]; seeds better / worse / same: 3 / 0 / 0',
      ),
    );
    assert.ok(
      table.includes(
        'Fineflow warm / Optuna SHA warm, paired: 1.00× [1.00, 1.00]; seeds better / worse / same: 0 / 0 / 3',
      ),
    );
    assert.ok(!table.some((line) => line.includes('stopping-based')), 'no stopping-based line without its rows');
    // The stopping-based rows (session 9's, each from its own history) beside today's, paired seed by seed.
    const both = formatRetrainTable(
      {
        objective: 'x',
        target: 0.9,
        methods: RETRAIN_METHODS,
        runs: {
          'fineflow-tpe-asha-warm': runsOf([10, 20, 30]),
          'fineflow-tpe-asha-stopping-warm': runsOf([20, 10, 60]),
          'fineflow-tpe-asha': runsOf([20, 40, 60]),
          'fineflow-tpe-asha-stopping': runsOf([40, 40, 60]),
          random: runsOf([40, 80, 120]),
          'optuna-tpe-sha': runsOf([20, 40, 60]),
          'optuna-tpe-sha-warm': runsOf([10, 20, 30]),
          'optuna-tpe-sha-warm-stopping': runsOf([40, 40, 60]),
        },
      },
      360,
    );
    assert.match(
      both.find((line) => line.startsWith('| Fineflow TPE+ASHA stopping-based warm |')) ?? '',
      /\| 0\.25× \[0\.13, 0\.50\] \| 0\.50× \[0\.25, 1\.00\] \| 0\.50× \[0\.25, 1\.00\] \|$/,
      'the stopping-based warm row is set against Optuna warm from the stopping-based history',
    );
    for (const line of [
      'Fineflow warm, promotion / stopping-based, paired: 1.00× [0.50, 2.00]; seeds better / worse / same: 2 / 1 / 0',
      'Fineflow cold, promotion / stopping-based, paired: 1.00× [0.50, 1.00]; seeds better / worse / same: 1 / 0 / 2',
      'Optuna SHA warm, promotion / stopping-based history, paired: 0.50× [0.25, 0.50]; seeds better / worse / same: 3 / 0 / 0',
      'stopping-based: Fineflow warm / Fineflow cold, paired: 0.50× [0.25, 1.00]; seeds better / worse / same: 2 / 0 / 1',
      'stopping-based history: Optuna SHA warm / Optuna SHA cold, paired: 1.00× [1.00, 2.00]; seeds better / worse / same: 0 / 1 / 2',
      'stopping-based: Fineflow warm / Optuna SHA warm, paired: 0.50× [0.25, 1.00]; seeds better / worse / same: 2 / 0 / 1',
    ])
      assert.ok(both.includes(line), `${line}\n${both.join('\n')}`);
    assert.deepEqual(
      RETRAIN_METHODS.filter((method) => !method.onRequest).map((method) => method.id),
      ['fineflow-tpe-asha-warm', 'fineflow-tpe-asha', 'random', 'optuna-tpe-sha', 'optuna-tpe-sha-warm'],
    );
    assert.deepEqual(parseMethods('fineflow-tpe-asha-stopping-warm,optuna-tpe-sha-warm-stopping'), [
      'fineflow-tpe-asha-stopping-warm',
      'optuna-tpe-sha-warm-stopping',
    ]);
    assert.equal(parseScenario(undefined), 'cold');
    assert.equal(parseScenario('retrain'), 'retrain');
    assert.equal(parseScenario('retrain-moved'), 'retrain-moved');
    assert.throws(() => parseScenario('warm'), /--scenario: must be cold, retrain, retrain-moved, got "warm"/);
    assert.deepEqual(parseMethods('fineflow-tpe-asha-warm,random'), ['fineflow-tpe-asha-warm', 'random']);
  });

  void it('the GP row runs the GP searcher with the default ASHA, deterministically, and reaches the target', async () => {
    const gp = { algorithm: 'gp', earlyStopping: 'asha', gp: { nStartupTrials: 4 } } as const;
    const first = await runFineflowSweep(gp, space, 5, budget, valueAt);
    assert.deepEqual(await runFineflowSweep(gp, space, 5, budget, valueAt), first);
    assert.ok(first.reached, JSON.stringify(first));
    const tpe = await runFineflowSweep({ algorithm: 'tpe', earlyStopping: 'asha' }, space, 5, budget, valueAt);
    assert.notDeepEqual(first.anytime, tpe.anytime, 'a different searcher, not TPE under another name');
  });

  void it('--gp sets the GP row options and its label; the row runs only when --methods names it', () => {
    const row = METHODS.find((method) => method.id === 'fineflow-gp-asha');
    assert.ok(row?.onRequest);
    const set = withGpSettings(row, '{"nStartupTrials":5}');
    assert.deepEqual(set.fineflow, { algorithm: 'gp', earlyStopping: 'asha', gp: { nStartupTrials: 5 } });
    assert.equal(set.label, 'Fineflow GP+ASHA {"nStartupTrials":5}');
    assert.equal(withGpSettings(METHODS[0]!, '{"nStartupTrials":5}'), METHODS[0], 'other rows unchanged');
    assert.throws(() => withGpSettings(row, '5'), /--gp: must be a JSON object/);
  });

  void it('pairs the GP row with the default seed by seed, and pads anytime labels to the longest', () => {
    const runsOf = (epochs: number[]) => epochs.map((value, i) => run(i + 1, value));
    const long = {
      id: 'fineflow-variant',
      label: 'Fineflow variant (tpe {"multivariate":true,"gamma":0.25})',
    } as const;
    const result = {
      objective: 'x',
      target: 0.9,
      methods: [METHODS[0]!, METHODS.find((m) => m.id === 'fineflow-gp-asha')!, long],
      runs: {
        'fineflow-tpe-asha': runsOf([20, 40, 60]),
        'fineflow-gp-asha': runsOf([10, 40, 90]),
        'fineflow-variant': runsOf([20, 40, 60]),
      },
    };
    const table = formatObjectiveTable(result, 360);
    assert.ok(
      table.includes(
        'Fineflow GP+ASHA / Fineflow TPE+ASHA default, paired: 1.00× [0.50, 1.50]; seeds better / worse / same: 1 / 1 / 1',
      ),
      table.join('\n'),
    );
    const lines = formatAnytime(result, 360).slice(1);
    assert.equal(lines.length, 3);
    const column = (line: string): number => line.search(/\d\.\d{3} \//);
    assert.ok(column(lines[2]!) > long.label.length, 'the long label keeps a space before its numbers');
    assert.deepEqual(lines.map(column), [column(lines[2]!), column(lines[2]!), column(lines[2]!)]);
  });

  void it('pairs the default with the stopping-based row seed by seed when both ran, and only then', () => {
    const runsOf = (epochs: number[]) => epochs.map((value, i) => run(i + 1, value));
    const stopping = METHODS.find((m) => m.id === 'fineflow-tpe-asha-stopping')!;
    const result = {
      objective: 'x',
      target: 0.9,
      methods: [METHODS[0]!, stopping],
      runs: { 'fineflow-tpe-asha': runsOf([10, 40, 60]), 'fineflow-tpe-asha-stopping': runsOf([20, 40, 30]) },
    };
    const line =
      'Fineflow TPE+ASHA default (promotion) / stopping-based, paired: 1.33× [0.50, 2.00]; seeds better / worse / same: 1 / 1 / 1';
    assert.ok(formatObjectiveTable(result, 360).includes(line), formatObjectiveTable(result, 360).join('\n'));
    const alone = {
      ...result,
      methods: [METHODS[0]!],
      runs: { 'fineflow-tpe-asha': result.runs['fineflow-tpe-asha'] },
    };
    assert.ok(!formatObjectiveTable(alone, 360).some((l) => l.includes('stopping-based, paired')));
  });

  void it('runs the Hyperband-brackets method (session 11, not adopted) on request, paired with the default', () => {
    const runsOf = (epochs: number[]) => epochs.map((value, i) => run(i + 1, value));
    const brackets = METHODS.find((m) => m.id === 'fineflow-tpe-asha-brackets')!;
    assert.equal(brackets.onRequest, true);
    assert.deepEqual(brackets.fineflow, { algorithm: 'tpe', earlyStopping: 'asha', asha: { brackets: true } });
    const result = {
      objective: 'x',
      target: 0.9,
      methods: [METHODS[0]!, brackets],
      runs: { 'fineflow-tpe-asha': runsOf([10, 40, 60]), 'fineflow-tpe-asha-brackets': runsOf([20, 30, 60]) },
    };
    const line =
      'Hyperband brackets / Fineflow TPE+ASHA default, paired: 0.75× [0.75, 2.00]; ' +
      'seeds better / worse / same: 1 / 1 / 1';
    assert.ok(formatObjectiveTable(result, 360).includes(line), formatObjectiveTable(result, 360).join('\n'));
  });

  void it("runs the TPE-score promotion method (session 12's pre-registered variant) on request, paired with the default", () => {
    const runsOf = (epochs: number[]) => epochs.map((value, i) => run(i + 1, value));
    const scored = METHODS.find((m) => m.id === 'fineflow-tpe-asha-tpe-score')!;
    assert.equal(scored.onRequest, true);
    assert.deepEqual(scored.fineflow, { algorithm: 'tpe', earlyStopping: 'asha', asha: { promoteByTpeScore: true } });
    const result = {
      objective: 'x',
      target: 0.9,
      methods: [METHODS[0]!, scored],
      runs: { 'fineflow-tpe-asha': runsOf([10, 40, 60]), 'fineflow-tpe-asha-tpe-score': runsOf([20, 30, 50]) },
    };
    const line =
      'TPE-score promotion / Fineflow TPE+ASHA default, paired: 0.75× [0.75, 2.00]; ' +
      'seeds better / worse / same: 2 / 1 / 0';
    assert.ok(formatObjectiveTable(result, 360).includes(line), formatObjectiveTable(result, 360).join('\n'));
  });

  void it("runs the adaptive first rung (session 13's pre-registered variant) on request, paired with the default", () => {
    const runsOf = (epochs: number[]) => epochs.map((value, i) => run(i + 1, value));
    const adaptive = METHODS.find((m) => m.id === 'fineflow-tpe-asha-adaptive-rung')!;
    assert.equal(adaptive.onRequest, true);
    assert.deepEqual(adaptive.fineflow, { algorithm: 'tpe', earlyStopping: 'asha', asha: { adaptiveFirstRung: true } });
    const result = {
      objective: 'x',
      target: 0.9,
      methods: [METHODS[0]!, adaptive],
      runs: { 'fineflow-tpe-asha': runsOf([10, 40, 60]), 'fineflow-tpe-asha-adaptive-rung': runsOf([20, 30, 50]) },
    };
    const line =
      'adaptive first rung / Fineflow TPE+ASHA default, paired: 0.75× [0.75, 2.00]; ' +
      'seeds better / worse / same: 2 / 1 / 0';
    assert.ok(formatObjectiveTable(result, 360).includes(line), formatObjectiveTable(result, 360).join('\n'));
  });

  void it('parseMethods names unknown methods', () => {
    assert.deepEqual(parseMethods('random,optuna-tpe-sha'), ['random', 'optuna-tpe-sha']);
    assert.throws(() => parseMethods('random,bohb'), /unknown bohb; known: fineflow-tpe-asha/);
  });

  void it('--objectives runs the objectives in the order written, and names an unknown one', () => {
    const ids = (list?: string): string[] => selectObjectives(list?.split(',')).map((o) => o.id);
    assert.deepEqual(ids('digits-categorical,defect-cnn'), ['digits-categorical', 'defect-cnn']);
    assert.deepEqual(ids('tabular-mlp,digits-categorical,tabular-mlp'), ['tabular-mlp', 'digits-categorical']);
    assert.deepEqual(ids(), ['defect-cnn', 'tabular-mlp', 'digits-categorical']);
    assert.throws(
      () => ids('defect-cnn,digits'),
      /--objectives: unknown digits; known: defect-cnn, tabular-mlp, digits-categorical/,
    );
  });
});

void describe('sweep bench calibration', () => {
  void it('takes the rank-th best value, raised past ties so at most rank values reach it', () => {
    assert.equal(calibratedTarget([0.1, 0.9, 0.5, 0.7, 0.8, 0.6], 3), 0.7);
    // 0.7 is shared by three values: taking it would let 4 reach the target, so 0.8 it is.
    assert.equal(calibratedTarget([0.9, 0.8, 0.7, 0.7, 0.7, 0.1], 3), 0.8);
    assert.equal(calibratedTarget([0.5, 0.5, 0.5], 2), 0.5);
  });
});

void describe('sweep bench: a training run and its reprint from the cache', () => {
  const space = { x: { uniform: [0, 1] } };
  const budget: SweepBudget = { target: 0.9, epochsPerTrial: 9, parallelism: 2, maxEpochs: 180 };
  // "Training": a curve per configuration, deterministic, as the pinned engine's are.
  const train = (params: ParameterValues) =>
    Array.from({ length: 9 }, (_, i) => (params.x as number) * Math.min(1, (i + 1) / 4));
  const keyOf = (params: ParameterValues, seed: number) => canonicalJson(['t', 1, params, seed]);
  const seeds = [1, 2, 3, 4, 5, 6];

  /** One bench run's row over `seeds`: trains what the file lacks, as TrialEvaluator does; `meanwhile` runs before each append. */
  async function benchRow(
    file: string,
    rowBudget: SweepBudget,
    meanwhile: (key: string, params: ParameterValues) => void = () => undefined,
  ) {
    const cache = new CurveCacheFile(file);
    let trained = 0;
    const runs: SweepRun[] = [];
    for (const seed of seeds)
      runs.push(
        await runFineflowSweep({ algorithm: 'tpe', earlyStopping: 'asha' }, space, seed, rowBudget, (params, epoch) => {
          const key = keyOf(params, seed);
          cache.refresh();
          let curve = cache.get(key)?.curve;
          if (!curve) {
            trained++;
            const line = { key, curve: train(params), engine: 'graph' as const };
            meanwhile(key, params);
            curve = cache.record(line).curve;
          }
          return Promise.resolve(curve[epoch - 1] as number);
        }),
      );
    return { row: formatSeedRow('Fineflow TPE+ASHA', rowBudget, runs), trained };
  }

  void it('prints the same row when reprinted, whatever another process appended meanwhile; the row names its target', async (t) => {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'fineflow-reprint-'));
    t.after(() => rmSync(directory, { recursive: true, force: true }));
    const file = path.join(directory, 'curves.jsonl');
    // Another bench process appends its own keys, and some of this run's keys first (with the same curve), while it trains.
    const other = new CurveCacheFile(file);
    let n = 0;
    let writtenFirst = 0;
    const first = await benchRow(file, budget, (key, params) => {
      n++;
      other.record({ key: keyOf({ x: n / 1000 }, 100 + n), curve: train({ x: 0.5 }), engine: 'graph' });
      if (n % 3 === 0) {
        other.record({ key, curve: train(params), engine: 'graph' });
        writtenFirst++;
      }
    });
    assert.ok(writtenFirst > 0);
    const reprint = await benchRow(file, budget);
    assert.ok(first.trained > 0);
    assert.equal(reprint.trained, 0);
    assert.equal(reprint.row, first.row);
    assert.match(first.row, /^Fineflow TPE\+ASHA \(target 0\.9\): \d/);
    // The cache has no target in its keys: a run against another target reads the same curves and prints other
    // counts (session 11's tabular 116 vs 139), so the row has to say which target it stopped at.
    const moved = await benchRow(file, { ...budget, target: 0.95 });
    assert.notEqual(moved.row.split(': ')[1], first.row.split(': ')[1]);
    assert.match(moved.row, /\(target 0\.95\)/);
    assert.match(describeBudget(budget), /^target 0\.9, 9 epochs per trial, parallelism 2, gives up after 180 epochs$/);
  });
});
