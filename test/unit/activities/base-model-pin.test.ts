/**
 * The base model pin a fine-tune records under its stage's output prefix (activities/base-model-pin.ts): a later
 * attempt of the same run's stage that starts without the previous heartbeat (a new activity) trains on the recorded
 * version after the alias moved; a new run, or a retry that changed `model:`, pins afresh; a record that is not one
 * fails the stage naming the file and the field.
 * The real-stack version: test/integration/runtime/base-pin-new-activity.test.ts.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createFineTuneStage } from '../../../activities/fine-tune';
import { basePinUri, MAX_BASE_MODEL_PIN_BYTES, pinFromRecord, readBasePin } from '../../../activities/base-model-pin';
import { ConflictError, InvalidInputError } from '../../../src/core/errors';
import type { MemoryObjectStore } from '../../../src/storage/memory-store';
import { BUCKET, memoryStore, runStage, stageContext, stageFailure } from './helpers';
import { preparedBars, registeredBase } from './fixtures';

const URI = 's3://fineflow/runs/r/finetune/base-model-pin.json';
const record = (fields: Record<string, unknown>) =>
  JSON.stringify({ format: 'fineflow-base-model-pin/v1', model: 'registry://m@champion', ...fields });

test('pinFromRecord: the recorded version for the same model, nothing for another model', () => {
  assert.equal(pinFromRecord(record({ pinned: 'registry://m@3' }), 'registry://m@champion', URI), 'registry://m@3');
  assert.equal(pinFromRecord(record({ pinned: 'registry://m@3' }), 'registry://m@latest', URI), undefined);
});

test('pinFromRecord: a record that is not one is an invalid input naming the file and the field', () => {
  const cases: [string, string][] = [
    ['{', '(document)'],
    ['[1]', '(document)'],
    [JSON.stringify({ format: 'v0', model: 'registry://m@champion', pinned: 'registry://m@3' }), 'format'],
    [record({ model: 7 }), 'model'],
    [record({ pinned: 'registry://other@3' }), 'pinned'],
    [record({ pinned: 'registry://m@champion' }), 'pinned'],
    [record({ pinned: 'registry://m@0' }), 'pinned'],
    [record({ pinned: 's3://fineflow/elsewhere/model.json' }), 'pinned'],
    [record({ pinned: ['registry://m@3'] }), 'pinned'],
  ];
  for (const [text, field] of cases) {
    assert.throws(
      () => pinFromRecord(text, 'registry://m@champion', URI),
      (error: unknown) =>
        error instanceof InvalidInputError &&
        error.details.field === field &&
        error.message.startsWith(`${URI}: field ${field}:`) &&
        /fineflow rerun/.test(error.message),
      `${text} → ${field}`,
    );
  }
});

let store: MemoryObjectStore;
let dataset: string;

before(async () => {
  store = memoryStore();
  dataset = await preparedBars(store, `s3://${BUCKET}/runs/prep/prepare/dataset`);
});

/** Which base each training call was asked to train on; training itself is not needed here, so it stops. */
function recordingStage(calls: string[]) {
  return createFineTuneStage({
    runTraining: (request) => {
      calls.push(request.baseModelUri ?? '');
      return Promise.reject(new ConflictError('stopped by the test after planning', {}));
    },
  });
}

const inputs = (model: string) => ({ data: dataset, model, epochs: 2, batchSize: 8, freeze: 'none' });

test('a new activity of the same run and stage trains on the recorded version after the alias moved', async () => {
  const model = await registeredBase(store, 'pin-base'); // version 1 = latest
  const calls: string[] = [];
  const stage = recordingStage(calls);
  const first = stageContext('finetune', { runId: 'pin-1' });
  await stageFailure(runStage('fine-tune', stage, store, first, inputs(model)));
  assert.equal(await readBasePin(store, first.outputPrefix, model), 'registry://pin-base@1');

  await registeredBase(store, 'pin-base'); // latest = 2
  // No heartbeat details: a dependency-outage retry or `fineflow retry` starts a new activity.
  await stageFailure(runStage('fine-tune', stage, store, { ...first, attempt: 2 }, inputs(model)));
  // A new run pins afresh.
  await stageFailure(runStage('fine-tune', stage, store, stageContext('finetune', { runId: 'pin-2' }), inputs(model)));
  // A retry that changed `model:` pins the new model, and records it.
  const changed = 'registry://pin-base';
  await stageFailure(runStage('fine-tune', stage, store, { ...first, attempt: 3 }, inputs(changed)));
  assert.deepEqual(calls, [
    'registry://pin-base@1',
    'registry://pin-base@1',
    'registry://pin-base@2',
    'registry://pin-base@2',
  ]);
  assert.equal(await readBasePin(store, first.outputPrefix, changed), 'registry://pin-base@2');
});

test('a hostile or oversized pin record fails the stage before training, naming the file and the field', async () => {
  const model = await registeredBase(store, 'pin-hostile');
  const calls: string[] = [];
  const stage = recordingStage(calls);
  const context = stageContext('finetune', { runId: 'pin-hostile' });
  const uri = basePinUri(context.outputPrefix);
  const cases: [string, string][] = [
    [JSON.stringify({ format: 'fineflow-base-model-pin/v1', model, pinned: 'registry://tiny-base@1' }), 'pinned'],
    [' '.repeat(MAX_BASE_MODEL_PIN_BYTES + 1), '(document)'],
  ];
  for (const [text, field] of cases) {
    await store.putBytes(uri, text);
    const failure = await stageFailure(runStage('fine-tune', stage, store, context, inputs(model)));
    assert.equal(failure.type, 'FineflowInvalidInput', failure.message);
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.details.field, field, failure.message);
    assert.ok(failure.message.includes(uri), failure.message);
  }
  assert.deepEqual(calls, [], 'nothing trained on a base the record does not vouch for');
});
