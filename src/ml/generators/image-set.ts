/**
 * The in-memory form of a small labelled dataset: what generators produce and what the
 * training loop consumes when a split fits in memory. Pixels are in [0, 1], row-major HWC.
 */
export interface LabelledSet {
  /** Shape of one example, e.g. [28, 28, 1] for images or [6] for tabular rows. */
  readonly featureShape: readonly number[];
  /** Class names; `labels` index into it. */
  readonly classes: readonly string[];
  /** Flattened features: `count * product(featureShape)` values. */
  readonly features: Float32Array;
  readonly labels: Int32Array;
}

export function featureLength(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

export function countOf(set: LabelledSet): number {
  return set.labels.length;
}

/** The examples at `indices`, in that order. */
export function subsetOf(set: LabelledSet, indices: readonly number[]): LabelledSet {
  const length = featureLength(set.featureShape);
  const features = new Float32Array(indices.length * length);
  const labels = new Int32Array(indices.length);
  indices.forEach((source, target) => {
    features.set(set.features.subarray(source * length, (source + 1) * length), target * length);
    labels[target] = set.labels[source] ?? 0;
  });
  return { featureShape: set.featureShape, classes: set.classes, features, labels };
}

/** The chunks one after another in one array (batched model outputs, say). */
export function concatFloat32(chunks: readonly Float32Array[]): Float32Array {
  const joined = new Float32Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}

/** Concatenate sets with the same shape and classes. */
export function concatSets(sets: readonly LabelledSet[]): LabelledSet {
  const first = sets[0];
  if (!first) throw new Error('concatSets needs at least one set');
  const total = sets.reduce((sum, set) => sum + set.labels.length, 0);
  const length = featureLength(first.featureShape);
  const features = new Float32Array(total * length);
  const labels = new Int32Array(total);
  let offset = 0;
  for (const set of sets) {
    features.set(set.features, offset * length);
    labels.set(set.labels, offset);
    offset += set.labels.length;
  }
  return { featureShape: first.featureShape, classes: first.classes, features, labels };
}
