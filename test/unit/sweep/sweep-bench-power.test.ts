import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  goalsMet,
  loadFinalMeasurement,
  parseFinalMeasurement,
  passProbability,
  powerTable,
} from '../../../bench/sweep/power';

const REPO = path.resolve(__dirname, '../../..');
const seeds = Array.from({ length: 10 }, (_, i) => i);

void describe('sweep bench: how likely a repeat of the final measurement meets #20’s six goals', () => {
  void it('holds exactly the per-seed lines docs/sweep-benchmark.md records for seeds 501…560', () => {
    const doc = readFileSync(path.join(REPO, 'docs/sweep-benchmark.md'), 'utf8');
    const measurement = loadFinalMeasurement();
    const names = { fineflow: 'Fineflow TPE+ASHA', random: 'random', optunaSha: 'Optuna TPE+SuccessiveHalving' };
    for (const [objective, epochs] of Object.entries(measurement.objectives)) {
      const section = doc.slice(doc.indexOf(`#### ${objective} (target`));
      const block = section.slice(section.indexOf('```') + 3, section.indexOf('```', section.indexOf('```') + 3));
      for (const [key, name] of Object.entries(names)) {
        const line = block.split('\n').find((l) => l.startsWith(name));
        assert.ok(line, `${objective}: a per-seed line for ${name}`);
        const recorded = line
          .slice(line.indexOf(':') + 1)
          .trim()
          .split(/\s+/)
          .map((v) => Number(v.replace('!', '')));
        assert.deepEqual(epochs[key as keyof typeof names], recorded, `${objective} ${name}`);
      }
    }
    assert.deepEqual(Object.keys(measurement.objectives), ['defect-cnn', 'digits-categorical', 'tabular-mlp']);
  });

  void it('a malformed file is refused naming the file, the entry and the fix', () => {
    const where = 'bench/sweep/final-measurement.json';
    const base = { giveUpEpochs: 360, seeds: 2 };
    const objective = (fineflow: unknown[]) => ({
      objectives: { cnn: { 'fineflow-tpe-asha': fineflow, random: [1, 2], 'optuna-tpe-sha': [1, 2] } },
    });
    assert.throws(
      () => parseFinalMeasurement({ ...base, ...objective([1, 'x']) }, where),
      /final-measurement\.json: cnn\.fineflow-tpe-asha: "x" is not an epoch count; regenerate it/,
    );
    assert.throws(() => parseFinalMeasurement({ ...base, ...objective([1]) }, where), /needs 2 entries/);
    assert.throws(() => parseFinalMeasurement({ ...base, ...objective([1, 361]) }, where), /361 is not an epoch count/);
    assert.deepEqual(
      parseFinalMeasurement({ ...base, ...objective([4, '360!']) }, where).objectives.cnn?.fineflow,
      [4, 360],
    );
  });

  void it('the goals: half of random with the interval below 1, and no more than Optuna SHA', () => {
    const epochs = { fineflow: seeds.map(() => 10), random: seeds.map(() => 20), optunaSha: seeds.map(() => 10) };
    assert.deepEqual(goalsMet(epochs, seeds, 1, 360, 200, 1), { belowHalfOfRandom: true, notAboveOptunaSha: true });
    assert.deepEqual(goalsMet(epochs, seeds, 1.1, 360, 200, 1), { belowHalfOfRandom: false, notAboveOptunaSha: false });
    // A ratio at 0.5 whose interval reaches 1 misses: half the seeds much worse than random.
    const wide = { ...epochs, fineflow: seeds.map((i) => (i < 5 ? 1 : 40)) };
    assert.equal(goalsMet(wide, seeds, 1, 360, 400, 1).belowHalfOfRandom, false);
    // A sweep that gave up stays at the bound when the default's epochs are multiplied.
    const gaveUp = { ...epochs, fineflow: seeds.map(() => 360), optunaSha: seeds.map(() => 360) };
    assert.equal(goalsMet(gaveUp, seeds, 2, 360, 0, 1).notAboveOptunaSha, true);
  });

  void it('on the recorded final: today’s default meets all six rarely, a far better rule always, a far worse never', () => {
    const measurement = loadFinalMeasurement();
    const options = { finals: 40, resamples: 100, seed: 3 };
    const today = passProbability(measurement, 1, options);
    assert.ok(today.allSix < 0.5, `today's default: ${today.allSix}`);
    assert.equal(passProbability(measurement, 0.3, options).allSix, 1);
    assert.equal(passProbability(measurement, 3, options).allSix, 0);
    assert.deepEqual(passProbability(measurement, 1, options), today, 'the same seed, the same figures');
    const table = powerTable([today]);
    assert.match(table, /^\| default’s epochs × \| all six goals \| defect-cnn: ≤ 0\.5× random \/ ≤ 1× Optuna SHA \|/);
    assert.match(table.split('\n')[2] ?? '', /^\| 1 \| \d+% \| \d+% \/ \d+% \|/);
  });
});
