/**
 * Predictions made outside Fineflow's tfjs models (a scikit-learn baseline run by a `command`
 * stage, a vendor's API), scored by `evaluate` with the same metrics as its model so the
 * comparison is like for like. The file is untrusted input: its shape, size and its alignment
 * with the evaluated split (same classes, same labels in the same order) are checked first.
 *
 * ```json
 * {"format": "fineflow-predictions/v1", "split": "test", "classes": ["a", "b"],
 *  "labels": [0, 1, …], "probabilities": [[0.9, 0.1], [0.2, 0.8], …]}
 * ```
 */
import { InvalidInputError } from '../../core/errors';

export const PREDICTIONS_FORMAT = 'fineflow-predictions/v1';

export interface ExpectedSplit {
  readonly split: string;
  readonly classes: readonly string[];
  readonly labels: ArrayLike<number>;
}

function invalid(uri: string, problem: string): InvalidInputError {
  return new InvalidInputError(
    `${uri}: ${problem}; write {"format": "${PREDICTIONS_FORMAT}", "split", "classes", "labels", "probabilities"} ` +
      `for every example of the split, in the manifest's order`,
    { code: 'bad-predictions', uri },
  );
}

/** The probabilities of `value` as one row-major array, after checking it matches `expected`. */
export function externalProbabilities(value: unknown, uri: string, expected: ExpectedSplit): Float32Array {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(uri, 'not a JSON object');
  const file = value as Record<string, unknown>;
  if (file.format !== PREDICTIONS_FORMAT) throw invalid(uri, `format is ${JSON.stringify(file.format)}`);
  if (file.split !== expected.split)
    throw invalid(uri, `predictions are for split ${JSON.stringify(file.split)}, evaluate scores ${expected.split}`);
  const classes = file.classes;
  if (!Array.isArray(classes) || classes.join('\u0000') !== expected.classes.join('\u0000'))
    throw invalid(
      uri,
      `classes ${JSON.stringify(classes)} differ from the dataset's ${JSON.stringify(expected.classes)}`,
    );
  const labels = file.labels;
  const rows = file.probabilities;
  const n = expected.labels.length;
  if (!Array.isArray(labels) || !Array.isArray(rows) || labels.length !== n || rows.length !== n)
    throw invalid(uri, `it must hold ${n} labels and ${n} probability rows`);
  const k = classes.length;
  const probabilities = new Float32Array(n * k);
  for (let i = 0; i < n; i += 1) {
    if (labels[i] !== expected.labels[i])
      throw invalid(
        uri,
        `label ${i} is ${JSON.stringify(labels[i])}, the split has ${expected.labels[i]} (another order?)`,
      );
    const row: unknown = rows[i];
    if (!Array.isArray(row) || row.length !== k) throw invalid(uri, `probability row ${i} must have ${k} numbers`);
    for (let c = 0; c < k; c += 1) {
      const p: unknown = row[c];
      if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw invalid(uri, `probability [${i}][${c}] is not in 0…1`);
      probabilities[i * k + c] = p;
    }
  }
  return probabilities;
}
