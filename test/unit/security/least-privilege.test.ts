/**
 * Least privilege inside Fineflow (issue 12 item 8): a stage writes only under its run prefix,
 * only register-model writes the registry (and only there), only prepare-data and predict record dataset
 * versions, and a plan cannot name a worker's runtime activity as a stage type.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActivities, createStageActivities, stageTypeNames } from '../../../activities';
import { privilegedWriters, type StageImplementation } from '../../../activities/stage-runner';
import { STAGE_TYPE_NAME, validatePlan } from '../../../src/core/spec/validate-plan';
import { makePlan } from '../../fixtures/runtime/plans';
import { BUCKET, memoryStore, runStage, stageContext } from '../activities/helpers';

void describe('uses: only registered stage types', () => {
  const deps = { store: memoryStore(), bucket: BUCKET };

  void it('no runtime activity of a worker has a name a plan could use as a stage type', () => {
    const stageTypes = new Set(stageTypeNames({}));
    const runtime = Object.keys(createActivities(deps)).filter((name) => !stageTypes.has(name));
    assert.ok(runtime.length >= 4, `runtime activities: ${runtime.join(', ')}`);
    for (const name of runtime) assert.ok(!STAGE_TYPE_NAME.test(name), `${name} must not look like a stage type`);
    for (const name of stageTypes) assert.ok(STAGE_TYPE_NAME.test(name), `${name} is a stage type`);
  });

  void it('the plan check (run again by the workflow) refuses a runtime activity as `uses:`', () => {
    for (const uses of [
      'lookupStageCache',
      'sweepTrialSegment',
      'writeSweepResults',
      'Fine-Tune',
      'x'.repeat(3) + '/../y',
    ]) {
      const problems = validatePlan(makePlan('p', [{ id: 'a', uses }]));
      assert.deepEqual(
        problems.map((d) => [d.code, d.path]),
        [['plan-unknown-stage-type', 'stages.a.uses']],
        uses,
      );
    }
    assert.deepEqual(validatePlan(makePlan('p', [{ id: 'a', uses: 'test-echo' }])), []);
  });

  void it('a worker refuses a stage module whose type name shadows a runtime activity', () => {
    const noop: StageImplementation = () => Promise.resolve({ outputs: {} });
    assert.throws(
      () => createStageActivities({ ...deps, extraStages: { lookupStageCache: noop } }),
      /stage type names must be lower-case.*lookupStageCache/,
    );
  });
});

void describe('stage writes', () => {
  void it('only register-model gets a registry writer, only prepare-data and predict a dataset-version writer', () => {
    const store = memoryStore();
    assert.deepEqual(Object.keys(privilegedWriters('register-model', store, BUCKET)), ['registry']);
    assert.deepEqual(Object.keys(privilegedWriters('prepare-data', store, BUCKET)), ['datasetVersions']);
    assert.deepEqual(Object.keys(privilegedWriters('predict', store, BUCKET)), ['datasetVersions']);
    for (const other of ['fine-tune', 'evaluate', 'select-model', 'hyperparameter-sweep', 'test-echo'])
      assert.deepEqual(privilegedWriters(other, store, BUCKET), {});
  });

  void it('the registry writer writes only under models/, the dataset-version writer only under datasets/', async () => {
    const store = memoryStore();
    const { registry } = privilegedWriters('register-model', store, BUCKET);
    const { datasetVersions } = privilegedWriters('prepare-data', store, BUCKET);
    await registry?.putJson(`s3://${BUCKET}/models/m/1/card.json`, {});
    await assert.rejects(registry!.putJson(`s3://${BUCKET}/runs/other/x.json`, {}), /outside/);
    await assert.rejects(registry!.putJson(`s3://${BUCKET}/models/../runs/x.json`, {}), /outside|\.\./);
    await datasetVersions?.putJson(`s3://${BUCKET}/datasets/datasets/d/_versions/a.json`, {});
    await assert.rejects(datasetVersions!.putJson(`s3://${BUCKET}/models/m/1/card.json`, {}), /outside/);
  });

  void it("a stage cannot write the registry or another run's prefix, and has no registry writer", async () => {
    const store = memoryStore();
    const attempts: Record<string, string> = {};
    const intruder: StageImplementation = async (_input, runtime) => {
      for (const uri of [
        `s3://${BUCKET}/models/champion/1/model.json`,
        `s3://${BUCKET}/runs/other-run/x/out.json`,
        `s3://${BUCKET}/cache/k/entry.json`,
      ]) {
        attempts[uri] = await runtime.store.putJson(uri, { evil: true }).then(
          () => 'written',
          (error: Error) => error.message,
        );
      }
      return {
        outputs: {
          registry: runtime.registry === undefined ? 'none' : 'given',
          datasetVersions: runtime.datasetVersions === undefined ? 'none' : 'given',
        },
      };
    };
    const { result } = await runStage('intruder', intruder, store, stageContext('s'), {});
    assert.deepEqual(result.outputs, { registry: 'none', datasetVersions: 'none' });
    for (const [uri, outcome] of Object.entries(attempts)) {
      assert.match(outcome, /outside/, uri);
      assert.equal(await store.stat(uri), undefined, uri);
    }
    const own: StageImplementation = async (input, runtime) => {
      await runtime.store.putJson(`${input.context.outputPrefix}out.json`, { ok: true });
      return { outputs: {} };
    };
    await runStage('own', own, store, stageContext('s'), {});
    assert.ok(await store.stat(`s3://${BUCKET}/runs/unit-run-1/s/out.json`));
  });
});
