/**
 * What the datasets page says of a version, on the real Temporal dev server and MinIO: a prepare-data stage whose
 * quality checks stop it still records that its run read the version, with the failed checks, and leaves the data
 * report a passing read writes, with the failing examples (the page shows the failed verdict, the run among the
 * readers and the report, which the run's stage serves too); and a version sealed again with the same contents (here by the
 * stage itself, reading the prefix as it is) still names who sealed it first. A stage that fails for another reason
 * (a file it cannot read as asked) completes its record as failed, with its error, on the page and in `data versions`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { pushDirectory } from '../../../src/cli/commands/data';
import { readDatasetVersion } from '../../../src/datasets/version-store';
import { checkVersionRead, isReading, versionReadsPrefix } from '../../../src/datasets/version-reads';
import { compilePlan } from '../../../src/spec/compile';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { startUiFor } from '../../e2e/helpers/ui-browser';
import type { DatasetsView, DatasetVersionView } from '../../../src/ui/web/dataset-types';
import type { DataReport } from '../../../src/ml/data/prepare';
import { failedDataReportUri } from '../../../src/core/run/stage-producer';
import { runCli } from '../../helpers/cli';

let h: RuntimeHarness;
let dir: string;
before(async () => {
  h = await startRuntimeHarness();
  dir = await mkdtemp(join(tmpdir(), 'ff-version-reads-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await h?.close();
});

/** The UI's JSON API on the harness (closed when the test ends): GET `path`, which must answer 200. */
async function uiApi(t: TestContext): Promise<<T>(path: string) => Promise<T>> {
  const ui = await startUiFor(h);
  t.after(() => ui.close());
  return async <T>(path: string): Promise<T> => {
    const response = await fetch(`${ui.url}${path}`);
    assert.equal(response.status, 200, path);
    return (await response.json()) as T;
  };
}

/** Submits a one-stage pipeline whose prepare-data reads `prefix` (a CSV labelled by `label`), uncached, once. */
async function submitPrepare(prefix: string, name: string): Promise<string> {
  const compiled = compilePlan(
    `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
defaults: {pool: ${h.pools.cpu}, timeout: 2m, retry: {maxAttempts: 1}, onFailure: fail}
stages:
  prepare:
    uses: prepare-data
    cache: false
    with: {source: "${prefix}", format: csv, labelColumn: label}
`,
    `${name}.yaml`,
  );
  assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
  return h.runs.submit(compiled.plan);
}

test('a prepare-data stopped by its quality checks records the failed read; the first sealer stays named', async (t) => {
  const prefix = `s3://ffreads-${randomSuffix()}/churn/`;
  // Class c has one example: too few to reach every split, and smallClasses fails by default.
  const rows = ['x,y,label', ...Array.from({ length: 30 }, (_, i) => `${i},${i % 3},${i % 2 === 0 ? 'a' : 'b'}`)];
  await writeFile(join(dir, 'data.csv'), `${[...rows, '99,9,c'].join('\n')}\n`);
  const pushed = await pushDirectory(h.store, h.config.s3.bucket, dir, prefix, () => undefined);
  const runId = await submitPrepare(prefix, `reads-${randomSuffix()}`);
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'failed');
  assert.match(result.stages[0]?.error?.message ?? '', /quality\.smallClasses/);

  // The record beside the version: the run, the failed check among all the checks, no data report.
  const listed = await h.store.list(versionReadsPrefix(h.config.s3.bucket, prefix, pushed.version));
  assert.equal(listed.length, 1, 'one record: this run read the version');
  const uri = `s3://${h.config.s3.bucket}/${listed[0]?.key}`;
  const record = checkVersionRead(await h.store.getJson(uri), uri);
  assert.ok(!isReading(record), 'the record written before the read was completed');
  const read = record;
  assert.equal(read.runId, runId);
  assert.equal(read.state, 'read');
  assert.ok(read.startedAt !== undefined && read.startedAt <= read.at, 'when it began to read, before it stopped');
  assert.equal(read.verdict, 'failed');
  const reportUri = failedDataReportUri(h.config.s3.bucket, runId, 'prepare');
  assert.equal(read.report, reportUri, 'the data report its checks left');
  assert.match(result.stages[0]?.error?.message ?? '', new RegExp(`\ndata report: ${reportUri}$`));
  // The same data report a passing read writes, with the failed check's examples, before the stage failed.
  const report = (await h.store.getJson(reportUri)) as DataReport;
  assert.deepEqual(report.stoppedBy, ['smallClasses']);
  assert.deepEqual(
    [report.records, report.kept, report.splits, report.classes.map((c) => [c.name, c.count])],
    [
      31,
      31,
      { train: 0, validation: 0, test: 0 },
      [
        ['a', 15],
        ['b', 15],
        ['c', 1],
      ],
    ],
  );
  const smallClasses = report.quality.find((q) => q.check === 'smallClasses');
  assert.deepEqual(
    [smallClasses?.outcome, smallClasses?.count, smallClasses?.examples.map((e) => e.where)],
    ['failed', 1, ['class c']],
  );
  assert.deepEqual(
    read.checks.filter((c) => c.outcome !== 'ok'),
    [
      { check: 'smallClasses', outcome: 'failed', count: 1 },
      { check: 'imbalance', outcome: 'warned', count: 1 },
    ],
  );
  assert.equal(read.checks.length, 8, 'every check, as a finished stage records them');
  assert.equal(read.records, 31);

  // prepare-data sealed the prefix as it was (the same contents): the version still names `data push` first.
  const manifest = await readDatasetVersion(h.store, h.config.s3.bucket, prefix, pushed.version);
  assert.equal(manifest.createdBy, 'prepare-data');
  assert.equal(manifest.firstSealedBy, 'data push');

  const api = await uiApi(t);
  const row = (await api<DatasetsView>('/api/datasets')).datasets.find((d) => d.prefix === prefix)?.versions[0];
  assert.deepEqual(
    [row?.id, row?.verdict, row?.reads, row?.firstSealedBy, row?.createdBy],
    [pushed.version, 'failed', 1, 'data push', 'prepare-data'],
  );
  const view = await api<DatasetVersionView>(
    `/api/datasets/version?prefix=${encodeURIComponent(prefix)}&id=${pushed.version}`,
  );
  assert.deepEqual(
    view.reads.map((r) => [r.runId, r.verdict, r.hasReport]),
    [[runId, 'failed', true]],
  );
  // The link the Datasets page and the run page follow serves it.
  const served = await api<DataReport>(`/api/runs/${runId}/stages/prepare/report`);
  assert.deepEqual(served.stoppedBy, ['smallClasses']);
});

test('a prepare-data that fails for another reason than its checks completes its record as failed', async (t) => {
  const prefix = `s3://ffreads-${randomSuffix()}/nolabel/`;
  const sub = await mkdtemp(join(tmpdir(), 'ff-version-reads-failed-'));
  t.after(() => rm(sub, { recursive: true, force: true }));
  // No label column: a file prepare-data cannot read as asked, found while it reads (not a quality check).
  await writeFile(join(sub, 'rows.csv'), 'x,kind\n1,a\n2,b\n');
  const pushed = await pushDirectory(h.store, h.config.s3.bucket, sub, prefix, () => undefined);
  const runId = await submitPrepare(prefix, `readfail-${randomSuffix()}`);
  const result = await h.runs.result(runId);
  assert.equal(result.status, 'failed');

  const listed = await h.store.list(versionReadsPrefix(h.config.s3.bucket, prefix, pushed.version));
  assert.equal(listed.length, 1);
  const uri = `s3://${h.config.s3.bucket}/${listed[0]?.key}`;
  const record = checkVersionRead(await h.store.getJson(uri), uri);
  assert.equal(record.state, 'failed', 'completed, not left reading');
  if (record.state !== 'failed') return;
  assert.deepEqual(
    [record.runId, record.stage, record.attempt, record.errorType],
    [runId, 'prepare', 1, 'FineflowInvalidInput'],
  );
  assert.match(record.error, /rows\.csv:1: no label column label/);

  const api = await uiApi(t);
  const row = (await api<DatasetsView>('/api/datasets')).datasets.find((d) => d.prefix === prefix)?.versions[0];
  assert.deepEqual([row?.readState, row?.verdict, row?.reads], ['failed', undefined, 1]);
  const view = await api<DatasetVersionView>(
    `/api/datasets/version?prefix=${encodeURIComponent(prefix)}&id=${pushed.version}`,
  );
  assert.deepEqual(
    view.reads.map((r) => [r.runId, r.state, r.errorType, r.attempt, /no label column label/.test(r.error ?? '')]),
    [[runId, 'failed', 'FineflowInvalidInput', 1, true]],
  );
  const cli = await runCli(['data', 'versions', prefix], { env: { FINEFLOW_BUCKET: h.config.s3.bucket } });
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, new RegExp(`^${pushed.version}\\s.*\\s1 run stage \\(1 failed\\)$`, 'm'));
  const json = await runCli(['data', 'versions', prefix, '--json'], { env: { FINEFLOW_BUCKET: h.config.s3.bucket } });
  assert.deepEqual((JSON.parse(json.stdout) as { reads: unknown }[])[0]?.reads, { reads: 1, reading: 0, failed: 1 });
});
