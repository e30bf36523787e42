/**
 * Predictions as files: CSV (`input,predicted,confidence,p_<class>…`) or JSONL (one object per
 * line with `probabilities` keyed by class). Written line by line, so output streams as input does.
 */
import { csvCell } from '../generators/writers';
import type { Prediction } from './predictor';

export type PredictionFormat = 'csv' | 'jsonl';

export function predictionHeader(format: PredictionFormat, classes: readonly string[]): string | undefined {
  if (format === 'jsonl') return undefined;
  return ['input', 'predicted', 'confidence', ...classes.map((name) => `p_${name}`)].map(csvCell).join(',');
}

export function predictionLine(format: PredictionFormat, classes: readonly string[], prediction: Prediction): string {
  if (format === 'jsonl') return JSON.stringify(prediction);
  return [
    prediction.input,
    prediction.predicted,
    prediction.confidence,
    ...classes.map((name) => prediction.probabilities[name] ?? 0),
  ]
    .map(csvCell)
    .join(',');
}
