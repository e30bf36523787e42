/**
 * A prepare-data attempt Temporal gave up on (its worker froze past the heartbeat timeout) that runs on once its
 * worker wakes, after a retry on another worker has read the version and written the dataset: the version's read
 * record still says what the retry did, the late attempt wrote nothing under the stage's outputs, and its log says
 * why. Real Temporal dev server and MinIO; the workers are `fineflow worker` processes. The first worker reaches MinIO
 * and Temporal through TCP proxies (test/fixtures/runtime/tcp-proxy.ts): it is stopped (SIGSTOP, its process group) as
 * it asks for the first object of the version, after its `reading` record, and its Temporal link is held from then on,
 * so once woken it cannot hear from Temporal that it was given up on: only the stage's claim in the store stops it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pushDirectory } from '../../../src/cli/commands/data';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import { checkVersionRead, versionReadUri, type VersionReadRecord } from '../../../src/datasets/version-reads';
import { compilePlan } from '../../../src/spec/compile';
import type { DatasetsView } from '../../../src/ui/web/dataset-types';
import { startUiFor } from '../../e2e/helpers/ui-browser';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { killWorkerGroup, spawnWorker, type WorkerProcess } from '../../fixtures/runtime/worker-process';
import { until } from '../../fixtures/runtime/until';
import { startTcpProxy, type TcpProxy } from '../../fixtures/runtime/tcp-proxy';

let h: RuntimeHarness;
let dir: string;
const workers: WorkerProcess[] = [];
const proxies: TcpProxy[] = [];
before(async () => {
  h = await startRuntimeHarness({ cpuWorker: false });
  dir = await mkdtemp(join(tmpdir(), 'ff-zombie-read-'));
});
after(async () => {
  for (const worker of workers) if (worker.child.exitCode === null) await killWorkerGroup(worker);
  for (const proxy of proxies) await proxy.close();
  await rm(dir, { recursive: true, force: true });
  await h?.close();
});

test(
  'a frozen attempt that wakes after the retry read writes nothing over the retry’s record',
  { timeout: 240_000 },
  async () => {
    const suffix = randomSuffix();
    const pool = `zombie-${suffix}`;
    const dataBucket = `ffzombie-${suffix}`;
    const prefix = `s3://${dataBucket}/rows/`;
    const rows = ['x,y,label', ...Array.from({ length: 60 }, (_, i) => `${i},${i % 7},${i % 2 === 0 ? 'a' : 'b'}`)];
    await writeFile(join(dir, 'rows.csv'), `${rows.join('\n')}\n`);
    const pushed = await pushDirectory(h.store, h.config.s3.bucket, dir, prefix, () => undefined);

    // The first worker stops (as a paused VM or a stalled host would) when it asks for the data itself. Its link to
    // Temporal stays held after it wakes, so it cannot hear that Temporal gave it up: only the store can tell it.
    let frozen: WorkerProcess | undefined;
    let woken = false;
    const wokenWrites: string[] = [];
    let markFrozen!: () => void;
    const isFrozen = new Promise<void>((resolve) => (markFrozen = resolve));
    const temporal = await startTcpProxy(h.config.temporal.address);
    const minio = await startTcpProxy(
      { host: h.config.s3.endPoint, port: h.config.s3.port },
      {
        onRequest(line) {
          if (woken && /^(PUT|POST|DELETE) /.test(line)) wokenWrites.push(line);
          if (!frozen || !line.startsWith(`GET /${dataBucket}/rows/rows.csv`)) return;
          process.kill(-frozen.pid, 'SIGSTOP');
          temporal.hold('now');
          frozen = undefined;
          markFrozen();
        },
      },
    );
    proxies.push(temporal, minio);
    // One stage at a time: a worker busy with attempt 1 does not poll for attempt 2 while it is frozen.
    const first = await spawnWorker({
      pool,
      concurrency: 1,
      env: { FINEFLOW_S3_ENDPOINT: minio.url, TEMPORAL_ADDRESS: temporal.address },
    });
    workers.push(first);
    frozen = first;

    const name = `zombie-${suffix}`;
    const compiled = compilePlan(
      `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
defaults: {pool: ${pool}, timeout: 3m, heartbeatTimeout: 5s, onFailure: fail}
stages:
  prepare:
    uses: prepare-data
    cache: false
    retry: {maxAttempts: 3, initialInterval: 100ms, backoffCoefficient: 1}
    with: {source: "${prefix}", format: csv, labelColumn: label}
`,
      `${name}.yaml`,
    );
    assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
    const runId = await h.runs.submit(compiled.plan);
    await isFrozen;
    const uri = versionReadUri(h.config.s3.bucket, prefix, pushed.version, runId, 'prepare');
    const recordNow = async (): Promise<VersionReadRecord> => checkVersionRead(await h.store.getJson(uri), uri);
    assert.deepEqual(
      [(await recordNow()).state, (await recordNow()).attempt],
      ['reading', 1],
      'attempt 1 recorded its read, then froze',
    );

    // Temporal gives attempt 1 up at its heartbeat timeout and retries the stage on a second worker: it reads it all.
    workers.push(await spawnWorker({ pool, concurrency: 1 }));
    const result = await h.runs.result(runId);
    assert.equal(result.status, 'succeeded', JSON.stringify(result.stages));
    const retried = await recordNow();
    const owner = result.stages[0]?.attempts;
    assert.ok(owner !== undefined && owner >= 2, `retried: ${owner}`);
    assert.deepEqual([retried.state, retried.attempt], ['read', owner]);

    // Attempt 1 wakes and runs on: it reads the rest, tries to write the dataset (or to record a failed read), is
    // refused, and ends.
    woken = true;
    process.kill(-first.pid, 'SIGCONT');
    const zombieLog = await until('attempt 1 ended', async () => {
      const log = (await listStageLogs(h.store, h.config.s3.bucket, runId, 'prepare')).find((l) => l.attempt === 1);
      const text = log && (await stageLogText(h.store, log));
      return text && /: attempt 1 (succeeded|ended)/.test(text) ? text : undefined;
    });
    assert.deepEqual(await recordNow(), retried, 'the record still says what the retry did');
    const outputs = `/${h.config.s3.bucket}/runs/${runId}/prepare/`;
    assert.deepEqual(
      wokenWrites.filter((line) => line.includes(outputs) && !line.includes(`${outputs}logs/`)),
      [],
      "the woken attempt wrote nothing over the retry's dataset",
    );
    assert.match(
      zombieLog,
      new RegExp(
        `attempt 1 did not record version ${pushed.version} as (read|failed): ` +
          `attempt ${owner} of this stage owns the record now`,
      ),
    );
    // Its read usually completes and it reaches the dataset's first write, which the claim refuses. Under load its
    // own read can fail instead (its MinIO request gave up while it was stopped): it then records the read as failed,
    // is refused there, and never reaches an output write (CI run A of session 23 on a loaded machine).
    if (!new RegExp(`did not record version ${pushed.version} as failed`).test(zombieLog))
      assert.match(zombieLog, /attempt 1 did not write s3:\/\/\S+: attempt \d+ of this stage owns its outputs now/);

    // The Datasets page reads it as the retry left it.
    const ui = await startUiFor(h);
    try {
      const response = await fetch(`${ui.url}/api/datasets`);
      const row = ((await response.json()) as DatasetsView).datasets.find((d) => d.prefix === prefix)?.versions[0];
      assert.deepEqual([row?.id, row?.readState, row?.reads], [pushed.version, 'read', 1]);
    } finally {
      await ui.close();
    }
  },
);
