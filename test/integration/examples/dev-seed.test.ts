/**
 * `fineflow dev seed` on the real stack: after it, every s3:// input of every example in pipelines/
 * has a sealed dataset version holding it; a second seed pushes nothing and reports the same versions;
 * the base models come back with the pipeline that registers them.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { loadConfig } from '../../../src/config';
import { listDatasetVersions } from '../../../src/datasets/version-store';
import { loadExamples } from '../../../src/examples/load-examples';
import { seedDataFor } from '../../../src/examples/seed-data';
import { createObjectStoreFromConfig } from '../../../src/storage/minio-store';
import type { SeedReport } from '../../../src/cli/commands/dev-seed';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { requireStack, stackConfig } from '../../helpers/stack';
import { runCli } from '../../helpers/cli';

before(async () => {
  await requireStack();
});

async function seed(...names: string[]): Promise<SeedReport> {
  const result = await runCli(['dev', 'seed', ...names, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as SeedReport;
}

it(
  'after dev seed every example input has a version holding it; a second seed leaves them alone',
  { timeout: 600_000 },
  async () => {
    const first = await seed();
    const { all } = loadExamples([]);
    const config = loadConfig(process.env);
    const store = createObjectStoreFromConfig(config);
    const uris = [...new Set(all.flatMap((example) => example.data))].sort();
    assert.deepEqual(
      first.inputs.map((input) => input.uri),
      uris,
    );
    for (const uri of uris) {
      const seeded = seedDataFor(uri);
      assert.ok(seeded, uri);
      const versions = await listDatasetVersions(store, config.s3.bucket, seeded.prefix);
      const holding = versions.filter((v) => v.objects.some((o) => !seeded.key || o.key === seeded.key));
      assert.ok(
        holding.length > 0,
        `${uri} has a version holding it (${versions.length} versions of ${seeded.prefix})`,
      );
      const reported = first.inputs.find((input) => input.uri === uri);
      assert.ok(
        holding.some((v) => v.id === reported?.version),
        `${uri}: the reported version is one of them`,
      );
    }
    const sweep = first.models.find((model) => model.name === 'digits-cnn');
    assert.deepEqual(sweep?.producers, ['pipelines/pretrain-digits.yaml']);

    // A second seed pushes nothing: every prefix keeps the versions it had, and each input is reported present with
    // the newest version holding it (two inputs of one prefix, churn's Q2 and Q3 files, are both held by the version
    // sealed when the second was pushed, so the first's id moves on from what the first seed reported).
    const versionsOf = async () =>
      Promise.all(
        uris.map(async (uri) => {
          const seeded = seedDataFor(uri);
          assert.ok(seeded, uri);
          const versions = await listDatasetVersions(store, config.s3.bucket, seeded.prefix);
          const newest = versions.filter((v) => v.objects.some((o) => !seeded.key || o.key === seeded.key)).at(-1);
          return { uri, ids: versions.map((v) => v.id), newest: newest?.id };
        }),
      );
    const before = await versionsOf();
    const second = await seed();
    assert.deepEqual(await versionsOf(), before, 'a second seed seals no new version');
    assert.deepEqual(
      second.inputs.map((input) => [input.uri, input.status, input.version]),
      before.map((prefix) => [prefix.uri, 'present', prefix.newest]),
    );
  },
);

it(
  'dev seed --refresh pushes a seeded file again (the same generator: the same version); without it the input is left',
  { timeout: 120_000 },
  async () => {
    const plain = await runCli(['dev', 'seed', 'pretrain-churn']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(
      plain.stdout,
      /2026-q2\.csv: already has version \w+, left alone \(`fineflow dev seed --refresh` pushes/,
    );
    // A refresh seals what the prefix holds after the push (churn/ also holds incoming/, seeded on its own), so the
    // first may seal a new version; a second refresh of the same generator's bytes seals that one again.
    const refresh = async (): Promise<{ report: SeedReport; stderr: string }> => {
      const result = await runCli(['dev', 'seed', 'pretrain-churn', '--refresh', '--json']);
      assert.equal(result.code, 0, result.stderr);
      return { report: JSON.parse(result.stdout) as SeedReport, stderr: result.stderr };
    };
    const first = await refresh();
    assert.ok(first.report.inputs.every((input) => input.status === 'pushed'));
    const second = await refresh();
    assert.deepEqual(
      second.report.inputs.map((input) => [input.uri, input.status, input.version]),
      first.report.inputs.map((input) => [input.uri, 'pushed', input.version]),
      'pushed again; the same bytes seal the same version',
    );
    assert.match(second.stderr, /2026-q2\.csv: version \w+ \(\d+ objects?, the same as before\)/);
    const misplaced = await runCli(['dev', 'status', '--refresh']);
    assert.equal(misplaced.code, 2);
    assert.match(misplaced.stderr, /--refresh is an option of dev seed/);
  },
);

it(
  'dev seed NAME seeds that example and the pipeline registering its base model, and refuses a name outside pipelines/',
  { timeout: 120_000 },
  async () => {
    const report = await seed('sweep');
    assert.deepEqual(
      report.inputs.map((input) => input.uri),
      ['s3://datasets/mnist/', 's3://datasets/shapes/'], // sweep's, and pretrain-digits' (it registers digits-cnn)
    );
    const outside = await runCli(['dev', 'seed', '../package.json']);
    assert.notEqual(outside.code, 0);
    assert.match(outside.stderr, /not an example in pipelines\//);
  },
);

it(
  'dev seed --with-models with no worker polling the pretrain pools fails at once, naming the workers to start',
  {
    timeout: 300_000,
  },
  async () => {
    // A registry of its own (FINEFLOW_BUCKET), so churn-mlp is missing whatever other tests registered, and a
    // Temporal namespace of its own, so no worker another test file runs on the shared stack polls its pools.
    // The bucket also records dataset versions, so the inputs are pushed again: batch-predict's and pretrain-churn's
    // are a CSV each (sweep's with pretrain-digits' MNIST were 8,300 images, minutes to push a second time).
    const suffix = Math.random().toString(36).slice(2, 8);
    const bucket = `ffseed-${suffix}`;
    const namespace = await emptyNamespace(`ffseed-${suffix}`);
    const env = { FINEFLOW_BUCKET: bucket, FINEFLOW_DATASET_BUCKETS: 'datasets', TEMPORAL_NAMESPACE: namespace };
    // The data first, so the timing below is the worker check's alone.
    const seeded = await runCli(['dev', 'seed', 'batch-predict'], { env });
    assert.equal(seeded.code, 0, seeded.stderr);
    const started = Date.now();
    const result = await runCli(['dev', 'seed', 'batch-predict', '--with-models'], { env });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /s3:\/\/datasets\/churn\/incoming\/: already has version \w+, left alone/);
    assert.match(result.stderr, /--with-models submits pipelines\/pretrain-churn\.yaml, whose stages run on pools /);
    assert.match(
      result.stderr,
      /polls control, cpu, train: start `fineflow worker --pool control`, `fineflow worker --pool cpu`, `fineflow worker --pool train`/,
    );
    assert.ok(Date.now() - started < 30_000, 'it did not wait for a worker');
  },
);

/**
 * A new namespace on the test stack, once Temporal answers for it: registration is asynchronous (the frontend
 * learns of it when its namespace cache refreshes), so this asks until a task queue of it can be described.
 */
async function emptyNamespace(name: string): Promise<string> {
  const connection = await Connection.connect({ address: stackConfig().temporal.address });
  try {
    await connection.workflowService.registerNamespace({
      namespace: name,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    for (let pauseMs = 100; ; pauseMs = Math.min(1_000, pauseMs * 2)) {
      try {
        await connection.workflowService.describeTaskQueue({ namespace: name, taskQueue: { name: 'probe' } });
        return name;
      } catch (error) {
        if ((error as { code?: number }).code !== 5) throw error; // 5: NOT_FOUND, the namespace is not known yet
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  } finally {
    await connection.close();
  }
}
