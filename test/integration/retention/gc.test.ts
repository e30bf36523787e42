/**
 * `fineflow gc` against the real test stack: a dry run deletes nothing; `--yes` deletes exactly what
 * the dry run listed, and never what a running run or a cache entry in use needs, nor a sweep stage's newest
 * history records.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunState } from '../../../src/core/run/run-types';
import { sweepHistoryUri } from '../../../src/core/storage/layout';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushDirectory } from '../../../src/cli/commands/data';
import { listDatasetVersions, readDatasetVersion, readVersionedObject } from '../../../src/datasets/version-store';
import { executeGc, planCollection } from '../../../src/retention/gc';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { registerTestStageTypes } from '../../stage-types';
import { waitForRunState } from '../../helpers/run-state';

let h: RuntimeHarness;
before(async () => {
  registerTestStageTypes();
  // A bucket of its own: gc plans over a whole bucket, so in the shared one it counted (and deleted) what every other
  // test file left there, e.g. the sweep-test pipeline's sweep records once more than 20 had piled up.
  h = await startRuntimeHarness({ bucket: `ffgc-${randomSuffix()}` });
});
after(async () => {
  await h?.close();
});

const waitForState = (runId: string, predicate: (state: RunState) => boolean) =>
  waitForRunState(h.runs, runId, predicate, { timeoutMs: 60_000, pollMs: 200 });

const HOUR = 3_600_000;

test(
  'gc lists, then deletes old runs and checkpoints, keeping a running run and cached outputs',
  { timeout: 180_000 },
  async () => {
    const bucket = h.config.s3.bucket;
    const keys = async (runId: string): Promise<string[]> =>
      (await h.store.list(`s3://${bucket}/runs/${runId}/`)).map((o) => o.key.slice(`runs/${runId}/`.length)).sort();
    const quick = (name: string) =>
      h.plan(name, [
        { id: 'echo', uses: 'test-echo', with: { value: name, sleepMs: 200, steps: 2, storeSteps: true } },
      ]);
    const ended = await h.runs.submit(quick('gc-ended'));
    const cached = await h.runs.submit(quick('gc-cached'));
    for (const runId of [ended, cached]) assert.equal((await h.runs.result(runId)).status, 'succeeded');
    const running = await h.runs.submit(
      h.plan('gc-running', [{ id: 'echo', uses: 'test-echo', with: { value: 1, sleepMs: 60_000, steps: 60 } }]),
    );
    await waitForState(running, (s) => (s.stages[0]?.progress?.fraction ?? 0) > 0);
    await h.store.putBytes(`s3://${bucket}/runs/${running}/echo/checkpoints/epoch-1/weights.bin`, 'w');
    await h.store.putBytes(`s3://${bucket}/runs/${ended}/echo/checkpoints/epoch-1/weights.bin`, 'w');
    await h.store.putBytes(`s3://${bucket}/runs/gc-no-such-run/echo/out.txt`, 'orphan');
    // A cache entry in use (a pipeline stage's latest) names one output of `cached`.
    const key = 'e'.repeat(64);
    const artifact = `s3://${bucket}/runs/${cached}/echo/step-1.txt`;
    await h.store.putJson(`s3://${bucket}/cache/${key}/entry.json`, {
      formatVersion: 1,
      key,
      keyDocument: null,
      outputs: {},
      artifacts: [{ uri: artifact, sha256: '0'.repeat(64) }],
      digest: 'd',
      runId: cached,
      stageId: 'echo',
      createdAt: new Date().toISOString(),
    });
    await h.store.putJson(`s3://${bucket}/cache/index/gc-cached/echo/latest.json`, {
      key,
      runId: cached,
      digest: 'd',
      createdAt: new Date().toISOString(),
    });

    // Two hours from now, with a one-hour policy, every ended run is old.
    const policy = { olderThanMs: HOUR, checkpointsAfterMs: HOUR, keepSweeps: 20 };
    const before = { running: await keys(running), cached: await keys(cached) };
    const plan = await planCollection(h.store, bucket, h.runs, policy, Date.now() + 2 * HOUR);
    const byId = new Map(plan.remove.map((item) => [item.id, item]));
    assert.equal(byId.get(ended)?.kind, 'run');
    assert.equal(byId.get('gc-no-such-run')?.kind, 'run');
    assert.match(byId.get('gc-no-such-run')?.reason ?? '', /no record in Temporal/);
    assert.ok(!byId.has(running), 'a running run keeps everything');
    assert.ok(!byId.get(cached)?.objects.some((o) => o.uri === artifact), 'the cached output is protected');
    assert.ok(plan.bytes > 0);
    // The dry run (planning) deleted nothing.
    assert.ok((await keys(ended)).includes('echo/checkpoints/epoch-1/weights.bin'));

    assert.equal(await executeGc(h.store, plan), plan.objects);
    assert.deepEqual(await keys(ended), []);
    assert.deepEqual(await keys('gc-no-such-run'), []);
    const stillThere = new Set(await keys(running));
    assert.ok(
      before.running.every((key) => stillThere.has(key)),
      'a running run keeps every object',
    );
    assert.deepEqual(await keys(cached), ['echo/step-1.txt']);
    assert.ok(before.cached.length > 1);
    await h.runs.cancel(running);
  },
);

test('gc keeps the newest records of each sweep stage on real MinIO and deletes only older records', async () => {
  const bucket = h.config.s3.bucket;
  const history = (stage: string, count: number): string[] =>
    Array.from({ length: count }, (_, index) => {
      const endedAt = new Date(Date.UTC(2026, 0, 1, 0, index)).toISOString();
      return sweepHistoryUri(bucket, 'gc-sweeps', stage, { endedAt, runId: `run-${index}`, attempt: 1 });
    });
  const busy = history('tune', 23);
  const quiet = history('small', 2);
  const notRecord = `s3://${bucket}/sweeps/gc-sweeps/tune/notes.txt`;
  for (const uri of [...busy, ...quiet, notRecord]) await h.store.putJson(uri, { format: 'any' });

  const policy = { olderThanMs: 3650 * 24 * HOUR, checkpointsAfterMs: 3650 * 24 * HOUR, keepSweeps: 20 };
  const plan = await planCollection(h.store, bucket, h.runs, policy);
  const sweeps = plan.remove.filter((item) => item.kind === 'sweep-history');
  assert.deepEqual(
    sweeps.map((item) => [item.id, item.objects.map((o) => o.uri).sort()]),
    [['gc-sweeps/tune', busy.slice(0, 3)]],
    'the three oldest records of the busy stage, nothing of the quiet one',
  );
  assert.match(sweeps[0]?.reason ?? '', /newest 20 \(of 23\)/);
  assert.ok((await h.store.stat(busy[0] as string)) !== undefined, 'the dry run deleted nothing');

  await executeGc(h.store, { remove: sweeps, bytes: 0, objects: 3 });
  const left = (await h.store.list(`s3://${bucket}/sweeps/gc-sweeps/`)).map((o) => `s3://${bucket}/${o.key}`).sort();
  assert.deepEqual(left, [...busy.slice(3), notRecord, ...quiet].sort());
});

test('gc --keep-dataset-versions drops old versions and their object versions, never the data a prefix holds now', async () => {
  const bucket = h.config.s3.bucket;
  const prefix = `s3://ffgcdata-${randomSuffix()}/lines/`;
  const dir = await mkdtemp(join(tmpdir(), 'ff-gc-data-'));
  const bytesOf = async (stream: NodeJS.ReadableStream): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  };
  try {
    // Three versions: a.csv rewritten each time, b.csv the same bytes throughout.
    const ids: string[] = [];
    await writeFile(join(dir, 'b.csv'), 'kept,always\n');
    for (const n of [1, 2, 3]) {
      await writeFile(join(dir, 'a.csv'), `x,label\n${n},v${n}\n`);
      ids.push((await pushDirectory(h.store, bucket, dir, prefix, () => undefined)).version);
    }
    const [first, second, newest] = ids as [string, string, string];
    const oldA = (await readDatasetVersion(h.store, bucket, prefix, first)).objects.find((o) => o.key === 'a.csv');
    assert.ok(oldA?.versionId, 'a versioned dataset bucket records S3 versions');

    const policy = { olderThanMs: 0, checkpointsAfterMs: 3650 * 24 * HOUR, keepSweeps: 20, keepDatasetVersions: 1 };
    const withoutFlag = await planCollection(h.store, bucket, h.runs, { ...policy, keepDatasetVersions: undefined });
    assert.ok(!withoutFlag.remove.some((item) => item.kind === 'dataset-version'), 'off unless asked for');
    const plan = await planCollection(h.store, bucket, h.runs, policy, Date.now() + HOUR);
    const datasets = plan.remove.filter((item) => item.kind === 'dataset-version');
    assert.deepEqual(
      datasets.map((item) => [item.id, item.objects.length]),
      [
        [`${prefix}@${second.slice(0, 12)}`, 3],
        [`${prefix}@${first.slice(0, 12)}`, 3],
      ],
      'each: its manifest and the S3 versions of a.csv and b.csv it named (every push wrote b.csv anew)',
    );
    assert.equal((await listDatasetVersions(h.store, bucket, prefix)).length, 3, 'the dry run deleted nothing');

    await executeGc(h.store, { remove: datasets, bytes: 0, objects: 6 });
    assert.deepEqual(
      (await listDatasetVersions(h.store, bucket, prefix)).map((v) => v.id),
      [newest],
    );
    await assert.rejects(
      h.store.getStream(`${prefix}a.csv`, { versionId: oldA.versionId }),
      /not found|no longer|does not exist/i,
    );
    const kept = await readDatasetVersion(h.store, bucket, prefix, newest);
    for (const object of kept.objects) await bytesOf(await readVersionedObject(h.store, kept, object));
    assert.equal(await bytesOf(await h.store.getStream(`${prefix}a.csv`)), 'x,label\n3,v3\n');
    assert.equal(await bytesOf(await h.store.getStream(`${prefix}b.csv`)), 'kept,always\n');
    const again = await planCollection(h.store, bucket, h.runs, policy, Date.now() + HOUR);
    assert.ok(!again.remove.some((item) => item.kind === 'dataset-version'), 'nothing left to drop');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
