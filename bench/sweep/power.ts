/**
 * How likely a repeat of #20's final measurement is to meet all six of its goals, for today's default and for a rule
 * that would need a given fraction of the default's epochs: a planning figure for the next rule, not a result.
 *
 * The six goals (issue #20), per objective: the default's median epochs to the target ≤ 0.5× random search's with the
 * paired 95% interval's upper end below 1, and ≤ 1.0× Optuna TPE+SuccessiveHalving's. A simulated final draws 60 seeds
 * with replacement from the pre-registered final measurement's per-seed epochs (seeds 501…560,
 * `final-measurement.json`: the seeds' spread stands in for the spread of seeds not run), the same draw for every
 * method of an objective (paired, as the bench pairs them), multiplies the default's epochs by the multiplier (a
 * sweep that gave up stays at the give-up bound) and applies the goals, the interval from `ratioOfMedians`, the
 * bench's own statistic. Multiplying every seed's epochs is the simplest model of "a rule that needs x% fewer epochs";
 * a real rule moves seeds both ways (every refused rule did), so the figures are optimistic for a given median gain.
 *
 *   node --import tsx bench/sweep/power.ts [--finals N] [--multipliers 1,0.9,0.8] [--seed S]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mulberry32, type Random } from '../../src/ml/random';
import { ratioOfMedians, type SweepRun } from './sweep-stats';

/** Per-seed epochs of the methods #20's goals compare, for one objective, in seed order. */
export interface ObjectiveEpochs {
  readonly fineflow: readonly number[];
  readonly random: readonly number[];
  readonly optunaSha: readonly number[];
}

export interface FinalMeasurement {
  readonly giveUpEpochs: number;
  readonly objectives: Readonly<Record<string, ObjectiveEpochs>>;
}

/** The goals one simulated final met, per objective. */
export interface GoalsMet {
  readonly belowHalfOfRandom: boolean;
  readonly notAboveOptunaSha: boolean;
}

export interface PowerEstimate {
  readonly multiplier: number;
  readonly finals: number;
  /** Share of simulated finals that met all six goals. */
  readonly allSix: number;
  /** Per objective, the share of simulated finals meeting each goal. */
  readonly perObjective: Readonly<Record<string, { readonly vsRandom: number; readonly vsOptunaSha: number }>>;
}

const METHOD_KEYS = { fineflow: 'fineflow-tpe-asha', random: 'random', optunaSha: 'optuna-tpe-sha' } as const;

/** Reads `final-measurement.json`'s shape: epoch counts, a string ending in "!" for a sweep that gave up. */
export function parseFinalMeasurement(raw: unknown, where: string): FinalMeasurement {
  const fail = (what: string): never => {
    throw new TypeError(`${where}: ${what}; regenerate it from docs/sweep-benchmark.md's per-seed lines`);
  };
  if (typeof raw !== 'object' || raw === null) return fail('not a JSON object');
  const { giveUpEpochs, seeds, objectives } = raw as Record<string, unknown>;
  if (typeof giveUpEpochs !== 'number' || typeof seeds !== 'number')
    return fail('"giveUpEpochs" and "seeds" must be numbers');
  if (typeof objectives !== 'object' || objectives === null) return fail('"objectives" must be an object');
  const epochsOf = (objective: string, method: string, value: unknown): number[] => {
    if (!Array.isArray(value) || value.length !== seeds) return fail(`${objective}.${method}: needs ${seeds} entries`);
    return value.map((entry: unknown) => {
      const epochs = typeof entry === 'string' && entry.endsWith('!') ? Number(entry.slice(0, -1)) : entry;
      if (typeof epochs !== 'number' || !Number.isInteger(epochs) || epochs < 0 || epochs > giveUpEpochs)
        return fail(`${objective}.${method}: ${JSON.stringify(entry)} is not an epoch count`);
      return epochs;
    });
  };
  const parsed: Record<string, ObjectiveEpochs> = {};
  for (const [objective, methods] of Object.entries(objectives as Record<string, Record<string, unknown>>)) {
    parsed[objective] = {
      fineflow: epochsOf(objective, METHOD_KEYS.fineflow, methods[METHOD_KEYS.fineflow]),
      random: epochsOf(objective, METHOD_KEYS.random, methods[METHOD_KEYS.random]),
      optunaSha: epochsOf(objective, METHOD_KEYS.optunaSha, methods[METHOD_KEYS.optunaSha]),
    };
  }
  return { giveUpEpochs, objectives: parsed };
}

export function loadFinalMeasurement(file = path.join(__dirname, 'final-measurement.json')): FinalMeasurement {
  return parseFinalMeasurement(JSON.parse(readFileSync(file, 'utf8')) as unknown, file);
}

function runs(epochs: readonly number[], draw: readonly number[]): SweepRun[] {
  return draw.map((index, i) => ({ seed: i, epochs: epochs[index] as number, reached: true, trials: 0, anytime: [] }));
}

/** #20's two goals for one objective on the seeds `draw` picks, the default's epochs multiplied. */
export function goalsMet(
  epochs: ObjectiveEpochs,
  draw: readonly number[],
  multiplier: number,
  giveUpEpochs: number,
  resamples: number,
  seed: number,
): GoalsMet {
  const fineflow = runs(
    epochs.fineflow.map((value) => Math.min(giveUpEpochs, value * multiplier)),
    draw,
  );
  const random = runs(epochs.random, draw);
  // The interval is bootstrapped only when the ratio itself meets the goal: otherwise the goal is missed anyway.
  const halfOfRandom = ratioOfMedians(fineflow, random, { resamples: 0 }).ratio <= 0.5;
  const vsRandom = halfOfRandom ? ratioOfMedians(fineflow, random, { resamples, seed }) : undefined;
  const vsOptuna = ratioOfMedians(fineflow, runs(epochs.optunaSha, draw), { resamples: 0 });
  return {
    belowHalfOfRandom: halfOfRandom && (vsRandom?.interval?.high ?? Infinity) < 1,
    notAboveOptunaSha: vsOptuna.ratio <= 1,
  };
}

function drawSeeds(count: number, random: Random): number[] {
  return Array.from({ length: count }, () => Math.floor(random() * count));
}

/** The share of `finals` simulated finals that meet the goals, with the default's epochs × `multiplier`. */
export function passProbability(
  measurement: FinalMeasurement,
  multiplier: number,
  options: { readonly finals?: number; readonly resamples?: number; readonly seed?: number } = {},
): PowerEstimate {
  const finals = options.finals ?? 400;
  const random = mulberry32(options.seed ?? 20);
  const counts: Record<string, { vsRandom: number; vsOptunaSha: number }> = {};
  let allSix = 0;
  for (let final = 0; final < finals; final += 1) {
    let all = true;
    for (const [objective, epochs] of Object.entries(measurement.objectives)) {
      const met = goalsMet(
        epochs,
        drawSeeds(epochs.fineflow.length, random),
        multiplier,
        measurement.giveUpEpochs,
        options.resamples ?? 400,
        Math.floor(random() * 2 ** 31),
      );
      const count = (counts[objective] ??= { vsRandom: 0, vsOptunaSha: 0 });
      count.vsRandom += met.belowHalfOfRandom ? 1 : 0;
      count.vsOptunaSha += met.notAboveOptunaSha ? 1 : 0;
      all &&= met.belowHalfOfRandom && met.notAboveOptunaSha;
    }
    allSix += all ? 1 : 0;
  }
  const perObjective = Object.fromEntries(
    Object.entries(counts).map(([objective, count]) => [
      objective,
      { vsRandom: count.vsRandom / finals, vsOptunaSha: count.vsOptunaSha / finals },
    ]),
  );
  return { multiplier, finals, allSix: allSix / finals, perObjective };
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** One table row per multiplier: all six goals, then each objective's two. */
export function powerTable(estimates: readonly PowerEstimate[]): string {
  const objectives = Object.keys(estimates[0]?.perObjective ?? {});
  const header = [
    'default’s epochs ×',
    'all six goals',
    ...objectives.map((o) => `${o}: ≤ 0.5× random / ≤ 1× Optuna SHA`),
  ];
  const rows = estimates.map((estimate) => [
    String(estimate.multiplier),
    percent(estimate.allSix),
    ...objectives.map((o) => {
      const met = estimate.perObjective[o] as { vsRandom: number; vsOptunaSha: number };
      return `${percent(met.vsRandom)} / ${percent(met.vsOptunaSha)}`;
    }),
  ]);
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function option(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

function main(args: readonly string[]): void {
  const finals = Number(option(args, '--finals') ?? 400);
  const seed = Number(option(args, '--seed') ?? 20);
  const multipliers = (option(args, '--multipliers') ?? '1,0.9,0.8,0.7,0.6').split(',').map(Number);
  if (!Number.isInteger(finals) || finals < 1 || finals > 100_000 || !Number.isInteger(seed))
    throw new RangeError('power: --finals is a whole number from 1 to 100000, --seed a whole number');
  if (multipliers.some((m) => !Number.isFinite(m) || m <= 0 || m > 10))
    throw new RangeError('power: --multipliers are numbers above 0 and at most 10, comma-separated (e.g. 1,0.8)');
  const measurement = loadFinalMeasurement();
  console.log(
    `Simulated finals of 60 seeds drawn with replacement from seeds 501…560 (${finals} per row, seed ${seed}):`,
  );
  console.log(powerTable(multipliers.map((m) => passProbability(measurement, m, { finals, seed }))));
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
  }
}
