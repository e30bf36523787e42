/**
 * Statistics of the sweep benchmark: median and interquartile range of epochs-to-target over
 * seeds, the ratio of two methods' medians with a paired percentile-bootstrap interval (the same
 * seed gives both methods the same training noise, so seeds are resampled together), and the area
 * under an anytime curve (best objective so far against epochs spent). Pure, seeded.
 */
import { bootstrapStatistics, quantileOfSorted, type Interval } from '../../src/ml/eval/bootstrap';

/** One sweep of one method on one seed. */
export interface SweepRun {
  readonly seed: number;
  /** Epochs trained by all trials until one reported the target, or all epochs spent when it never did. */
  readonly epochs: number;
  readonly reached: boolean;
  readonly trials: number;
  /** Best objective so far after each epoch where it improved: [epochs spent, best value]. */
  readonly anytime: readonly (readonly [number, number])[];
}

export interface Spread {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: quantileOfSorted(sorted, 0.5),
    q1: quantileOfSorted(sorted, 0.25),
    q3: quantileOfSorted(sorted, 0.75),
  };
}

export interface RatioEstimate {
  /** median(a) / median(b). */
  readonly ratio: number;
  /** Paired percentile bootstrap interval (95% unless asked otherwise); undefined without resamples. */
  readonly interval?: Interval;
}

/**
 * Ratio of medians of two methods run on the same seeds (`a[i]` and `b[i]` share seed i), with a
 * paired bootstrap interval: each resample draws seeds with replacement and takes both methods'
 * runs of those seeds. A run that never reached the target counts its epochs spent (a lower bound).
 */
export function ratioOfMedians(
  a: readonly SweepRun[],
  b: readonly SweepRun[],
  options: { readonly resamples?: number; readonly confidence?: number; readonly seed?: number } = {},
): RatioEstimate {
  if (a.length !== b.length || a.some((run, i) => run.seed !== b[i]?.seed))
    throw new RangeError('ratioOfMedians needs runs of the same seeds in the same order');
  const medianOf = (runs: readonly SweepRun[], indices?: Int32Array): number => {
    const values = indices ? Array.from(indices, (i) => (runs[i] as SweepRun).epochs) : runs.map((run) => run.epochs);
    return quantileOfSorted(
      values.sort((x, y) => x - y),
      0.5,
    );
  };
  const ratio = medianOf(a) / medianOf(b);
  const intervals = bootstrapStatistics(
    a.length,
    (indices) => ({ ratio: medianOf(a, indices) / medianOf(b, indices) }),
    {
      resamples: options.resamples ?? 10_000,
      confidence: options.confidence ?? 0.95,
      seed: options.seed ?? 20,
    },
  );
  return { ratio, ...(intervals.ratio ? { interval: intervals.ratio } : {}) };
}

/**
 * Mean of the best-so-far curve over epochs 1…horizon: 1 would be a perfect first epoch. Before the
 * first report the curve is `floor`; after a run ended (target reached or budget spent) it holds
 * its last value, so runs that stop at the target are not penalised for stopping.
 */
export function anytimeArea(anytime: SweepRun['anytime'], horizon: number, floor = 0): number {
  let area = 0;
  let current = floor;
  let previousEpoch = 0;
  for (const [epoch, value] of anytime) {
    if (epoch > horizon) break;
    area += current * (epoch - 1 - previousEpoch) + value;
    previousEpoch = epoch;
    current = value;
  }
  area += current * (horizon - previousEpoch);
  return area / horizon;
}

/** Best-so-far at `epoch` (or `floor` before the first report). */
export function bestAt(anytime: SweepRun['anytime'], epoch: number, floor = 0): number {
  let best = floor;
  for (const [at, value] of anytime) {
    if (at > epoch) break;
    best = value;
  }
  return best;
}
