/**
 * A real `fineflow worker` process killed (SIGKILL) in the middle of a registration: after its version claim is in
 * MinIO and before the card. The worker reaches MinIO through a TCP proxy that stops forwarding every request after
 * the claim's PUT, so the kill lands in that window on every run (no timing luck, nothing in the product changed).
 * Temporal times the attempt out on its heartbeat timeout, a second worker process gets the retry, and the retry takes
 * its own earlier attempt's claim over at once (src/ml/models/registry.ts, docs/security.md §4): one version, its files
 * those of the source model (sha256), no second number holding anything.
 * The second test kills the worker of run A (one attempt, so no retry of its own) the same way; run B, registering
 * the same model on a live worker process, claims the next number, waits on A's claim of the same files, takes it over
 * only once it has gone CLAIM_STALE_AFTER_MS unrenewed, gives its own number back and writes version 1.
 *
 * Run with: bash scripts/test.sh integration --quick test/integration/runtime/register-worker-killed.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { listStageLogs, stageLogText } from '../../../src/client/run-logs';
import { loadTf } from '../../../src/ml/backend';
import { buildModel } from '../../../src/ml/models/architectures';
import { saveModel } from '../../../src/ml/models/load-model';
import { CLAIM_STALE_AFTER_MS, listVersions, readAliases, versionPrefix } from '../../../src/ml/models/registry';
import { randomSuffix, startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { spawnWorker, type WorkerProcess } from '../../fixtures/runtime/worker-process';
import { startTcpProxy, type TcpProxy } from '../../fixtures/runtime/tcp-proxy';

const { tf } = loadTf({ preference: 'cpu' });
let h: RuntimeHarness;
const proxies: TcpProxy[] = [];
const workers: WorkerProcess[] = [];
const suffix = randomSuffix();
const name = `killed-${suffix}`;
const pool = `register-${suffix}`;

interface FreezingProxy {
  readonly proxy: TcpProxy;
  /** Resolves once a request matching the pattern was passed on; every later request is held. */
  readonly frozen: Promise<void>;
}

/**
 * A TCP proxy to MinIO that passes requests on until one whose request line (`PUT /bucket/key?query`) matches
 * `freezeAfter`, then holds every request that starts after it (on any connection) without answering: the store
 * stops responding to the proxied process as a frozen network would.
 */
async function startFreezingProxy(freezeAfter: RegExp): Promise<FreezingProxy> {
  let markFrozen!: () => void;
  const frozen = new Promise<void>((resolve) => (markFrozen = resolve));
  const proxy: TcpProxy = await startTcpProxy(
    { host: h.config.s3.endPoint, port: h.config.s3.port },
    {
      onRequest(line) {
        if (!freezeAfter.test(line)) return;
        proxy.hold('next-request');
        markFrozen();
      },
    },
  );
  proxies.push(proxy);
  return { proxy, frozen };
}

/** Ask `probe` every 50 ms until it returns something, for at most `ms`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What a registration writes into its claim (src/ml/models/registry.ts). */
interface StoredClaim {
  readonly createdAt: string;
  readonly runId?: string;
  readonly stage?: string;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

before(async () => {
  h = await startRuntimeHarness({ cpuWorker: false });
});

after(async () => {
  for (const worker of workers) worker.child.kill('SIGKILL');
  await Promise.all(workers.map((worker) => worker.exited));
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await h?.close();
});

test(
  'a worker killed between the version claim and the card: the retry on another worker takes the claim over at once, one verified version',
  { timeout: 240_000 },
  async () => {
    const bucket = h.config.s3.bucket;
    const model = buildModel(tf, { kind: 'mlp', inputShape: [4], hidden: [3] }, { numClasses: 2 });
    const source = `s3://${bucket}/scratch-${name}/model`;
    await saveModel(tf, h.store, model, source);
    model.dispose();

    const { proxy, frozen } = await startFreezingProxy(new RegExp(`^PUT \\S*/models/${name}/1/claim\\.json(\\?|$)`));
    const doomed = await spawnWorker({ pool, env: { FINEFLOW_S3_ENDPOINT: proxy.url } });
    workers.push(doomed);
    const runId = await h.runs.submit(
      h.plan(name, [
        {
          id: 'register',
          uses: 'register-model',
          pool,
          // Above the stage runner's 5 s heartbeat timer with room for a loaded machine; Temporal retries after it.
          heartbeatTimeoutMs: 15_000,
          retry: { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 1_000 },
          with: { model: `${source}/model.json`, name, alias: 'champion' },
        },
      ]),
    );

    const directory = versionPrefix(bucket, name, 1);
    const claimed = await until('the claim in MinIO', () => h.store.stat(`${directory}/claim.json`), 60_000);
    await frozen;
    const deadClaim = await h.store.getJson<StoredClaim>(`${directory}/claim.json`);
    assert.equal(deadClaim.runId, runId);
    assert.equal(deadClaim.stage, 'register');
    assert.equal(await h.store.stat(`${directory}/card.json`), undefined, 'killed before the card');
    doomed.child.kill('SIGKILL');
    assert.equal(await doomed.exited, 'SIGKILL');
    const survivor = await spawnWorker({ pool });
    workers.push(survivor);

    const result = await h.runs.result(runId);
    assert.equal(result.status, 'succeeded', JSON.stringify(result.stages));
    const stage = result.stages.find((s) => s.id === 'register');
    assert.equal(stage?.attempts, 2, 'the killed attempt, then the retry');
    assert.deepEqual(stage?.outputs, { model: `registry://${name}@1`, version: 1, unchanged: false });

    // One version, under the killed attempt's number; nothing under any other number.
    assert.deepEqual(await listVersions(h.store, bucket, name), [1]);
    assert.deepEqual(await readAliases(h.store, bucket, name), { champion: 1 });
    const keys = (await h.store.list(`s3://${bucket}/models/${name}/`)).map((info) => info.key);
    assert.deepEqual(
      keys.filter((key) => !key.startsWith(`models/${name}/1/`)),
      [`models/${name}/aliases.json`],
    );

    // Its files are the source model's, byte for byte.
    for (const file of ['model.json', 'weights.bin']) {
      const [registered, original] = await Promise.all([
        h.store.getBytes(`${directory}/${file}`),
        h.store.getBytes(`${source}/${file}`),
      ]);
      assert.equal(sha256(registered), sha256(original), `${file} sha256`);
    }

    // The retry wrote the claim over (its own earlier attempt's: taken over at once, not after the stale time).
    const takenOver = await h.store.getJson<StoredClaim>(`${directory}/claim.json`);
    assert.equal(takenOver.runId, runId);
    assert.notEqual(takenOver.createdAt, deadClaim.createdAt, 'the claim is the retry’s now');
    assert.notEqual((await h.store.stat(`${directory}/claim.json`))?.etag, claimed.etag);
    const card = await h.store.getJson<{ createdAt: string; lineage: Record<string, string> }>(
      `${directory}/card.json`,
    );
    assert.equal(card.createdAt, takenOver.createdAt, 'the card is the retry’s');
    assert.deepEqual([card.lineage.runId, card.lineage.stage], [runId, 'register']);
    // Listings carry milliseconds (a HEAD's Last-Modified only seconds); MinIO and the worker share this machine's clock.
    const written = new Map(
      (await h.store.list(`${directory}/`)).map((info) => [info.key, info.lastModified.getTime()]),
    );
    const takeoverMs = (written.get(`models/${name}/1/claim.json`) ?? NaN) - Date.parse(takenOver.createdAt);
    assert.ok(
      takeoverMs < CLAIM_STALE_AFTER_MS,
      `the retry took its earlier attempt's claim over ${takeoverMs} ms after it began; the documented time is at once ` +
        `(another registration's claim: after ${CLAIM_STALE_AFTER_MS} ms unrenewed)`,
    );
    assert.ok(
      (written.get(`models/${name}/1/card.json`) ?? NaN) >= (written.get(`models/${name}/1/claim.json`) ?? NaN),
    );

    const logs = await listStageLogs(h.store, bucket, runId, 'register');
    const texts = await Promise.all(logs.map((log) => stageLogText(h.store, log)));
    assert.ok(
      texts.some((text) => text.includes(`registered registry://${name}@1 from`)),
      texts.join('\n---\n'),
    );
  },
);

test(
  'a killed worker’s claim: another run of the same model waits, then takes the stale claim over, one verified version',
  { timeout: 240_000 },
  async () => {
    const bucket = h.config.s3.bucket;
    const other = `taken-${suffix}`;
    const [poolA, poolB] = [`register-a-${suffix}`, `register-b-${suffix}`];
    const model = buildModel(tf, { kind: 'mlp', inputShape: [4], hidden: [3] }, { numClasses: 2 });
    const source = `s3://${bucket}/scratch-${other}/model`;
    await saveModel(tf, h.store, model, source);
    model.dispose();
    const register = (pool: string, maxAttempts: number) =>
      h.plan(other, [
        {
          id: 'register',
          uses: 'register-model',
          pool,
          heartbeatTimeoutMs: 15_000,
          retry: { maxAttempts, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 1_000 },
          with: { model: `${source}/model.json`, name: other, alias: 'champion' },
        },
      ]);

    // Run A: its worker freezes after the claim of version 1 and is killed holding it. One attempt only, so no retry
    // of run A can take its own claim over: run B is the only one that may.
    const { proxy, frozen } = await startFreezingProxy(new RegExp(`^PUT \\S*/models/${other}/1/claim\\.json(\\?|$)`));
    const doomed = await spawnWorker({ pool: poolA, env: { FINEFLOW_S3_ENDPOINT: proxy.url } });
    workers.push(doomed);
    const runA = await h.runs.submit(register(poolA, 1));
    const first = versionPrefix(bucket, other, 1);
    const claimedByA = await until('run A’s claim in MinIO', () => h.store.stat(`${first}/claim.json`), 60_000);
    await frozen;
    assert.equal((await h.store.getJson<StoredClaim>(`${first}/claim.json`)).runId, runA);
    doomed.child.kill('SIGKILL');
    assert.equal(await doomed.exited, 'SIGKILL');

    // Run B, the same model, on a live worker: it claims the next number and waits on run A's claim of the same files.
    workers.push(await spawnWorker({ pool: poolB }));
    const runB = await h.runs.submit(register(poolB, 1));
    const second = versionPrefix(bucket, other, 2);
    const waiting = await until(
      'run B’s claim of version 2',
      async () => {
        if (!(await h.store.stat(`${second}/claim.json`))) return undefined;
        return h.store.getJson<StoredClaim>(`${second}/claim.json`).catch(() => undefined);
      },
      60_000,
    );
    assert.equal(waiting.runId, runB, 'run B holds version 2 while it waits on version 1');
    assert.equal(await h.store.stat(`${first}/card.json`), undefined, 'nothing is registered while run B waits');

    const result = await h.runs.result(runB);
    assert.equal(result.status, 'succeeded', JSON.stringify(result.stages));
    const stage = result.stages.find((s) => s.id === 'register');
    assert.equal(stage?.attempts, 1);
    assert.deepEqual(stage?.outputs, { model: `registry://${other}@1`, version: 1, unchanged: false });

    // One version, version 1 (run B gave its own number back); nothing under any other number.
    assert.deepEqual(await listVersions(h.store, bucket, other), [1]);
    assert.deepEqual(await readAliases(h.store, bucket, other), { champion: 1 });
    const keys = (await h.store.list(`s3://${bucket}/models/${other}/`)).map((info) => info.key);
    assert.deepEqual(
      keys.filter((key) => !key.startsWith(`models/${other}/1/`)),
      [`models/${other}/aliases.json`],
    );
    for (const file of ['model.json', 'weights.bin']) {
      const [registered, original] = await Promise.all([
        h.store.getBytes(`${first}/${file}`),
        h.store.getBytes(`${source}/${file}`),
      ]);
      assert.equal(sha256(registered), sha256(original), `${file} sha256`);
    }

    // The claim and the card are run B's, and the takeover came only once run A's claim had gone unrenewed for the
    // stale time (another run's claim is never taken at once).
    const takenOver = await h.store.getJson<StoredClaim>(`${first}/claim.json`);
    assert.equal(takenOver.runId, runB);
    assert.notEqual((await h.store.stat(`${first}/claim.json`))?.etag, claimedByA.etag);
    const card = await h.store.getJson<{ createdAt: string; lineage: Record<string, string> }>(`${first}/card.json`);
    assert.deepEqual([card.lineage.runId, card.lineage.stage], [runB, 'register']);
    assert.equal(card.createdAt, takenOver.createdAt);
    const written = new Map((await h.store.list(`${first}/`)).map((info) => [info.key, info.lastModified.getTime()]));
    const takeoverMs = (written.get(`models/${other}/1/claim.json`) ?? NaN) - Date.parse(takenOver.createdAt);
    assert.ok(
      takeoverMs >= CLAIM_STALE_AFTER_MS,
      `run B took run A's claim over ${takeoverMs} ms after it began; another run's claim is taken over only after ` +
        `${CLAIM_STALE_AFTER_MS} ms unrenewed`,
    );

    // Run A's attempt timed out; with no retry left its run failed, and it registered nothing of its own.
    const resultA = await h.runs.result(runA);
    assert.equal(resultA.status, 'failed');
    assert.deepEqual(await listVersions(h.store, bucket, other), [1]);
    const logs = await listStageLogs(h.store, bucket, runB, 'register');
    const texts = await Promise.all(logs.map((log) => stageLogText(h.store, log)));
    assert.ok(
      texts.some((text) => text.includes(`registered registry://${other}@1 from`)),
      texts.join('\n---\n'),
    );
  },
);
