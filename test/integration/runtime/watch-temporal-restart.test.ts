/**
 * `submit --watch` and `status --watch` across a Temporal restart: the test stack's Temporal
 * server is stopped mid-run (`infra/stack.sh down temporal`, which leaves MinIO up) and started
 * again (its previous log kept as temporal.log.1); both watches say Temporal is unreachable and that they retry (not that a control worker is
 * missing), reconnect, and end with the run's real outcome and exit code.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { RunState } from '../../../src/core/run/run-types';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';
import { registerTestStageTypes } from '../../stage-types';

const REPO = path.resolve(__dirname, '../../..');
const STACK = path.join(REPO, 'infra/stack.sh');
const stack = (...args: string[]): Promise<unknown> =>
  promisify(execFile)('bash', [STACK, ...args], { env: process.env });

let h: RuntimeHarness;
let dir: string;
const children: ChildProcess[] = [];
before(async () => {
  registerTestStageTypes();
  h = await startRuntimeHarness();
  dir = mkdtempSync(path.join(tmpdir(), 'fineflow-watch-'));
});
after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await stack('up', 'temporal');
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A CLI process whose output is collected; `waitFor` resolves when a stream has matched. */
function cli(args: readonly string[]): {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  waitFor: (stream: 'stdout' | 'stderr', pattern: RegExp) => Promise<void>;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [path.join(REPO, 'bin/fineflow.js'), ...args], {
    cwd: REPO,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const text = { stdout: '', stderr: '' };
  const waiters: { stream: 'stdout' | 'stderr'; pattern: RegExp; resolve: () => void }[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (const stream of ['stdout', 'stderr'] as const)
    child[stream]?.on('data', (chunk: Buffer) => {
      text[stream] += chunk.toString();
      for (const waiter of [...waiters])
        if (waiter.stream === stream && waiter.pattern.test(text[stream])) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
    });
  return {
    child,
    out: () => text.stdout,
    err: () => text.stderr,
    waitFor: (stream, pattern) =>
      pattern.test(text[stream])
        ? Promise.resolve()
        : Promise.race([
            new Promise<void>((resolve) => waiters.push({ stream, pattern, resolve })),
            new Promise<void>((_, reject) =>
              setTimeout(
                () =>
                  reject(new Error(`no ${pattern} from fineflow ${args[0]} in 120 s:\n${text.stdout}\n${text.stderr}`)),
                120_000,
              ).unref(),
            ),
            exited.then((code) => {
              throw new Error(
                `fineflow ${args[0]} exited (${code}) before ${stream} matched ${pattern}:\n${text.stdout}\n${text.stderr}`,
              );
            }),
          ]),
    exited,
  };
}

async function minioLive(): Promise<boolean> {
  const response = await fetch(`${process.env.FINEFLOW_S3_ENDPOINT}/minio/health/live`).catch(() => undefined);
  return response?.ok ?? false;
}

test(
  'submit --watch and status --watch ride out a Temporal restart and blame Temporal, not a worker',
  { timeout: 240_000 },
  async () => {
    const file = path.join(dir, 'restart.yaml');
    writeFileSync(
      file,
      `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: watch-restart}
defaults: {pool: ${h.pools.cpu}, cache: false}
stages:
  slow:
    uses: test-echo
    # A completion sent while Temporal is down is lost; the heartbeat timeout gets the stage retried
    # in seconds instead of after its 30 min start-to-close timeout.
    heartbeatTimeout: 10s
    with: {value: survived, sleepMs: 20000, steps: 20}
  after:
    uses: test-echo
    with: {value: "\${{ stages.slow.outputs.value }}"}
`,
    );
    const submit = cli([
      'submit',
      file,
      '--watch',
      '--control-pool',
      h.pools.control,
      '--stage-module',
      path.join(REPO, 'test/stage-types/index.ts'),
    ]);
    await submit.waitFor('stdout', /started run (\S+)/);
    const runId = /started run (\S+)/.exec(submit.out())?.[1] ?? '';
    await submit.waitFor('stdout', /slow running/);
    const status = cli(['status', runId, '--watch']);
    await status.waitFor('stdout', /slow running/);

    children.push(submit.child, status.child);
    // The stopped instance's log must survive the restart (it used to be truncated on every start).
    const temporalLog = path.join(process.env.FINEFLOW_STACK_DIR ?? '', 'temporal.log');
    const marker = `before-restart-${Date.now()}`;
    appendFileSync(temporalLog, `${marker}\n`);
    await stack('down', 'temporal');
    // Both watches notice, name Temporal and its address, and keep going.
    const address = process.env.TEMPORAL_ADDRESS ?? '';
    const unreachable = new RegExp(`Temporal at ${address.replace(/\./g, '\\.')} unreachable.*retrying in`);
    await Promise.all([submit.waitFor('stderr', unreachable), status.waitFor('stderr', unreachable)]);
    assert.ok(await minioLive(), '`infra/stack.sh down temporal` leaves MinIO running');
    await stack('up', 'temporal');
    assert.match(
      readFileSync(`${temporalLog}.1`, 'utf8'),
      new RegExp(marker),
      'the previous log is kept as temporal.log.1',
    );

    const [submitCode, statusCode] = await Promise.all([submit.exited, status.exited]);
    for (const [name, run, code] of [
      ['submit', submit, submitCode],
      ['status', status, statusCode],
    ] as const) {
      assert.equal(code, 0, `${name} --watch exits 0 for the succeeded run:\n${run.out()}\n${run.err()}`);
      assert.match(run.out(), /run succeeded/, name);
      assert.match(run.err(), /reconnected after [\d.]+ s; watching run/, name);
      assert.doesNotMatch(
        run.err(),
        /is a control worker running/,
        `${name} blames Temporal, not a missing control worker`,
      );
    }
    const state: RunState = await h.runs.state(runId);
    assert.equal(state.stages.find((s) => s.id === 'after')?.outputs?.value, 'survived');
  },
);
