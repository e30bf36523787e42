/**
 * A running `fineflow worker` that loses Temporal says so in one line (what it was doing, that it keeps retrying)
 * and, once Temporal answers again, in one more (how long it was gone), instead of the Temporal core's retry
 * warnings. The worker reaches the test stack's Temporal through a TCP proxy this test cuts and restores, so the
 * shared server stays up for every other test. Lines are awaited, never slept for.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { EXIT } from '../../../src/cli/command';
import { requireStack } from '../../helpers/stack';
import { randomSuffix } from '../../fixtures/runtime/harness';
import { spawnWorker, type WorkerProcess } from '../../fixtures/runtime/worker-process';
import { startTcpProxy, type TcpProxy } from '../../fixtures/runtime/tcp-proxy';

/**
 * The first stdout line of `worker` from now on matching `pattern`, parsed; rejects if the worker exits or `ms` pass
 * first. Reads the chunks itself (no readline: closing one would pause the stream the fixture reads too).
 */
function nextJsonLine(worker: WorkerProcess, pattern: RegExp, ms: number): Promise<Record<string, unknown>> {
  const stdout = worker.child.stdout!;
  return new Promise((resolve, reject) => {
    let pending = '';
    const done = (): void => {
      clearTimeout(timer);
      stdout.off('data', onData);
    };
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      const line = lines.find((text) => pattern.test(text));
      if (line === undefined) return;
      done();
      resolve(JSON.parse(line) as Record<string, unknown>);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no line matching ${pattern} in ${ms} ms:\n${worker.output()}`));
    }, ms);
    stdout.on('data', onData);
    void worker.exited.then((code) => {
      done();
      reject(new Error(`worker exited (${code}):\n${worker.output()}`));
    });
  });
}

let proxy: TcpProxy;
const workers: WorkerProcess[] = [];

before(async () => {
  const config = await requireStack();
  proxy = await startTcpProxy(config.temporal.address);
});

after(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await proxy?.close();
});

void it('a worker that loses Temporal says so once, and once more when it is back with how long (JSON)', async () => {
  const pool = `outage-${randomSuffix()}`;
  const worker = await spawnWorker({
    pool,
    env: { TEMPORAL_ADDRESS: proxy.address, FINEFLOW_LOG_FORMAT: 'json' },
  });
  workers.push(worker);
  // The core retries a few times before it warns: the line comes seconds after the cut, not at once.
  const lostLine = nextJsonLine(worker, /"event":"temporal-lost"/, 90_000);
  proxy.cut();
  const lost = await lostLine;
  assert.equal(lost.pool, pool);
  assert.equal(lost.address, proxy.address);
  assert.equal(lost.taskQueue, `fineflow-${pool}`);
  assert.equal(lost.runningStages, 0);
  assert.equal(lost.level, 'warn');
  assert.equal(typeof lost.reason, 'string');
  assert.match(
    String(lost.message),
    /^lost Temporal at .* while polling task queue fineflow-.*; retrying until it answers/,
  );

  const backLine = nextJsonLine(worker, /"event":"temporal-back"/, 90_000);
  proxy.restore();
  const back = await backLine;
  assert.equal(back.lostAt, lost.time);
  assert.ok(typeof back.downMs === 'number' && back.downMs >= 0, String(back.downMs));
  // As every duration reads (formatHumanDuration): `42 s`, `1m 5s`.
  const downFor = /([\d.]+ m?s|\d+[mhd]( \d+[smh])?)/.source;
  assert.match(String(back.message), new RegExp(`^Temporal at .* answers again after ${downFor} \\(lost at`));

  // The worker polls again: it stops as it should, and printed none of the core's retry warnings.
  assert.equal(await worker.stop(), 0);
  const output = worker.output();
  assert.doesNotMatch(output, /retried \d+ times|temporalio_client/, output);
  assert.equal(output.match(/"event":"temporal-lost"/g)?.length, 1, output);
});

/** `fineflow worker` run to its end; rejects if it has not ended within `ms` (it hung). */
function workerExit(
  env: Readonly<Record<string, string>>,
  ms: number,
): Promise<{ code: number | null; stderr: string }> {
  const bin = path.resolve(__dirname, '../../../bin/fineflow.js');
  const child = spawn(process.execPath, [bin, 'worker', '--pool', `outage-${randomSuffix()}`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker still running after ${ms} ms (hung on its failed start):\n${stderr}`));
    }, ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

void it('a worker that cannot start (no such namespace, nothing at the address) exits, 1 and 3', async () => {
  const namespace = await workerExit(
    { TEMPORAL_ADDRESS: proxy.address, TEMPORAL_NAMESPACE: `none-${randomSuffix()}` },
    60_000,
  );
  // As every command reports a namespace Temporal lacks: what to set, exit 1.
  assert.equal(namespace.code, EXIT.failure, namespace.stderr);
  assert.match(namespace.stderr, /no namespace 'none-/);
  const nothing = await workerExit({ TEMPORAL_ADDRESS: '127.0.0.1:1' }, 60_000);
  assert.equal(nothing.code, EXIT.unavailable, nothing.stderr);
});
