/**
 * k-fold and repeated k-fold cross-validation: fold assignment and the interval of the mean score.
 *
 * Folds are stratified (each class spread over the folds as evenly as its count allows) and seeded,
 * so a retry, or a rerun with the same seed, trains on exactly the same examples. The interval of
 * the mean uses Nadeau and Bengio's corrected resampled t statistic: fold scores share most of
 * their training data, so the plain t interval (variance / n) is too narrow; the correction adds
 * `testShare / trainShare` (1 / (k − 1) for k folds) to 1 / n. Pure and deterministic.
 */
import { mulberry32, shuffleInPlace } from '../random';

/** Fold index (0..folds−1) of every example, stratified by label and shuffled by `seed`. */
export function stratifiedFolds(labels: ArrayLike<number>, folds: number, seed: number): Int32Array {
  if (!Number.isInteger(folds) || folds < 2) throw new RangeError(`folds must be a whole number ≥ 2, got ${folds}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i += 1) {
    const label = labels[i] ?? 0;
    const members = byClass.get(label) ?? [];
    members.push(i);
    byClass.set(label, members);
  }
  const random = mulberry32(seed);
  const assignment = new Int32Array(labels.length);
  // Each class continues the round robin where the previous one stopped, so fold sizes differ by at most one.
  let next = 0;
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    for (const index of shuffleInPlace(byClass.get(label) ?? [], random)) {
      assignment[index] = next;
      next = (next + 1) % folds;
    }
  }
  return assignment;
}

/** Indices of the held-out fold and of the rest, each ascending. */
export function foldIndices(assignment: Int32Array, fold: number): { train: number[]; test: number[] } {
  const train: number[] = [];
  const test: number[] = [];
  assignment.forEach((value, index) => (value === fold ? test : train).push(index));
  return { train, test };
}

/** Classes with fewer examples than folds: some folds will test without them. */
export function classesShorterThanFolds(
  labels: ArrayLike<number>,
  classes: readonly string[],
  folds: number,
): { name: string; count: number }[] {
  const counts = new Array<number>(classes.length).fill(0);
  for (let i = 0; i < labels.length; i += 1) counts[labels[i] ?? 0] = (counts[labels[i] ?? 0] ?? 0) + 1;
  return classes.map((name, i) => ({ name, count: counts[i] ?? 0 })).filter((entry) => entry.count < folds);
}

// ---- Student's t distribution, for the interval's quantile ----

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9): about 15 significant digits for x > 0.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const shifted = x - 1;
  let sum = c[0] ?? 0;
  for (let i = 1; i < 9; i += 1) sum += (c[i] ?? 0) / (shifted + i);
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Continued fraction of the regularized incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let result = d;
  for (let m = 1; m <= 300; m += 1) {
    const m2 = 2 * m;
    let term = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + term * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + term / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    result *= d * c;
    term = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + term * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + term / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    result *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return result;
}

/** The regularized incomplete beta function I_x(a, b). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The continued fraction converges fast only below the mean; use the symmetry above it.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The `p` quantile of Student's t with `df` degrees of freedom (bisection on the CDF). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be positive, got ${df}`);
  let low = -1e4;
  let high = 1e4;
  for (let i = 0; i < 200 && high - low > 1e-12; i += 1) {
    const middle = (low + high) / 2;
    if (studentTCdf(middle, df) < p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

export interface CrossValidatedEstimate {
  readonly mean: number;
  /** Sample standard deviation of the fold scores. */
  readonly std: number;
  /** Corrected resampled t interval of the mean (Nadeau and Bengio); equal to the mean for one score. */
  readonly low: number;
  readonly high: number;
  readonly confidence: number;
  readonly scores: number;
}

/**
 * Mean and interval of `scores`, each measured on one held-out fold of a `folds`-fold split (any
 * number of repeats). `testShare / trainShare` is 1 / (folds − 1).
 */
export function crossValidatedEstimate(
  scores: readonly number[],
  folds: number,
  confidence: number,
): CrossValidatedEstimate {
  const n = scores.length;
  if (n === 0) throw new RangeError('no fold scores to summarise');
  const mean = scores.reduce((sum, value) => sum + value, 0) / n;
  const variance = n > 1 ? scores.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (n - 1) : 0;
  const std = Math.sqrt(variance);
  if (n === 1) return { mean, std, low: mean, high: mean, confidence, scores: n };
  const half = studentTQuantile(1 - (1 - confidence) / 2, n - 1) * Math.sqrt((1 / n + 1 / (folds - 1)) * variance);
  return { mean, std, low: mean - half, high: mean + half, confidence, scores: n };
}
