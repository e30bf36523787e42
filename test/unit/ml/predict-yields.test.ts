/**
 * Scoring lets the event loop run between its batches (src/ml/eval/predict.ts): evaluate scores in the worker's own
 * process, beside the stage's heartbeat loop, and one TensorFlow call over a whole split held the loop past a 30 s
 * heartbeat timeout on a loaded machine (the demo's pretraining evaluate failed four times at load 15).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTf } from '../../../src/ml/backend';
import { PREDICT_BATCH, predictProbabilities } from '../../../src/ml/eval/predict';
import { buildModel } from '../../../src/ml/models/architectures';

test('the event loop runs between scoring batches, and the probabilities are those of one call', async () => {
  const { tf } = loadTf({ preference: 'auto' });
  const model = buildModel(tf, { kind: 'mlp', inputShape: [3], hidden: [4] }, { numClasses: 2, seed: 7 });
  const count = PREDICT_BATCH * 4 + 5;
  const features = Float32Array.from({ length: count * 3 }, (_, i) => Math.sin(i));
  const set = { featureShape: [3], features, labels: new Int32Array(count), classes: ['a', 'b'] };
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns += 1;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const batched = await predictProbabilities(tf, model, set);
  ticking = false;
  // Five batches: the loop ran between each pair (the old code ran none until the whole split was scored).
  assert.ok(turns >= 4, `event-loop turns while scoring: ${turns}`);
  const whole = (model.predict(tf.tensor(features, [count, 3])) as ReturnType<typeof tf.tensor>).dataSync();
  assert.equal(batched.length, count * 2);
  batched.forEach((value, i) => assert.ok(Math.abs(value - (whole[i] as number)) < 1e-6, `probability ${i}`));
  model.dispose();
});
