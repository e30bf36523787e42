/**
 * Predictions as files: CSV (`input,predicted,confidence,p_<class>…`) or JSONL (one object per
 * line with `probabilities` keyed by class, and `unknownCategories` — column → the value the model never saw — on a
 * table row that had one). Written line by line, so output streams as input does.
 */
import { csvCell } from '../generators/writers';
import type { Prediction } from './predictor';

export type PredictionFormat = 'csv' | 'jsonl';

export function predictionHeader(format: PredictionFormat, classes: readonly string[]): string | undefined {
  if (format === 'jsonl') return undefined;
  return ['input', 'predicted', 'confidence', ...classes.map((name) => `p_${name}`)].map(csvCell).join(',');
}

export function predictionLine(
  format: PredictionFormat,
  classes: readonly string[],
  prediction: Prediction,
  unknownCategories?: Readonly<Record<string, string>>,
): string {
  if (format === 'jsonl') return JSON.stringify(unknownCategories ? { ...prediction, unknownCategories } : prediction);
  return [
    prediction.input,
    prediction.predicted,
    prediction.confidence,
    ...classes.map((name) => prediction.probabilities[name] ?? 0),
  ]
    .map(csvCell)
    .join(',');
}
