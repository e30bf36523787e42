/**
 * Attack class: "the champion could not be read, so the challenger passed the gate". On the real
 * MinIO: an evaluate stage whose gate has `beatBaseline: true` against a registry baseline that is
 * corrupt (bytes overwritten, the recorded sha256 kept) or denied (an STS session whose policy
 * denies reads of the model's registry directory) fails, non-retryably, naming the baseline and the
 * reason. A readable baseline is compared, and a missing alias is still "no baseline yet".
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AssumeRoleProvider } from 'minio/dist/main/AssumeRoleProvider.js';
import { createEvaluateStage } from '../../activities/evaluate';
import type { FineflowConfig } from '../../src/config';
import { loadTf } from '../../src/ml/backend';
import { buildModel } from '../../src/ml/models/architectures';
import { saveModel } from '../../src/ml/models/load-model';
import { registerModel } from '../../src/ml/models/registry';
import { createMinioObjectStore } from '../../src/storage/minio-store';
import type { ObjectStore } from '../../src/storage/object-store';
import { preparedBars, SIZE } from '../unit/activities/fixtures';
import { runStage, stageContext, stageFailure } from '../unit/activities/helpers';
import { rawMinioClient, requireStack } from '../helpers/stack';

void describe('a gate whose baseline cannot be read fails the stage (real MinIO)', () => {
  let config: FineflowConfig;
  let store: ObjectStore;
  let dataset: string;
  let candidate: string;
  // The stage tests' fixtures write to the `fineflow` bucket; names are unique per run of this file.
  const tag = randomBytes(3).toString('hex');
  const readable = `sec-ok-${tag}`;
  const corrupt = `sec-corrupt-${tag}`;
  const denied = `sec-denied-${tag}`;

  async function registerChampion(name: string): Promise<void> {
    await registerModel(store, { bucket: 'fineflow', name, modelUri: candidate, aliases: ['champion'] });
  }

  function evaluate(target: ObjectStore, name: string, runId: string): ReturnType<typeof runStage> {
    return runStage(
      'evaluate',
      createEvaluateStage({ tfBackend: 'cpu' }),
      target,
      stageContext('evaluate', { runId }),
      {
        model: candidate,
        data: dataset,
        baseline: `registry://${name}@champion`,
        gate: { metric: 'accuracy', min: 0, beatBaseline: true },
      },
    );
  }

  before(async () => {
    config = await requireStack();
    store = createMinioObjectStore(config.s3);
    await store.ensureBucket('fineflow');
    await store.ensureBucket('datasets');
    dataset = await preparedBars(store, `s3://fineflow/runs/sec-${tag}/prepare/dataset`);
    const { tf } = loadTf({ preference: 'cpu' });
    const model = buildModel(
      tf,
      { kind: 'cnn', inputShape: [SIZE, SIZE, 1], filters: [4], featureUnits: 8 },
      { numClasses: 3, seed: 5 },
    );
    candidate = `s3://fineflow/runs/sec-${tag}/finetune/model/model.json`;
    await saveModel(tf, store, model, candidate.replace(/\/model\.json$/, ''));
    model.dispose();
  });
  after(async () => {
    if (!store) return;
    await store.removePrefix(`s3://fineflow/runs/sec-${tag}/`);
    for (const name of [readable, corrupt, denied]) await store.removePrefix(`s3://fineflow/models/${name}/`);
  });

  void it('compares with a readable champion, and treats a missing alias as "no baseline yet"', async () => {
    await registerChampion(readable);
    const { result } = await evaluate(store, readable, `sec-${tag}-ok`);
    assert.equal((result.outputs.comparison as { baseline: { found: boolean } }).baseline.found, true);
    const first = await evaluate(store, `sec-none-${tag}`, `sec-${tag}-none`);
    assert.equal((first.result.outputs.comparison as { baseline: { found: boolean } }).baseline.found, false);
  });

  void it('fails with FineflowCorrupt when the champion weights were overwritten under their recorded sha256', async () => {
    await registerChampion(corrupt);
    const weights = `models/${corrupt}/1/weights.bin`;
    const info = await store.stat(`s3://fineflow/${weights}`);
    assert.ok(info?.sha256);
    // Same size and the recorded sha256 kept: only the verification on read can notice.
    await rawMinioClient(config).putObject('fineflow', weights, randomBytes(info.size), info.size, {
      sha256: info.sha256,
    });
    const failure = await stageFailure(evaluate(store, corrupt, `sec-${tag}-corrupt`));
    assert.equal(failure.type, 'FineflowCorrupt', failure.message);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, new RegExp(`baseline .*registry://${corrupt}@champion.*could not be read.*corrupt`));
  });

  void it('fails with FineflowAccessDenied when the worker may not read the champion', async () => {
    await registerChampion(denied);
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] },
        { Effect: 'Deny', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::fineflow/models/${denied}/*`] },
      ],
    });
    const endpoint = `${config.s3.useSSL ? 'https' : 'http'}://${config.s3.endPoint}:${config.s3.port}`;
    const session = await new AssumeRoleProvider({
      stsEndpoint: endpoint,
      accessKey: config.s3.accessKey,
      secretKey: config.s3.secretKey,
      policy,
      durationSeconds: 900,
    }).getCredentials();
    const narrowed = createMinioObjectStore(
      { ...config.s3, accessKey: session.getAccessKey(), secretKey: session.getSecretKey() },
      { sessionToken: session.getSessionToken() },
    );
    const failure = await stageFailure(evaluate(narrowed, denied, `sec-${tag}-denied`));
    assert.equal(failure.type, 'FineflowAccessDenied', failure.message);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /access denied/);
  });
});
