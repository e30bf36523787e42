/**
 * A fine-tune attempt Temporal gave up on (its worker and training child froze past the heartbeat timeout) that runs
 * on once woken, after a retry on another worker trained from its checkpoint and finished: the training child writes
 * no checkpoint and no model over the retry's, the retry's objects are byte-identical afterwards, and the late
 * attempt's log says why. Real Temporal dev server and MinIO; the workers are `fineflow worker` processes training in
 * their real child process. The first worker reaches MinIO and Temporal through TCP proxies
 * (test/fixtures/runtime/tcp-proxy.ts): the worker and its training child are stopped (SIGSTOP) at the first request
 * after epoch 1's checkpoint is complete, and the worker's Temporal link is held from then on, so once woken only the
 * claim in the store can stop the child, which writes through a store of its own.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import { registerModel } from '../../../src/ml/models/registry';
import { formatS3Uri } from '../../../src/core/storage/uri';
import { checkpointedFineTuneStage } from '../../helpers/fine-tune-stage';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { killWorkerGroup, spawnWorker, type WorkerProcess } from '../../fixtures/runtime/worker-process';
import { until } from '../../fixtures/runtime/until';
import { startTcpProxy, type TcpProxy } from '../../fixtures/runtime/tcp-proxy';
import { writeSweepData } from '../sweep/sweep-fixture';

let h: RuntimeHarness;
const workers: WorkerProcess[] = [];
const proxies: TcpProxy[] = [];
/** The frozen worker's process tree (the worker and its training child, which leads a process group of its own). */
let frozenTree: number[] = [];

before(async () => {
  h = await startRuntimeHarness({ cpuWorker: false });
});
after(async () => {
  for (const pid of frozenTree) signal(pid, 'SIGKILL');
  for (const worker of workers) if (worker.child.exitCode === null) await killWorkerGroup(worker);
  for (const proxy of proxies) await proxy.close();
  await h?.close();
});

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

/**
 * `pid` and every process below it, from /proc (the training child is forked with a process group of its own).
 * Synchronous: the proxy passes the request that triggered the freeze on only after every process is stopped.
 */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat = '';
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended since the listing
    }
    const ppid = Number(/\) \S+ (\d+)/.exec(stat)?.[1]);
    if (ppid) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i += 1) tree.push(...(children.get(tree[i] ?? 0) ?? []));
  return tree;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Gone, or a zombie its (stopped) parent has not reaped. */
function hasEnded(pid: number): boolean {
  try {
    return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

test(
  "a frozen fine-tune attempt woken after its retry finished writes no checkpoint or model over the retry's",
  { timeout: 300_000 },
  async () => {
    const suffix = randomSuffix();
    const pool = `zombie-train-${suffix}`;
    const name = `zombie-train-${suffix}`;
    const { bucket } = h.config.s3;
    const data = await writeSweepData(h.store, bucket, name);
    await registerModel(h.store, { bucket, name, modelUri: data.baseModel, description: 'zombie-train base' });

    let runId = '';
    let checkpointed = false;
    let freeze: (() => void) | undefined;
    let woken = false;
    const wokenWrites: string[] = [];
    const temporal = await startTcpProxy(h.config.temporal.address);
    const minio = await startTcpProxy(
      { host: h.config.s3.endPoint, port: h.config.s3.port },
      {
        onRequest(line) {
          if (woken && /^(PUT|POST|DELETE) /.test(line)) wokenWrites.push(line);
          // Epoch 1's checkpoint is complete once its latest.json is written; the next request (the child's pruning
          // listing, or the worker's log) comes before any write of epoch 2.
          if (line.startsWith(`PUT /${bucket}/runs/${runId}/finetune/checkpoints/latest.json`)) checkpointed = true;
          else if (checkpointed && freeze) freeze();
        },
      },
    );
    proxies.push(temporal, minio);
    const first = await spawnWorker({
      pool,
      concurrency: 1,
      env: { FINEFLOW_S3_ENDPOINT: minio.url, TEMPORAL_ADDRESS: temporal.address },
    });
    workers.push(first);
    const isFrozen = new Promise<void>((resolve) => {
      freeze = () => {
        freeze = undefined;
        frozenTree = processTree(first.pid);
        for (const pid of frozenTree) signal(pid, 'SIGSTOP');
        temporal.hold('now');
        resolve();
      };
    });

    const plan = h.plan('zombie-train', [
      checkpointedFineTuneStage(
        { pool, baseModel: name, dataset: data.dataset },
        {
          heartbeatTimeoutMs: 5_000,
          onFailure: 'fail',
          retry: { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 500 },
        },
      ),
    ]);
    runId = await h.runs.submit(plan);
    await isFrozen;
    assert.ok(frozenTree.length >= 2, `the worker and its training child: ${frozenTree.join(' ')}`);

    // Temporal gives attempt 1 up at its heartbeat timeout; a second worker retries from epoch 1's checkpoint.
    workers.push(await spawnWorker({ pool, concurrency: 1 }));
    const result = await h.runs.result(runId);
    assert.equal(result.status, 'succeeded', JSON.stringify(result.stages));
    const owner = result.stages[0]?.attempts;
    assert.ok(owner !== undefined && owner >= 2, `retried: ${owner}`);
    const outputs = `s3://${bucket}/runs/${runId}/finetune/`;
    const snapshot = async (): Promise<Record<string, string>> => {
      const objects: Record<string, string> = {};
      for (const object of await h.store.list(outputs)) {
        const uri = formatS3Uri(object);
        if (uri.startsWith(`${outputs}logs/`) || uri.endsWith('/@attempt.json')) continue;
        const sha = createHash('sha256')
          .update(await h.store.getBytes(uri))
          .digest('hex');
        objects[uri] = `${sha} ${object.etag} ${object.lastModified.toISOString()}`;
      }
      return objects;
    };
    const retried = await snapshot();
    assert.ok(
      Object.keys(retried).some((uri) => uri.endsWith('/checkpoints/epoch-0002/checkpoint.json')) &&
        Object.keys(retried).some((uri) => uri.endsWith('/model/model.json')),
      `the retry checkpointed epoch 2 and saved the model: ${Object.keys(retried).join(' ')}`,
    );

    // Attempt 1 wakes, its training child first: on waking, the worker's SDK may abort the attempt itself (its
    // heartbeat timeout has passed) and kill the child before it writes; a child ahead of its parent (a busy worker,
    // a slow event loop) has only the claim to stop it. It trains epoch 2, is refused its checkpoint, and ends; then
    // the worker reads why and ends the attempt.
    woken = true;
    const child = frozenTree.find((pid) => commandLine(pid).includes('training-worker'));
    assert.ok(child, `a training child among ${frozenTree.join(' ')}`);
    signal(child, 'SIGCONT');
    await until('the woken training child ended', async () => (hasEnded(child) ? true : undefined), 90_000);
    for (const pid of frozenTree) if (pid !== child) signal(pid, 'SIGCONT');
    const zombieLog = await until(
      'attempt 1 ended',
      async () => {
        const log = (await listStageLogs(h.store, bucket, runId, 'finetune')).find((l) => l.attempt === 1);
        const text = log && (await stageLogText(h.store, log));
        return text && /: attempt 1 (succeeded|ended)/.test(text) ? text : undefined;
      },
      90_000,
    );
    assert.deepEqual(
      wokenWrites.filter((line) => line.includes(`/${bucket}/runs/${runId}/finetune/`) && !line.includes('/logs/')),
      [],
      "the woken attempt wrote nothing over the retry's outputs",
    );
    assert.deepEqual(await snapshot(), retried, "the retry's checkpoints and model are as it left them");
    // The child's refusal ends the attempt, in its own log (the child's stderr line may arrive after the log closed).
    assert.match(
      zombieLog,
      new RegExp(
        String.raw`: attempt 1 ended after \S+ s: \S+: attempt 1 did not write s3://\S+/finetune/checkpoints/` +
          String.raw`epoch-0002/\S+: attempt ${owner} of this stage owns its outputs now`,
      ),
    );
  },
);
