/**
 * Class probabilities of a model over an in-memory set, in batches (inference mode).
 *
 * Scoring runs in the worker's own process (evaluate), where the stage's heartbeat loop shares the event loop: a
 * TensorFlow call does not return until its batch is done, and on a loaded machine TensorFlow's thread pool makes
 * that slow (480 small 28×28 images took 8.8 s in one call beside 8 busy processes). Scoring a whole split in one go
 * held the event loop past a 30 s heartbeat timeout, and `npm run demo` failed its pretraining's evaluate four times
 * on a machine at load 15 (session 23). So the batches are small and the event loop runs between them.
 */
import type { Tf } from '../backend';
import { concatFloat32, featureLength, type LabelledSet } from '../generators/image-set';
import type { LayersModel } from '../models/architectures';

/** Examples per TensorFlow call: small enough that one call is short under load, large enough to batch. */
export const PREDICT_BATCH = 64;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function predictProbabilities(
  tf: Tf,
  model: LayersModel,
  set: LabelledSet,
  batchSize = PREDICT_BATCH,
): Promise<Float32Array> {
  const length = featureLength(set.featureShape);
  const count = set.labels.length;
  const outputs: Float32Array[] = [];
  for (let start = 0; start < count; start += batchSize) {
    // Timers (the heartbeat loop), I/O and cancellation run between batches.
    if (start > 0) await turn();
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
