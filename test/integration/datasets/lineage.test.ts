/**
 * Issue 19's lineage bug, on the real Temporal dev server and MinIO: a second dataset version is
 * pushed while the run for the first one waits for a worker. Each run must train on exactly the
 * version it records (prepare-data's counts show which bytes it read), the model card must name
 * that version, and the id `data push` printed must be the one on the run and on the card. The UI's datasets API
 * (src/ui/datasets.ts) then lists both versions, each with the run whose prepare-data read it (the record
 * prepare-data writes beside the manifest) and its quality verdict, and compares B with A.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pushDirectory } from '../../../src/cli/commands/data';
import { listDatasetVersions } from '../../../src/datasets/version-store';
import { showModel } from '../../../src/ml/models/registry';
import { DataWatchClient, watcherIdFor } from '../../../src/schedules/data-watch-client';
import { runIdForDataVersion } from '../../../src/core/schedules/data-watch-state';
import type { PipelineRunResult, RunTrigger } from '../../../src/core/run/run-types';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { compilePlan } from '../../../src/spec/compile';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { waitFor } from '../schedules/harness';
import { startUiFor } from '../../e2e/helpers/ui-browser';
import type { DatasetsView, DatasetVersionView } from '../../../src/ui/web/dataset-types';

/** A separable two-class CSV with `rows` rows (the row count tells which version a run read). */
function csv(rows: number, offset: number): string {
  const lines = ['x,y,label'];
  for (let i = 0; i < rows; i += 1)
    lines.push(`${(i % 2) * 4 + offset + i / 100},${(i % 2) * -3 + i / 50},${i % 2 === 0 ? 'a' : 'b'}`);
  return `${lines.join('\n')}\n`;
}

void describe('dataset lineage (Temporal + MinIO)', () => {
  let h: RuntimeHarness;
  let dir: string;
  const suffix = randomSuffix();
  const name = `lineage-${suffix}`;
  const dataBucket = `fflineage-${suffix}`;
  const prefix = `s3://${dataBucket}/churn/`;

  before(async () => {
    // No worker for the stages' pool yet: the first run waits for one.
    h = await startRuntimeHarness({ cpuWorker: false });
    dir = await mkdtemp(join(tmpdir(), 'ff-lineage-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await h?.close();
  });

  void it(
    'a version pushed while the first run waits for a worker does not leak into it',
    { timeout: 240_000 },
    async (t) => {
      const yaml = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
params:
  dataset: ${prefix}
defaults: {pool: ${h.pools.cpu}, timeout: 2m, retry: {maxAttempts: 1}, onFailure: fail}
triggers:
  - newData: {path: "\${{ params.dataset }}", debounce: 1s, pollInterval: 1s, overlap: buffer-one}
stages:
  prepare:
    uses: prepare-data
    with: {source: "\${{ params.dataset }}", format: csv, labelColumn: label, split: {train: 0.6, validation: 0.2, test: 0.2, seed: 3}}
  finetune:
    uses: fine-tune
    with: {architecture: mlp, data: "\${{ stages.prepare.outputs.dataset }}", epochs: 1, batchSize: 16}
  register:
    uses: register-model
    with: {model: "\${{ stages.finetune.outputs.model }}", name: ${name}}
`;
      const compiled = compilePlan(yaml, 'lineage.yaml');
      assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
      const watchers = new DataWatchClient(h.client, {
        workflowTaskQueue: taskQueueForPool(h.pools.control),
        bucket: h.config.s3.bucket,
      });
      const watcherId = watcherIdFor(name, prefix);
      t.after(() =>
        watchers.stopAll(name).then(
          () => undefined,
          () => undefined,
        ),
      );
      await watchers.apply(compiled.plan);
      await waitFor(
        'the watcher to take its baseline',
        () => watchers.status(watcherId),
        (s) => s.lastObservation !== undefined,
        30_000,
      );

      await writeFile(join(dir, 'data.csv'), csv(40, 0));
      const pushedA = await pushDirectory(h.store, h.config.s3.bucket, dir, prefix, () => undefined);
      const runA = runIdForDataVersion(watcherId, pushedA.version);
      await waitFor(
        'the run for version A to start',
        () => watchers.status(watcherId),
        (s) => s.state.runningVersion === pushedA.version,
        30_000,
      );

      // Version B replaces the file while run A has not read anything yet (no worker).
      await writeFile(join(dir, 'data.csv'), csv(70, 1));
      const pushedB = await pushDirectory(h.store, h.config.s3.bucket, dir, prefix, () => undefined);
      assert.notEqual(pushedB.version, pushedA.version);
      await waitFor(
        'version B to be queued behind run A',
        () => watchers.status(watcherId),
        (s) => s.state.queuedVersion === pushedB.version,
        30_000,
      );

      await h.addWorker({ pool: h.pools.cpu, concurrency: 2 });
      const resultA = (await h.client.workflow.getHandle(runA).result()) as PipelineRunResult;
      const runB = runIdForDataVersion(watcherId, pushedB.version);
      const resultB = await waitFor(
        'the queued run for version B',
        async () =>
          h.client.workflow
            .getHandle(runB)
            .result()
            .then(
              (r) => r as PipelineRunResult,
              () => undefined,
            ),
        (r) => r !== undefined,
        120_000,
        1000,
      );
      assert.ok(resultB);

      for (const [result, pushed, rows, runId] of [
        [resultA, pushedA, 40, runA],
        [resultB, pushedB, 70, runB],
      ] as const) {
        assert.equal(
          result.status,
          'succeeded',
          `${runId}: ${JSON.stringify(result.stages.map((s) => [s.id, s.status, s.error?.message]))}`,
        );
        const trigger = (await h.runs.state(runId)).trigger as Extract<RunTrigger, { kind: 'new-data' }>;
        assert.equal(trigger.datasetVersion, pushed.version, 'the run records the version data push printed');
        const prepare = result.stages.find((s) => s.id === 'prepare');
        assert.equal(prepare?.outputs?.datasetVersion, pushed.version, 'prepare-data read that version');
        const total = (prepare?.outputs?.counts as { total: { train: number; validation: number; test: number } })
          .total;
        assert.equal(total.train + total.validation + total.test, rows, 'and exactly its bytes');
      }
      const cards = (await showModel(h.store, h.config.s3.bucket, name)).versions;
      assert.deepEqual(
        cards.map((card) => [card.lineage.runId, card.lineage.datasetVersion]),
        [
          [runA, pushedA.version],
          [runB, pushedB.version],
        ],
        'each model card names the version its run trained on',
      );
      const versions = (await listDatasetVersions(h.store, h.config.s3.bucket, prefix)).map((v) => v.id);
      assert.ok(versions.includes(pushedA.version) && versions.includes(pushedB.version), 'both versions are listed');

      const ui = await startUiFor(h);
      t.after(() => ui.close());
      const api = async <T>(path: string, status = 200): Promise<T> => {
        const response = await fetch(`${ui.url}${path}`);
        assert.equal(response.status, status, `${path}: ${response.status}`);
        return (await response.json()) as T;
      };
      const listed = (await api<DatasetsView>('/api/datasets')).datasets.find((d) => d.prefix === prefix);
      assert.deepEqual(
        // The watcher seals the same bytes again (same id) when it sees them, and may see them before the push seals:
        // either may be first, and the first stays named after the other seals.
        listed?.versions.map((v) => [
          v.id,
          v.count,
          (v.firstSealedBy === 'data push' || v.firstSealedBy === 'watcher') &&
            (v.createdBy === 'data push' || v.createdBy === 'watcher'),
          v.reads,
          v.verdict,
        ]),
        [
          [pushedB.version, 1, true, 1, 'passed'],
          [pushedA.version, 1, true, 1, 'passed'],
        ],
        'both versions, newest first, each read by one prepare-data stage whose checks passed',
      );
      const versionOf = (id: string): Promise<DatasetVersionView> =>
        api<DatasetVersionView>(`/api/datasets/version?prefix=${encodeURIComponent(prefix)}&id=${id}`);
      const viewB = await versionOf(pushedB.version);
      assert.deepEqual(
        viewB.reads.map((r) => [r.runId, r.stage, r.verdict, r.kept]),
        [[runB, 'prepare', 'passed', 70]],
      );
      assert.deepEqual(
        viewB.objects.map((o) => [o.key, o.size]),
        [['data.csv', csv(70, 1).length]],
      );
      assert.equal(viewB.compare?.from, pushedA.version);
      assert.deepEqual(viewB.compare?.counts, { added: 0, removed: 0, changed: 1, unchanged: 0 });
      const viewA = await versionOf(pushedA.version);
      assert.equal(viewA.compare, undefined, 'A is the first version of its prefix');
      assert.deepEqual(
        viewA.reads.map((r) => r.runId),
        [runA],
      );
      await api(`/api/datasets/version?prefix=${encodeURIComponent(prefix)}&id=${'0'.repeat(64)}`, 404);
      await api(`/api/datasets/version?prefix=${encodeURIComponent(prefix)}&id=nope`, 400);
      await api(`/api/datasets/version?prefix=not-a-uri&id=${pushedA.version}`, 400);
    },
  );
});
