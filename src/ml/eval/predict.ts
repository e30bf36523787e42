/** Class probabilities of a model over an in-memory set, in batches (inference mode). */
import type { Tf } from '../backend';
import { concatFloat32, featureLength, type LabelledSet } from '../generators/image-set';
import type { LayersModel } from '../models/architectures';

export function predictProbabilities(tf: Tf, model: LayersModel, set: LabelledSet, batchSize = 256): Float32Array {
  const length = featureLength(set.featureShape);
  const count = set.labels.length;
  const outputs: Float32Array[] = [];
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    outputs.push(
      tf.tidy(() => {
        const input = tf.tensor(set.features.subarray(start * length, end * length), [
          end - start,
          ...set.featureShape,
        ]);
        return (model.predict(input) as ReturnType<Tf['tensor']>).dataSync() as Float32Array;
      }),
    );
  }
  return concatFloat32(outputs);
}
