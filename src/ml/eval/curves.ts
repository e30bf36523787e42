/**
 * The curves of an evaluation report, as plain points: the reliability diagram (confidence
 * against accuracy per bin), one-vs-rest ROC and precision-recall curves. Pure; the report draws
 * them. Curves are thinned to at most `maxPoints` points so a large test set keeps the report small.
 */

export interface ReliabilityBin {
  readonly low: number;
  readonly high: number;
  readonly count: number;
  /** Mean top-class probability of the examples in the bin. */
  readonly confidence: number;
  /** Share of them predicted correctly. */
  readonly accuracy: number;
}

export interface ClassCurve {
  readonly name: string;
  /** ROC: [false positive rate, true positive rate]; PR: [recall, precision]. */
  readonly points: readonly (readonly [number, number])[];
  /** ROC: area under the curve; PR: average precision. */
  readonly area: number;
}

function argmaxRow(probabilities: ArrayLike<number>, row: number, classes: number): number {
  let best = 0;
  for (let c = 1; c < classes; c += 1)
    if ((probabilities[row * classes + c] ?? 0) > (probabilities[row * classes + best] ?? 0)) best = c;
  return best;
}

/** Equal-width confidence bins (empty bins left out). */
export function reliabilityBins(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
  bins = 10,
): ReliabilityBin[] {
  const count = new Array<number>(bins).fill(0);
  const confidence = new Array<number>(bins).fill(0);
  const correct = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i += 1) {
    const predicted = argmaxRow(probabilities, i, classes);
    const p = probabilities[i * classes + predicted] ?? 0;
    const bin = Math.min(bins - 1, Math.floor(p * bins));
    count[bin] = (count[bin] ?? 0) + 1;
    confidence[bin] = (confidence[bin] ?? 0) + p;
    correct[bin] = (correct[bin] ?? 0) + (predicted === labels[i] ? 1 : 0);
  }
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b += 1) {
    const n = count[b] ?? 0;
    if (n === 0) continue;
    out.push({
      low: b / bins,
      high: (b + 1) / bins,
      count: n,
      confidence: (confidence[b] ?? 0) / n,
      accuracy: (correct[b] ?? 0) / n,
    });
  }
  return out;
}

/** Scores sorted descending, ties grouped: the thresholds both curves step through. */
function thresholdSteps(scores: readonly number[], positives: readonly boolean[]): { tp: number; fp: number }[] {
  const order = scores
    .map((score, i) => ({ score, positive: positives[i] === true }))
    .sort((a, b) => b.score - a.score);
  const steps: { tp: number; fp: number }[] = [];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length; i += 1) {
    if (order[i]?.positive) tp += 1;
    else fp += 1;
    if (i === order.length - 1 || order[i + 1]?.score !== order[i]?.score) steps.push({ tp, fp });
  }
  return steps;
}

/** Keeps the first, last and evenly spaced points in between. */
export function thinPoints<T>(points: readonly T[], maxPoints: number): T[] {
  if (points.length <= maxPoints) return [...points];
  const out: T[] = [];
  for (let i = 0; i < maxPoints; i += 1) out.push(points[Math.round((i * (points.length - 1)) / (maxPoints - 1))] as T);
  return out;
}

/** ROC curve of one-vs-rest scores; undefined when the class is absent or is every example. */
export function rocCurve(
  scores: readonly number[],
  positives: readonly boolean[],
  maxPoints = 200,
): { points: [number, number][]; area: number } | undefined {
  const positiveCount = positives.filter(Boolean).length;
  const negativeCount = positives.length - positiveCount;
  if (positiveCount === 0 || negativeCount === 0) return undefined;
  const points: [number, number][] = [[0, 0]];
  let area = 0;
  for (const { tp, fp } of thresholdSteps(scores, positives)) {
    const [x0, y0] = points[points.length - 1] as [number, number];
    const x = fp / negativeCount;
    const y = tp / positiveCount;
    area += ((x - x0) * (y + y0)) / 2;
    points.push([x, y]);
  }
  return { points: thinPoints(points, maxPoints), area };
}

/** Precision-recall curve and average precision (Σ (R_n − R_{n−1}) P_n, as scikit-learn defines it). */
export function precisionRecallCurve(
  scores: readonly number[],
  positives: readonly boolean[],
  maxPoints = 200,
): { points: [number, number][]; area: number } | undefined {
  const positiveCount = positives.filter(Boolean).length;
  if (positiveCount === 0) return undefined;
  const points: [number, number][] = [[0, 1]];
  let area = 0;
  let previousRecall = 0;
  for (const { tp, fp } of thresholdSteps(scores, positives)) {
    const recall = tp / positiveCount;
    const precision = tp / (tp + fp);
    area += (recall - previousRecall) * precision;
    previousRecall = recall;
    points.push([recall, precision]);
  }
  return { points: thinPoints(points, maxPoints), area };
}

/**
 * One-vs-rest curves per class. For two classes only the second (the "positive" class by
 * convention) is drawn: the other is its mirror image.
 */
export function classCurves(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: readonly string[],
  maxClasses = 20,
): { roc: ClassCurve[]; pr: ClassCurve[] } {
  const k = classes.length;
  const picked = k === 2 ? [1] : classes.slice(0, maxClasses).map((_, c) => c);
  const roc: ClassCurve[] = [];
  const pr: ClassCurve[] = [];
  for (const c of picked) {
    const scores = Array.from({ length: labels.length }, (_, i) => probabilities[i * k + c] ?? 0);
    const positives = Array.from({ length: labels.length }, (_, i) => labels[i] === c);
    const name = classes[c] ?? String(c);
    const r = rocCurve(scores, positives);
    if (r) roc.push({ name, points: r.points, area: r.area });
    const p = precisionRecallCurve(scores, positives);
    if (p) pr.push({ name, points: p.points, area: p.area });
  }
  return { roc, pr };
}
