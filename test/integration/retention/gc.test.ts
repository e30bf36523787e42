/**
 * `fineflow gc` against the real test stack: a dry run deletes nothing; `--yes` deletes exactly what
 * the dry run listed, and never what a running run or a cache entry in use needs, nor a sweep stage's newest
 * history records. The dataset-version tests (rule 6 and 7) share their setup through dataset-versions-fixture.ts: each
 * pushes a prefix of its own and ends the runs it starts, so each passes alone and in this order.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunState } from '../../../src/core/run/run-types';
import { sweepHistoryUri } from '../../../src/core/storage/layout';
import { listDatasetVersions, readDatasetVersion, readVersionedObject } from '../../../src/datasets/version-store';
import { executeGc, planCollection } from '../../../src/retention/gc';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { registerTestStageTypes } from '../../stage-types';
import { waitForRunState } from '../../helpers/run-state';
import { compilePlan } from '../../../src/spec/compile';
import type { Plan } from '../../../src/core/spec/plan-types';
import { ScheduleService } from '../../../src/schedules/schedule-client';
import { scheduleIdForPipeline } from '../../../src/schedules/schedules';
import { runCli } from '../../helpers/cli';
import { versionReadUri } from '../../../src/datasets/version-reads';
import type { ObjectStore } from '../../../src/storage/object-store';
import type { DatasetVersionView } from '../../../src/ui/web/dataset-types';
import { startUiFor } from '../../e2e/helpers/ui-browser';
import {
  HOUR,
  planAnHourLater,
  pushVersions,
  short,
  terminateAtEnd,
  untilListedOpen,
  versionPolicy,
  versionsOf,
} from './dataset-versions-fixture';
import { RunClient } from '../../../src/client/run-client';
import { readRecordedRunInput } from '../../../src/client/run-input';

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

  await executeGc(h.store, { remove: sweeps });
  const left = (await h.store.list(`s3://${bucket}/sweeps/gc-sweeps/`)).map((o) => `s3://${bucket}/${o.key}`).sort();
  assert.deepEqual(left, [...busy.slice(3), notRecord, ...quiet].sort());
});

test('gc --keep-dataset-versions drops old versions and their object versions, never the data a prefix holds now', async (t) => {
  const bucket = h.config.s3.bucket;
  const bytesOf = async (stream: NodeJS.ReadableStream): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  };
  // Three versions: a.csv rewritten each time, b.csv the same bytes throughout.
  const { prefix, ids } = await pushVersions(h, t, 3, { 'b.csv': 'kept,always\n' });
  const [first, second, newest] = ids as [string, string, string];
  const oldA = (await readDatasetVersion(h.store, bucket, prefix, first)).objects.find((o) => o.key === 'a.csv');
  assert.ok(oldA?.versionId, 'a versioned dataset bucket records S3 versions');

  const policy = versionPolicy(1);
  const withoutFlag = await planCollection(h.store, bucket, h.runs, { ...policy, keepDatasetVersions: undefined });
  assert.ok(!withoutFlag.remove.some((item) => item.kind === 'dataset-version'), 'off unless asked for');
  const plan = await planAnHourLater(h, policy);
  const datasets = plan.remove.filter((item) => item.kind === 'dataset-version' && item.id.startsWith(prefix));
  assert.deepEqual(
    datasets.map((item) => [item.id, item.objects.length]),
    [
      [`${prefix}@${short(second)}`, 3],
      [`${prefix}@${short(first)}`, 3],
    ],
    'each: its manifest and the S3 versions of a.csv and b.csv it named (every push wrote b.csv anew)',
  );
  assert.equal((await listDatasetVersions(h.store, bucket, prefix)).length, 3, 'the dry run deleted nothing');

  await executeGc(h.store, { remove: datasets });
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
  assert.deepEqual(versionsOf(await planAnHourLater(h, policy), prefix).dropped, [], 'nothing left to drop');
});

/** A pipeline reading `params.data` with prepare-data; a yearly schedule and/or a newData trigger when asked. */
function pinningPlan(name: string, data: string, extra = ''): Plan {
  const yaml = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
params: {data: "${data}"}
${extra}
stages:
  prepare:
    uses: prepare-data
    with: {source: "\${{ params.data }}", format: csv, labelColumn: label}
`;
  const compiled = compilePlan(yaml, `${name}.yaml`);
  if (!compiled.plan) throw new Error(JSON.stringify(compiled.diagnostics));
  return compiled.plan;
}

test(
  'gc --keep-dataset-versions keeps the versions a schedule, a data watcher and an open run pin, and says why',
  { timeout: 120_000 },
  async (t) => {
    const bucket = h.config.s3.bucket;
    const { prefix, ids } = await pushVersions(h, t, 4);
    const [v1, v2, v3] = ids as [string, string, string, string];
    const suffix = randomSuffix();
    // Nothing polls this queue: the schedule never runs, the watcher never looks, the run stays open.
    const schedules = new ScheduleService(h.client, { workflowTaskQueue: `gc-nobody-${suffix}` });
    const scheduled = `gcpin-sched-${suffix}`;
    const watched = `gcpin-watch-${suffix}`;
    t.after(async () => {
      await schedules.delete(scheduled).catch(() => undefined);
      await schedules.delete(watched).catch(() => undefined);
    });
    await schedules.apply(pinningPlan(scheduled, `${prefix}@${v1}`, 'schedule: {cron: "0 3 1 1 *"}'));
    const watcher = await schedules.apply(
      pinningPlan(watched, `${prefix}@${v2}`, `triggers: [{newData: {path: "s3://ffgcpin-${suffix}/in/"}}]`),
    );
    const openRun = await h.runs.submit(pinningPlan(`gcpin-run-${suffix}`, `${prefix}@${v3}`), {
      taskQueue: `gc-nobody-${suffix}`,
    });
    terminateAtEnd(h, t, openRun);
    // Temporal's listings are eventually consistent: wait until they show all three.
    const listed = async (): Promise<boolean> => {
      const plans = await schedules.appliedPlans();
      const watchers = await schedules.watchers.list(watched);
      return (
        plans.some((p) => p.pipeline === scheduled) &&
        watchers.length > 0 &&
        (await h.runs.openRuns()).some((run) => run.runId === openRun)
      );
    };
    while (!(await listed())) await new Promise((resolve) => setTimeout(resolve, 200));

    const policy = versionPolicy(1);
    const plan = await planAnHourLater(h, policy);
    assert.deepEqual(
      plan.remove.filter((item) => item.id.startsWith(prefix)),
      [],
      'every old version is pinned by something live',
    );
    assert.equal(plan.datasetVersionsRefused, undefined);
    const kept = new Map(versionsOf(plan, prefix).kept.map((k) => [k.id, k.reason]));
    assert.match(kept.get(short(v1)) ?? '', new RegExp(`schedule ${scheduleIdForPipeline(scheduled)} pins it`));
    assert.match(kept.get(short(v2)) ?? '', new RegExp(`data watcher ${watcher.watchers[0]?.watcherId} pins it`));
    assert.match(kept.get(short(v3)) ?? '', new RegExp(`run ${openRun} \\(not ended\\) pins it`));

    // The command's dry-run table says the same.
    const cli = await runCli(['gc', '--keep-dataset-versions', '1', '--older-than', '1ms'], {
      env: { FINEFLOW_BUCKET: bucket },
    });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^kept past their prefix's newest 1:$/m);
    assert.match(cli.stdout, new RegExp(`${prefix}@${short(v1)}\\s+number 4 of 4 by age, kept: .*schedule`));

    // Once the schedule is gone, its version may go; the watcher's and the run's still stay.
    await schedules.delete(scheduled);
    while ((await schedules.appliedPlans()).some((p) => p.pipeline === scheduled))
      await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(versionsOf(await planAnHourLater(h, policy), prefix).dropped, [short(v1)]);
  },
);

test(
  'gc drops no dataset version when it cannot read what a schedule runs, and says why',
  { timeout: 60_000 },
  async (t) => {
    const bucket = h.config.s3.bucket;
    const { prefix } = await pushVersions(h, t, 2);
    // A Fineflow-named schedule whose action carries no plan: gc cannot know what it pins.
    const scheduleId = scheduleIdForPipeline(`gcpin-bad-${randomSuffix()}`);
    await h.client.schedule.create({
      scheduleId,
      spec: { cronExpressions: ['0 3 1 1 *'] },
      action: {
        type: 'startWorkflow',
        workflowType: 'pipelineRun',
        taskQueue: `gc-nobody-${randomSuffix()}`,
        args: [],
      },
      state: { paused: true },
    });
    t.after(() =>
      h.client.schedule
        .getHandle(scheduleId)
        .delete()
        .catch(() => undefined),
    );
    // Temporal's schedule listing is eventually consistent: wait until it shows this one.
    const listed = async (): Promise<boolean> => {
      for await (const summary of h.client.schedule.list()) if (summary.scheduleId === scheduleId) return true;
      return false;
    };
    while (!(await listed())) await new Promise((resolve) => setTimeout(resolve, 200));
    const policy = versionPolicy(1);
    const plan = await planAnHourLater(h, policy);
    assert.match(plan.datasetVersionsRefused ?? '', new RegExp(`schedule ${scheduleId} does not start a pipeline run`));
    assert.deepEqual(
      plan.remove.filter((item) => item.id.startsWith(prefix)),
      [],
    );
    assert.ok(plan.kept.some((k) => k.id.startsWith(prefix) && /unknown/.test(k.reason)));
    const cli = await runCli(['gc', '--keep-dataset-versions', '1', '--older-than', '1ms'], {
      env: { FINEFLOW_BUCKET: bucket },
    });
    assert.equal(cli.code, 1, 'asked to collect dataset versions and could not: not a success');
    assert.match(
      cli.stdout,
      /no dataset version would be dropped: listing schedules, data watchers and open runs failed/,
    );
    // What was still done, plainly: replaced object versions no version names need nothing from Temporal.
    assert.match(
      cli.stdout,
      /^(Replaced object versions no dataset version names would still be collected \(\d+ in \d+ dataset-objects rows? above\)|No replaced object version was found to collect either)/m,
    );
    await h.store.putBytes(`${prefix}a.csv`, 'x,label\n7,never sealed\n');
    await h.store.putBytes(`${prefix}a.csv`, 'x,label\n8,never sealed either\n');
    const later = await planAnHourLater(h, policy);
    assert.ok(later.datasetVersionsRefused !== undefined);
    assert.deepEqual(
      later.remove.filter((item) => item.id.startsWith(prefix)).map((item) => [item.kind, item.objects.length]),
      [['dataset-objects', 1]],
      'versions refused; the replaced object version no version names (the first overwrite) still collected',
    );
  },
);

test('gc --keep-dataset-versions collects object versions no manifest ever named, on real MinIO', async (t) => {
  const bucket = h.config.s3.bucket;
  const { prefix, ids, push } = await pushVersions(h, t, 1);
  // a.csv overwritten twice before the next push: neither of those bytes was ever sealed.
  await h.store.putBytes(`${prefix}a.csv`, 'x,label\n7,never sealed\n');
  await h.store.putBytes(`${prefix}a.csv`, 'x,label\n8,never sealed either\n');
  const [second] = (await push([9])) as [string];
  const named = new Set(
    (
      await Promise.all([ids[0] as string, second].map((id) => readDatasetVersion(h.store, bucket, prefix, id)))
    ).flatMap((manifest) => manifest.objects.map((object) => object.versionId)),
  );
  const listed = (await h.store.listVersions?.(prefix)) ?? [];
  const orphans = listed.filter((v) => !v.isLatest && !named.has(v.versionId)).map((v) => v.versionId);
  assert.equal(orphans.length, 2, 'the two overwritten versions no manifest names');

  const policy = versionPolicy(2);
  const young = await planCollection(h.store, bucket, h.runs, { ...policy, olderThanMs: 24 * HOUR });
  assert.ok(!young.remove.some((item) => item.id === prefix), 'uploaded within --older-than: kept');
  // Even with --older-than 0: replaced seconds ago, a seal in progress may have seen them current and name them.
  const racing = await planCollection(h.store, bucket, h.runs, policy);
  assert.ok(!racing.remove.some((item) => item.id === prefix), 'replaced within the seal bound: kept');
  const plan = await planAnHourLater(h, policy);
  const mine = plan.remove.filter((item) => item.id.startsWith(prefix));
  assert.deepEqual(
    mine.map((item) => [item.kind, item.id, item.objects.map((o) => o.versionId).sort()]),
    [['dataset-objects', prefix, [...orphans].sort()]],
    'both versions kept (keep 2); only the unnamed object versions go',
  );
  assert.equal(mine[0]?.bytes, 'x,label\n7,never sealed\n'.length + 'x,label\n8,never sealed either\n'.length);

  await executeGc(h.store, { remove: mine });
  for (const versionId of orphans)
    await assert.rejects(h.store.getStream(`${prefix}a.csv`, { versionId }), /not found|no longer|does not exist/i);
  for (const id of [ids[0] as string, second]) {
    const manifest = await readDatasetVersion(h.store, bucket, prefix, id);
    for (const object of manifest.objects) {
      const stream = await readVersionedObject(h.store, manifest, object);
      for await (const _chunk of stream) void _chunk; // reads whole and sha256-checked
    }
  }
  const again = await planAnHourLater(h, policy);
  assert.ok(!again.remove.some((item) => item.id.startsWith(prefix)), 'nothing left to collect');
});

test('gc keeps the versions a run not yet ended may be reading unpinned: those sealed since it started', async (t) => {
  const versions = await pushVersions(h, t, 2);
  const { prefix, ids } = versions;
  // Sealed ten minutes ago, well before the run starts (beyond the minute of clock skew gc allows).
  await versions.sealedEarlier(10);
  const suffix = randomSuffix();
  // Reads the prefix as it is when its stage starts; nothing polls its queue, so it stays open.
  const openRun = await h.runs.submit(pinningPlan(`gcread-${suffix}`, prefix), { taskQueue: `gc-nobody-${suffix}` });
  terminateAtEnd(h, t, openRun);
  const [sinceStart] = (await versions.push([3, 4])) as [string, string];
  await untilListedOpen(h, openRun, true);

  const policy = versionPolicy(1);
  const { dropped, kept } = versionsOf(await planAnHourLater(h, policy), prefix);
  // Versions 1 and 2 were sealed before the run started: not what it reads. 3 was sealed since (4 is the newest).
  assert.deepEqual(dropped, [ids[0], ids[1]].map((id) => short(id as string)).sort());
  assert.deepEqual(
    kept.map((item) => item.id),
    [short(sinceStart)],
  );
  assert.match(kept[0]?.reason ?? '', new RegExp(`run ${openRun} \\(not ended\\) reads ${prefix} unpinned`));
  // Once the run has ended, nothing keeps them.
  await h.client.workflow.getHandle(openRun).terminate('test over');
  await untilListedOpen(h, openRun, false);
  assert.equal(
    versionsOf(await planAnHourLater(h, policy), prefix).dropped.length,
    3,
    'versions 1, 2 and 3 go once the run has ended',
  );
});

/**
 * A store whose reads of objects under `prefix` wait until released: a prepare-data stage reading through it is paused
 * mid-read, after it has resolved its version and before it has read a byte of it.
 */
function pausedReads(store: ObjectStore, prefix: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const reading = new Promise<void>((resolve) => (reached = resolve));
  const paused: ObjectStore = {
    ...store,
    async getStream(uri, options) {
      if (uri.startsWith(prefix)) {
        reached();
        await released;
      }
      return store.getStream(uri, options);
    },
  };
  return { store: paused, reading, release };
}

test(
  'an open run paused mid-read keeps exactly the version it reads; the version sealed next to it goes',
  { timeout: 120_000 },
  async (t) => {
    const bucket = h.config.s3.bucket;
    const versions = await pushVersions(h, t, 2);
    const { prefix, ids } = versions;
    // Sealed ten minutes ago, well before the run starts (beyond the minute of clock skew gc allows).
    await versions.sealedEarlier(10);
    const suffix = randomSuffix();
    const pool = `gcread-${suffix}`;
    const gate = pausedReads(h.store, prefix);
    t.after(gate.release);
    await h.addWorker({ pool, store: gate.store, concurrency: 1 });
    const extra = `defaults: {pool: ${pool}, retry: {maxAttempts: 1}, cache: false}`;
    const runId = await h.runs.submit(pinningPlan(`gcmidread-${suffix}`, prefix, extra));
    terminateAtEnd(h, t, runId);
    await gate.reading;
    // The stage resolved the prefix as it is (version 2's contents) and is reading it; two pushes land meanwhile.
    const reading = ids[1] as string;
    const [sinceStart] = (await versions.push([3, 4])) as [string, string];
    const record = await h.store.getJson(versionReadUri(bucket, prefix, reading, runId, 'prepare'));
    assert.deepEqual(
      [(record as { state?: string }).state, (record as { runId?: string }).runId],
      ['reading', runId],
      'recorded before a byte was read',
    );

    const policy = versionPolicy(1);
    const during = versionsOf(await planAnHourLater(h, policy), prefix);
    // Version 3 was sealed since the run started, but its record names version 2: 3 goes (so does 1).
    assert.deepEqual(during.dropped, [short(ids[0] as string), short(sinceStart)].sort());
    assert.deepEqual(
      during.kept.map((item) => [item.id, item.reason]),
      [
        [
          short(reading),
          `number 3 of 4 by age, kept: run ${runId} (not ended) has a read record of it ` +
            '(stage prepare: reading, read or failed)',
        ],
      ],
    );

    // The page and `data versions` show the reader as reading.
    const ui = await startUiFor(h);
    t.after(() => ui.close());
    const versionView = async (): Promise<DatasetVersionView> => {
      const response = await fetch(`${ui.url}/api/datasets/version?prefix=${encodeURIComponent(prefix)}&id=${reading}`);
      assert.equal(response.status, 200);
      return (await response.json()) as DatasetVersionView;
    };
    assert.deepEqual(
      (await versionView()).reads.map((r) => [r.runId, r.state, r.verdict]),
      [[runId, 'reading', undefined]],
    );
    const cli = await runCli(['data', 'versions', prefix], { env: { FINEFLOW_BUCKET: bucket } });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`^${reading}\\s.*\\s1 run stage \\(1 reading\\)$`, 'm'));

    // The worker dies mid-read (the run is ended for it): the record stays `reading`, and pins nothing any more.
    await h.client.workflow.getHandle(runId).terminate('worker killed mid-read');
    await untilListedOpen(h, runId, false);
    assert.deepEqual(
      (await versionView()).reads.map((r) => [r.runId, r.state]),
      [[runId, 'stopped']],
    );
    const after = versionsOf(await planAnHourLater(h, policy), prefix);
    assert.deepEqual(after.dropped, [short(ids[0] as string), short(reading), short(sinceStart)].sort());
  },
);

test(
  'gc keeps the version a retry --set pinned before the run continued as new, read from the state it carries',
  { timeout: 120_000 },
  async (t) => {
    const bucket = h.config.s3.bucket;
    const { prefix, ids } = await pushVersions(h, t, 3);
    const [v1, v2, v3] = ids as [string, string, string];
    // A short history: the run continues as new after its second attempt, once the first has waited for a retry.
    const runs = new RunClient(h.client, {
      bucket,
      workflowTaskQueue: h.runs.workflowTaskQueue,
      store: h.store,
      historyEventLimit: 20,
    });
    const plan = h.plan(
      `gccan-${randomSuffix()}`,
      [{ id: 'flaky', uses: 'test-flaky', with: { failTimes: 1000, value: '${{ params.data }}' }, onFailure: 'pause' }],
      { data: `${prefix}@${v3}` },
    );
    const runId = await runs.submit(plan);
    terminateAtEnd(h, t, runId);
    const handle = h.client.workflow.getHandle(runId);
    const firstExecution = (await handle.describe()).runId;
    const waitingAfter = (attempts: number) =>
      waitForState(runId, (s) => s.stages[0]?.status === 'waiting' && (s.stages[0]?.attempts ?? 0) >= attempts);
    await waitingAfter(1);
    assert.equal((await handle.describe()).runId, firstExecution, 'not continued yet: the retry lands in the first');
    await runs.retry(runId, { params: { data: `${prefix}@${v1}` } });
    // The retry's attempt fails too, and by then the history is past its limit: the run continues as new, the retry's
    // update left in the first execution's history. (No further retry: one sent while it drains could race the
    // continue-as-new.)
    await waitingAfter(2);
    const continued = async (): Promise<boolean> => (await handle.describe()).runId !== firstExecution;
    const deadline = Date.now() + 30_000;
    while (!(await continued())) {
      if (Date.now() > deadline) assert.fail('the run did not continue as new after its second attempt');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const latestEvents = (await handle.fetchHistory()).events ?? [];
    assert.ok((await readRecordedRunInput(h.client, runId, latestEvents)).stored, 'its state is in the store');

    const { dropped, kept } = versionsOf(await planAnHourLater(h, versionPolicy(1)), prefix);
    assert.deepEqual(dropped, [short(v2)], 'the version the retry pinned stays; the one nothing reads goes');
    const pinned = kept.find((k) => k.id === short(v1));
    assert.match(pinned?.reason ?? '', new RegExp(`run ${runId} \\(not ended\\) pins it`));
  },
);
