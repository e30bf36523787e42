/**
 * Classification metrics from predicted class probabilities: pure functions over plain arrays,
 * so they are tested without tfjs and reused by evaluate, select-model and the benchmark.
 */

export interface ClassMetrics {
  readonly name: string;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Examples of this class in the evaluated set. */
  readonly support: number;
  /** One-vs-rest ROC-AUC; undefined when the class is absent or is every example. */
  readonly rocAuc?: number;
}

export interface ClassificationMetrics {
  readonly count: number;
  readonly accuracy: number;
  readonly precisionMacro: number;
  readonly recallMacro: number;
  readonly f1Macro: number;
  /** Mean one-vs-rest ROC-AUC over classes where it is defined. */
  readonly rocAucMacro?: number;
  /** Expected calibration error (15 equal-width confidence bins). */
  readonly expectedCalibrationError: number;
  readonly logLoss: number;
  readonly perClass: readonly ClassMetrics[];
  /** confusionMatrix[actual][predicted]. */
  readonly confusionMatrix: readonly (readonly number[])[];
  readonly classes: readonly string[];
}

/** Rank-based AUC (Mann-Whitney U), ties counted as half. */
export function rocAuc(scores: readonly number[], positives: readonly boolean[]): number | undefined {
  const order = scores
    .map((score, index) => ({ score, positive: positives[index] === true }))
    .sort((a, b) => a.score - b.score);
  const positiveCount = order.filter((entry) => entry.positive).length;
  const negativeCount = order.length - positiveCount;
  if (positiveCount === 0 || negativeCount === 0) return undefined;
  let rankSum = 0;
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]?.score === order[i]?.score) j += 1;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k += 1) if (order[k]?.positive) rankSum += averageRank;
    i = j + 1;
  }
  return (rankSum - (positiveCount * (positiveCount + 1)) / 2) / (positiveCount * negativeCount);
}

export function expectedCalibrationError(
  confidences: readonly number[],
  correct: readonly boolean[],
  bins = 15,
): number {
  const binCount = new Array<number>(bins).fill(0);
  const binConfidence = new Array<number>(bins).fill(0);
  const binCorrect = new Array<number>(bins).fill(0);
  confidences.forEach((confidence, index) => {
    const bin = Math.min(bins - 1, Math.floor(confidence * bins));
    binCount[bin] = (binCount[bin] ?? 0) + 1;
    binConfidence[bin] = (binConfidence[bin] ?? 0) + confidence;
    binCorrect[bin] = (binCorrect[bin] ?? 0) + (correct[index] ? 1 : 0);
  });
  const total = confidences.length || 1;
  let error = 0;
  for (let bin = 0; bin < bins; bin += 1) {
    const count = binCount[bin] ?? 0;
    if (count === 0) continue;
    error += (count / total) * Math.abs((binCorrect[bin] ?? 0) / count - (binConfidence[bin] ?? 0) / count);
  }
  return error;
}

/**
 * Metrics of `probabilities` (row-major, `labels.length × classes.length`) against `labels`.
 */
export function classificationMetrics(
  probabilities: Float32Array | readonly number[],
  labels: ArrayLike<number>,
  classes: readonly string[],
): ClassificationMetrics {
  const k = classes.length;
  const n = labels.length;
  const confusion = classes.map(() => new Array<number>(k).fill(0));
  const confidences: number[] = [];
  const correct: boolean[] = [];
  let logLoss = 0;
  for (let i = 0; i < n; i += 1) {
    let best = 0;
    for (let c = 1; c < k; c += 1) if ((probabilities[i * k + c] ?? 0) > (probabilities[i * k + best] ?? 0)) best = c;
    const actual = labels[i] ?? 0;
    (confusion[actual] as number[])[best] = ((confusion[actual] as number[])[best] ?? 0) + 1;
    confidences.push(probabilities[i * k + best] ?? 0);
    correct.push(best === actual);
    logLoss -= Math.log(Math.max(1e-7, probabilities[i * k + actual] ?? 0));
  }
  const perClass: ClassMetrics[] = classes.map((name, c) => {
    const truePositives = confusion[c]?.[c] ?? 0;
    const support = (confusion[c] ?? []).reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((sum, row) => sum + (row[c] ?? 0), 0);
    const precision = predicted > 0 ? truePositives / predicted : 0;
    const recall = support > 0 ? truePositives / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    const scores = Array.from({ length: n }, (_, i) => probabilities[i * k + c] ?? 0);
    const auc = rocAuc(
      scores,
      Array.from({ length: n }, (_, i) => labels[i] === c),
    );
    return { name, precision, recall, f1, support, ...(auc !== undefined ? { rocAuc: auc } : {}) };
  });
  const mean = (values: readonly number[]): number =>
    values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
  const aucs = perClass.flatMap((entry) => (entry.rocAuc !== undefined ? [entry.rocAuc] : []));
  return {
    count: n,
    accuracy: n > 0 ? correct.filter(Boolean).length / n : 0,
    precisionMacro: mean(perClass.map((entry) => entry.precision)),
    recallMacro: mean(perClass.map((entry) => entry.recall)),
    f1Macro: mean(perClass.map((entry) => entry.f1)),
    ...(aucs.length > 0 ? { rocAucMacro: mean(aucs) } : {}),
    expectedCalibrationError: expectedCalibrationError(confidences, correct),
    logLoss: n > 0 ? logLoss / n : 0,
    perClass,
    confusionMatrix: confusion,
    classes,
  };
}

/** Metrics per value of a slicing attribute (e.g. per label, per production line), for bias checks. */
export function sliceMetrics(
  probabilities: Float32Array | readonly number[],
  labels: ArrayLike<number>,
  classes: readonly string[],
  sliceOf: (index: number) => string,
): Readonly<Record<string, ClassificationMetrics>> {
  const k = classes.length;
  const members = new Map<string, number[]>();
  for (let i = 0; i < labels.length; i += 1) {
    const slice = sliceOf(i);
    const list = members.get(slice) ?? [];
    list.push(i);
    members.set(slice, list);
  }
  const result: Record<string, ClassificationMetrics> = {};
  for (const [slice, indices] of [...members.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const sliceProbabilities = new Float32Array(indices.length * k);
    const sliceLabels = new Int32Array(indices.length);
    indices.forEach((source, target) => {
      for (let c = 0; c < k; c += 1) sliceProbabilities[target * k + c] = probabilities[source * k + c] ?? 0;
      sliceLabels[target] = labels[source] ?? 0;
    });
    result[slice] = classificationMetrics(sliceProbabilities, sliceLabels, classes);
  }
  return result;
}

/** Headline numbers of a metrics object by name, as gates and comparisons address them. */
export function metricValue(metrics: ClassificationMetrics, name: string): number | undefined {
  switch (name) {
    case 'accuracy':
      return metrics.accuracy;
    case 'f1':
    case 'f1Macro':
      return metrics.f1Macro;
    case 'precision':
    case 'precisionMacro':
      return metrics.precisionMacro;
    case 'recall':
    case 'recallMacro':
      return metrics.recallMacro;
    case 'rocAuc':
    case 'rocAucMacro':
      return metrics.rocAucMacro;
    case 'ece':
    case 'expectedCalibrationError':
      return metrics.expectedCalibrationError;
    case 'logLoss':
      return metrics.logLoss;
    default:
      return undefined;
  }
}

/** Whether a larger value of the metric is better. */
export function higherIsBetter(name: string): boolean {
  return !['ece', 'expectedCalibrationError', 'logLoss'].includes(name);
}

export interface MetricComparison {
  readonly metric: string;
  readonly candidate: number;
  readonly baseline: number;
  /** candidate − baseline. */
  readonly delta: number;
  readonly better: boolean;
}

export function compareMetrics(
  candidate: ClassificationMetrics,
  baseline: ClassificationMetrics,
  names: readonly string[] = ['accuracy', 'f1Macro', 'rocAucMacro', 'expectedCalibrationError'],
): MetricComparison[] {
  const comparisons: MetricComparison[] = [];
  for (const name of names) {
    const a = metricValue(candidate, name);
    const b = metricValue(baseline, name);
    if (a === undefined || b === undefined) continue;
    comparisons.push({
      metric: name,
      candidate: a,
      baseline: b,
      delta: a - b,
      better: higherIsBetter(name) ? a > b : a < b,
    });
  }
  return comparisons;
}

export interface GateSpec {
  /** Metric the gate checks, e.g. `accuracy`. */
  readonly metric: string;
  /** The candidate's metric must be at least this (at most, for lower-is-better metrics). */
  readonly min?: number;
  /** The candidate must beat every baseline on `metric` (ties fail). */
  readonly beatBaseline?: boolean;
  /** Margin by which it must beat the baseline; default 0. */
  readonly minImprovement?: number;
  /**
   * Baselines the candidate must beat by name (`baseline`, `from-scratch`, `majority`,
   * `logistic-regression`), with the same margin; a named baseline that was not evaluated fails the gate.
   */
  readonly beat?: readonly string[];
}

export interface GateResult {
  readonly passed: boolean;
  /** One line per check, passed or not, so the report says why. */
  readonly reasons: readonly string[];
}

/** The evaluate stage's `baseline:` input is recorded as `baseline`: "baseline baseline" said it twice. */
function baselineName(name: string): string {
  return name === 'baseline' ? 'the baseline' : `baseline ${name}`;
}

/** A tie fails a gate that asks to beat: say so, since equal figures read like a pass. */
function beatVerb(ok: boolean, value: number, baselineValue: number): string {
  if (ok) return 'beats';
  return value === baselineValue ? 'only ties (a gate needs it beaten)' : 'does not beat';
}

/**
 * `baselines` are what `beatBaseline` compares with (the model baselines); `named` is every
 * evaluated baseline by name, for `beat` (default: `baselines`).
 */
export function applyGate(
  gate: GateSpec,
  candidate: ClassificationMetrics,
  baselines: Readonly<Record<string, ClassificationMetrics>> = {},
  named: Readonly<Record<string, ClassificationMetrics>> = baselines,
): GateResult {
  const reasons: string[] = [];
  let passed = true;
  const value = metricValue(candidate, gate.metric);
  if (value === undefined)
    return {
      passed: false,
      reasons: [`metric ${gate.metric} is not computed; use accuracy, f1, precision, recall, rocAuc, ece or logLoss`],
    };
  const higher = higherIsBetter(gate.metric);
  if (gate.min !== undefined) {
    const ok = higher ? value >= gate.min : value <= gate.min;
    passed &&= ok;
    reasons.push(
      `${gate.metric} ${value.toFixed(4)} ${ok ? (higher ? '>=' : '<=') : higher ? '<' : '>'} ` +
        `${higher ? 'min' : 'max'} ${gate.min}`,
    );
  }
  if (gate.beatBaseline) {
    const names = Object.keys(baselines);
    if (names.length === 0) reasons.push('beatBaseline: no baseline to compare with (passes)');
    for (const name of names) {
      const baselineValue = metricValue(baselines[name] as ClassificationMetrics, gate.metric);
      if (baselineValue === undefined) continue;
      const margin = gate.minImprovement ?? 0;
      const ok = higher ? value > baselineValue + margin : value < baselineValue - margin;
      passed &&= ok;
      reasons.push(
        `${gate.metric} ${value.toFixed(4)} ${beatVerb(ok, value, baselineValue)} ${baselineName(name)} ` +
          `(${baselineValue.toFixed(4)}${margin ? ` + margin ${margin}` : ''})`,
      );
    }
  }
  for (const name of gate.beat ?? []) {
    const baseline = named[name];
    const baselineValue = baseline ? metricValue(baseline, gate.metric) : undefined;
    if (baselineValue === undefined) {
      passed = false;
      reasons.push(
        `beat: baseline ${name} was not evaluated (evaluated: ${Object.keys(named).join(', ') || 'none'}), so the ` +
          `gate cannot say it is beaten`,
      );
      continue;
    }
    const margin = gate.minImprovement ?? 0;
    const ok = higher ? value > baselineValue + margin : value < baselineValue - margin;
    passed &&= ok;
    reasons.push(
      `${gate.metric} ${value.toFixed(4)} ${beatVerb(ok, value, baselineValue)} ${name} ` +
        `(${baselineValue.toFixed(4)}${margin ? ` + margin ${margin}` : ''})`,
    );
  }
  return { passed, reasons };
}
