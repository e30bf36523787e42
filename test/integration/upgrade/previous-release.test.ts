/**
 * Upgrade test: work started by the previous release finishes on the current one. The previous
 * release is the commit pinned in previous-release.json; the test extracts it (`git archive`, so
 * the repository's worktrees are untouched) into a temporary directory that borrows this clone's
 * node_modules, runs old-release-driver.ts there (that release's worker, workflow bundle and
 * clients) until it has left work in flight (a paused run, a run mid-stage, a sweep between
 * trials, a newData watcher, a schedule), stops that worker, starts the current worker on the
 * same pool and drives every piece to the end. The workflow task identities in each history prove
 * both releases worked on it. Versioning strategy and how to move the pin: docs/operations.md.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { RunClient } from '../../../src/client/run-client';
import type { PipelineRunResult } from '../../../src/core/run/run-types';
import { runsQuery } from '../../../src/core/schedules/schedule-search-attributes';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { ScheduleService } from '../../../src/schedules/schedule-client';
import { scheduleIdForPipeline } from '../../../src/schedules/schedules';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { registerTestStageTypes } from '../../stage-types';
import type { InFlight } from './old-release-driver';

const REPO = path.resolve(__dirname, '../../..');
const DRIVER = 'test/integration/upgrade/old-release-driver.ts';
const PIN = JSON.parse(readFileSync(path.join(__dirname, 'previous-release.json'), 'utf8')) as {
  readonly release: string;
  readonly commit: string;
};

let h: RuntimeHarness;
let oldTree: string;
const suffix = randomSuffix();
const pool = `upgrade-${suffix}`;

/** The pinned release's files in a temporary directory, running on this clone's node_modules. */
function extractPreviousRelease(): string {
  const has = (): boolean => spawnSync('git', ['cat-file', '-e', `${PIN.commit}^{commit}`], { cwd: REPO }).status === 0;
  // A shallow CI checkout lacks the pinned commit: fetch it from where this clone came from, once.
  if (!has()) {
    const shallow = spawnSync('git', ['rev-parse', '--is-shallow-repository'], { cwd: REPO, encoding: 'utf8' });
    const args =
      shallow.stdout.trim() === 'true'
        ? ['fetch', '--quiet', '--unshallow']
        : ['fetch', '--quiet', 'origin', PIN.commit];
    spawnSync('git', args, { cwd: REPO, timeout: 120_000 });
  }
  if (!has())
    throw new Error(
      `the previous release ${PIN.commit} (${PIN.release}) is not in this clone, and fetching it from origin failed: run \`git fetch --unshallow\` (or fetch that commit)`,
    );
  const dir = mkdtempSync(path.join(tmpdir(), 'fineflow-upgrade-'));
  const tree = path.join(dir, 'previous-release');
  mkdirSync(tree);
  const archive = spawnSync('bash', ['-c', 'git archive --format=tar "$1" | tar -x -C "$2"', '_', PIN.commit, tree], {
    cwd: REPO,
    encoding: 'utf8',
  });
  if (archive.status !== 0) throw new Error(`git archive ${PIN.commit} failed: ${archive.stderr}`);
  symlinkSync(path.join(REPO, 'node_modules'), path.join(tree, 'node_modules'), 'dir');
  mkdirSync(path.join(tree, path.dirname(DRIVER)), { recursive: true });
  copyFileSync(path.join(REPO, DRIVER), path.join(tree, DRIVER));
  return tree;
}

/** Resolves with what the old release reports in flight; rejects with its stderr if it exits first. */
function awaitReady(child: ChildProcess): Promise<InFlight> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8_000)));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('READY ')) resolve(JSON.parse(line.slice('READY '.length)) as InFlight);
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`the previous release exited (${code ?? signal}) before it was ready:\n${stderr}`)),
    );
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Identities of the workers that completed workflow tasks of an execution, in order, deduplicated. */
async function workflowTaskWorkers(client: Client, workflowId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const identities: string[] = [];
  for (const event of history.events ?? []) {
    const identity = event.workflowTaskCompletedEventAttributes?.identity;
    if (identity && identities.at(-1) !== identity) identities.push(identity);
  }
  return identities;
}

async function runIdsOf(client: Client, query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const info of client.workflow.list({ query })) ids.push(info.workflowId);
  return ids;
}

async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe().catch(() => undefined);
    if (last !== undefined && done(last)) return last;
    // Visibility (list) is eventually consistent: there is no event to await for a new run to appear.
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

const outputOf = (result: PipelineRunResult, stageId: string): unknown =>
  result.stages.find((s) => s.id === stageId)?.outputs?.value;

before(async () => {
  registerTestStageTypes();
  h = await startRuntimeHarness({ cpuWorker: false });
  oldTree = extractPreviousRelease();
});
after(async () => {
  await h?.close();
  if (oldTree) rmSync(path.dirname(oldTree), { recursive: true, force: true });
});

test(
  `runs, a sweep, a watcher and a schedule started on the previous release (${PIN.commit.slice(0, 7)}) finish on the current one`,
  { timeout: 420_000 },
  async () => {
    const old = spawn(process.execPath, ['--import', 'tsx', DRIVER, pool, suffix], {
      cwd: oldTree,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let inFlight: InFlight;
    try {
      inFlight = await awaitReady(old);
    } finally {
      old.kill('SIGTERM');
    }
    assert.equal(await exited(old), 0, 'the previous release drains and exits 0 on SIGTERM');

    await h.addWorker({ pool, runsWorkflows: true, identity: 'current-release', concurrency: 4 });
    const workflowTaskQueue = taskQueueForPool(pool);
    const runs = new RunClient(h.client, { bucket: h.config.s3.bucket, workflowTaskQueue });
    const schedules = new ScheduleService(h.client, { bucket: h.config.s3.bucket, workflowTaskQueue });
    try {
      // The paused run takes the current release's retry update and goes on with the new param.
      await runs.retry(inFlight.paused, { params: { threshold: 7 } });
      const paused = await runs.result(inFlight.paused);
      assert.equal(paused.status, 'succeeded', JSON.stringify(paused));
      assert.equal(outputOf(paused, 'next'), 7);

      // The stage cut off by the old worker's drain runs again here; its downstream sees its output.
      const midStage = await runs.result(inFlight.midStage);
      assert.equal(midStage.status, 'succeeded', JSON.stringify(midStage));
      assert.equal(outputOf(midStage, 'last'), `from-old-${suffix}`);

      // The sweep runs its remaining trials on the current release and picks a best one.
      const sweep = await runs.result(inFlight.sweep);
      assert.equal(sweep.status, 'succeeded', JSON.stringify(sweep));
      const sweepOutputs = sweep.stages.find((s) => s.id === 'sweep')?.outputs ?? {};
      assert.ok(sweepOutputs.best, `the sweep has a best trial: ${JSON.stringify(sweepOutputs)}`);

      // The watcher the old release started sees new data and starts a run.
      await h.store.putBytes(`${inFlight.watcher.prefix}batch-1.csv`, 'a,b\n3,4\n');
      const [watched] = await until(
        'a run for the new data',
        () => runIdsOf(h.client, runsQuery(inFlight.watcher.pipeline, 'new-data')),
        (ids) => ids.length >= 1,
      );
      assert.equal((await runs.result(watched!)).status, 'succeeded');

      // The schedule the old release created fires (Temporal starts the run from the schedule's
      // stored action, the old release's plan) and the current release runs it.
      await h.client.schedule.getHandle(scheduleIdForPipeline(inFlight.schedule)).trigger();
      const [scheduled] = await until(
        'the scheduled run',
        () => runIdsOf(h.client, runsQuery(inFlight.schedule, 'schedule')),
        (ids) => ids.length >= 1,
      );
      const scheduledResult = await runs.result(scheduled!);
      assert.equal(outputOf(scheduledResult, 'echo'), 'scheduled');

      // Each in-flight execution was worked on by both releases, old first.
      for (const workflowId of [inFlight.paused, inFlight.midStage, inFlight.sweep, `${inFlight.sweep}.sweep.sweep-1`])
        assert.deepEqual(
          // The current release's identity also announces its capacity (` [capacity cpu=… memory=… gpu=…]`).
          (await workflowTaskWorkers(h.client, workflowId)).map((identity) =>
            identity.replace(/ \[capacity [^\]]*\]$/, ''),
          ),
          ['old-release', 'current-release'],
          workflowId,
        );
      // The watcher continues as new after a number of idle polls: its latest execution may not have completed a
      // workflow task yet when its history is read (an empty list; CI on a loaded machine, session 12), so wait for one.
      const watcherWorkers = await until(
        "a workflow task of the watcher's latest execution",
        () => workflowTaskWorkers(h.client, inFlight.watcher.id),
        (identities) => identities.length > 0,
      );
      assert.equal(
        watcherWorkers.at(-1)?.replace(/ \[capacity [^\]]*\]$/, ''),
        'current-release',
        `the watcher now runs on the current release`,
      );
    } finally {
      await schedules.delete(inFlight.watcher.pipeline).catch(() => undefined);
      await schedules.delete(inFlight.schedule).catch(() => undefined);
    }
  },
);
