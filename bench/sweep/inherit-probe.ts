/**
 * Probe of checkpoint inheritance (./inherit.ts): does a child started from a good point do better at its next epoch
 * than the point's own trial does? A sweep-level run mixes that question with slot accounting and TPE; this asks it
 * alone, on real training, and separates the two things a child changes: the optimizer's state (fresh or carried,
 * `inheritOptimizer`) and the hyperparameters (the same, or PBT's perturbation).
 *
 *   node --import tsx bench/sweep/inherit-probe.ts [--objective defect-cnn] [--points 30] [--candidates 8]
 *                                                  [--first-seed 9201]
 *
 * For each probe seed s (first-seed…first-seed+points-1, seeds no sweep run uses): `candidates` configurations drawn
 * from the objective's prior train under seed s with a checkpoint per epoch; the point is the best value any of them
 * reported before the last epoch (the earliest on a tie), as the prototype's `bestPoint` picks it. From that point,
 * four runs train one more epoch: the same hyperparameters with a fresh optimizer, the same with the optimizer
 * carried (which must reproduce the trial's own next epoch exactly: a check of the mechanism), and a perturbed child
 * (factor 1.25) with each. It prints one line per seed, then the median change from the point and how often each
 * beats the trial's own next epoch.
 */
import type { BenchObjective } from './objectives';
import { BENCH_OBJECTIVES } from './objectives';
import { perturb } from './inherit';
import { BENCH_TRAIN_ENGINE } from './train-engine';
import { RandomSource, seedRandomState } from '../../src/core/sweep/random-source';
import { parseSearchSpace, sampleFromPrior, type ParameterValues } from '../../src/core/sweep/space';
import { checkpointDirectory } from '../../src/ml/train/checkpoint';
import { trainModel } from '../../src/ml/train/fine-tune';
import type { TrainingRequest } from '../../src/ml/train/types';
import { createMemoryObjectStore } from '../../src/storage/memory-store';

interface ProbeArgs {
  readonly objective: BenchObjective;
  readonly points: number;
  readonly candidates: number;
  readonly firstSeed: number;
}

function parseArgs(argv: readonly string[]): ProbeArgs {
  const value = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const parsed = Number(raw);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max)
      throw new RangeError(`${name} takes an integer in ${min}…${max}, not ${raw}`);
    return parsed;
  };
  const id = value('--objective') ?? 'defect-cnn';
  const objective = BENCH_OBJECTIVES.find((each) => each.id === id);
  if (!objective)
    throw new RangeError(`--objective ${id} is unknown; one of ${BENCH_OBJECTIVES.map((each) => each.id).join(', ')}`);
  return {
    objective,
    points: integer('--points', 30, 1, 1000),
    candidates: integer('--candidates', 8, 1, 100),
    firstSeed: integer('--first-seed', 9201, 0, 2 ** 31 - 1),
  };
}

const accuracyAt = (epochs: readonly { readonly validationAccuracy?: number }[], epoch: number): number =>
  epochs[epoch - 1]?.validationAccuracy ?? 0;

async function main(argv: readonly string[]): Promise<void> {
  const { objective, points, candidates, firstSeed } = parseArgs(argv);
  const store = createMemoryObjectStore({ buckets: ['bench'] });
  const prepared = await objective.prepare(store, 'probe');
  const space = parseSearchSpace(objective.space);
  const last = objective.epochsPerTrial;
  const request = (params: ParameterValues, seed: number, name: string): TrainingRequest => ({
    ...objective.request(prepared, params, seed, `s3://bench/probe/out/${name}`),
    engine: BENCH_TRAIN_ENGINE,
  });
  const rows: { point: number; own: number; runs: number[] }[] = [];
  let exact = 0;
  console.log(
    `inheritance probe: ${objective.id}, seeds ${firstSeed}…${firstSeed + points - 1}, best point of ${candidates} prior draws each`,
  );
  for (let seed = firstSeed; seed < firstSeed + points; seed++) {
    const random = new RandomSource(seedRandomState(seed));
    let best: { params: ParameterValues; prefix: string; epoch: number; value: number; curve: number[] } | undefined;
    for (let i = 0; i < candidates; i++) {
      const params = sampleFromPrior(space, random);
      const prefix = `s3://bench/probe/${seed}/${i}`;
      const trained = await trainModel(store, {
        ...request(params, seed, 'candidate'),
        checkpoint: { uri: prefix, everyEpochs: 1 },
      });
      const curve = trained.epochs.map((epoch) => epoch.validationAccuracy ?? 0);
      for (let epoch = 1; epoch < last; epoch++)
        if (best === undefined || (curve[epoch - 1] as number) > best.value)
          best = { params, prefix, epoch, value: curve[epoch - 1] as number, curve };
    }
    if (!best) continue;
    const from = checkpointDirectory(best.prefix, best.epoch);
    const child = perturb(best.params, space, 1.25, random);
    const next = async (params: ParameterValues, inheritOptimizer: boolean, name: string) =>
      accuracyAt(
        (await trainModel(store, { ...request(params, seed, name), inheritFrom: from, inheritOptimizer })).epochs,
        best.epoch + 1,
      );
    const own = best.curve[best.epoch] as number;
    const runs = [
      await next(best.params, false, 'same-fresh'),
      await next(best.params, true, 'same-carried'),
      await next(child, false, 'child-fresh'),
      await next(child, true, 'child-carried'),
    ];
    if (runs[1] === own) exact++;
    rows.push({ point: best.value, own, runs });
    console.log(
      `  seed ${seed}: point ${best.value.toFixed(4)} at epoch ${best.epoch}; next epoch: own ${own.toFixed(4)}, ` +
        `same+fresh ${runs[0]?.toFixed(4)}, same+carried ${runs[1]?.toFixed(4)}, child+fresh ${runs[2]?.toFixed(4)}, ` +
        `child+carried ${runs[3]?.toFixed(4)}`,
    );
  }
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  };
  const labels = ['same+fresh', 'same+carried', 'child+fresh', 'child+carried'];
  console.log(
    `median change from the point at the next epoch: own ${median(rows.map((row) => row.own - row.point)).toFixed(4)}, ` +
      labels
        .map((label, i) => `${label} ${median(rows.map((row) => (row.runs[i] as number) - row.point)).toFixed(4)}`)
        .join(', '),
  );
  console.log(
    `beats the trial's own next epoch (of ${rows.length}): ` +
      labels
        .map((label, i) => `${label} ${rows.filter((row) => (row.runs[i] as number) > row.own).length}`)
        .join(', ') +
      `; same+carried equals it on ${exact}`,
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof RangeError ? `inherit-probe: ${error.message}` : error);
  process.exitCode = error instanceof RangeError ? 2 : 1;
});
