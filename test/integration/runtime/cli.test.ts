/**
 * The run commands as a user types them: `fineflow worker` processes, then submit (with
 * validation in the CLI), --watch, status, runs, logs, retry and cancel, against the real stack.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RunState } from '../../../src/core/run/run-types';
import type { RunSummary } from '../../../src/client/run-client';
import { randomSuffix } from '../../fixtures/runtime/harness';
import { requireStack } from '../../helpers/stack';
import { spawnWorker, type WorkerProcess } from '../../fixtures/runtime/worker-process';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '../../..');
const suffix = randomSuffix();
const pools = { control: `control-${suffix}`, cpu: `cpu-${suffix}` };
const stageModule = path.join(REPO, 'test/stage-types/index.ts');
let dir: string;
const workers: WorkerProcess[] = [];

async function fineflow(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(REPO, 'bin/fineflow.js'), ...args], {
      cwd: REPO,
      env: process.env,
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const submitArgs = ['--stage-module', stageModule, '--control-pool', pools.control];
const pipelineName = `cli-${suffix}`;

function pipeline(name: string, stages: string, params = ''): string {
  return [
    'apiVersion: fineflow/v1',
    'kind: Pipeline',
    `metadata: {name: ${name}}`,
    params ? `params:\n${params}` : '',
    'defaults:',
    `  pool: ${pools.cpu}`,
    '  retry: {maxAttempts: 1}',
    '  cache: false',
    'stages:',
    stages,
  ].join('\n');
}

before(async () => {
  await requireStack();
  dir = await mkdtemp(path.join(tmpdir(), 'fineflow-cli-'));
  workers.push(
    ...(await Promise.all([
      spawnWorker({ pool: pools.control, workflows: true }),
      spawnWorker({ pool: pools.cpu, concurrency: 4 }),
    ])),
  );
});
after(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGTERM')));
  await rm(dir, { recursive: true, force: true });
});

test('submit refuses an invalid pipeline with diagnostics and starts nothing', async () => {
  const file = path.join(dir, 'bad.yaml');
  await writeFile(file, pipeline(`${pipelineName}-bad`, '  a:\n    uses: test-echo\n    needz: [b]\n'));
  const result = await fineflow('submit', file, ...submitArgs);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /bad\.yaml:\d+:\d+: error\[/);
  assert.match(result.stderr, /nothing submitted/);
  const listed = await fineflow('runs', '--pipeline', `${pipelineName}-bad`, '--json');
  assert.deepEqual(JSON.parse(listed.stdout), []);
});

test('submit --watch follows a run to success; status, runs and logs show it', async () => {
  const file = path.join(dir, 'ok.yaml');
  const stages = [
    '  hello:',
    '    uses: test-echo',
    '    with: {value: "${{ params.greeting }}", sleepMs: 600, steps: 2}',
    '  shout:',
    '    uses: test-echo',
    '    with: {value: "${{ stages.hello.outputs.value }}!"}',
  ].join('\n');
  await writeFile(file, pipeline(pipelineName, stages, '  greeting: hello'));
  const submitted = await fineflow('submit', file, '--set', 'greeting=hi', '--watch', ...submitArgs);
  assert.equal(submitted.code, 0, submitted.stderr + submitted.stdout);
  const runId = /started run (\S+)/.exec(submitted.stdout)?.[1];
  assert.ok(runId, submitted.stdout);
  assert.match(submitted.stdout, /hello running/);
  assert.match(submitted.stdout, /shout succeeded/);
  assert.match(submitted.stdout, /run succeeded/);

  const status = await fineflow('status', runId, '--json');
  assert.equal(status.code, 0, status.stderr);
  const state = JSON.parse(status.stdout) as RunState;
  assert.equal(state.status, 'succeeded');
  assert.equal(state.stages.find((s) => s.id === 'shout')?.outputs?.value, 'hi!');
  assert.equal(state.params.greeting, 'hi');

  const table = await fineflow('status', runId);
  assert.match(table.stdout, new RegExp(`run ${runId}  pipeline ${pipelineName}  SUCCEEDED`));
  assert.match(table.stdout, /✓ shout/);

  const runs = await fineflow('runs', '--pipeline', pipelineName, '--status', 'succeeded', '--json');
  assert.ok(
    (JSON.parse(runs.stdout) as RunSummary[]).some((r) => r.runId === runId && r.status === 'succeeded'),
    runs.stdout,
  );

  const logs = await fineflow('logs', runId, '--stage', 'hello');
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /==> hello attempt 1 <==/);
  assert.match(logs.stdout, /sleeping 600 ms in 2 steps/);
  assert.doesNotMatch(logs.stdout, /shout/);

  // A mistyped stage is an error naming the run's stages, not "no logs … yet" with exit 0.
  for (const args of [['--stage', 'helo'], ['helo']]) {
    const typo = await fineflow('logs', runId, ...args);
    assert.equal(typo.code, 1, typo.stderr);
    assert.match(typo.stderr, /has no stage helo; did you mean hello\? \(stages: hello, shout\)/);
  }

  // report reads the bucket, where a mistyped stage looks like a stage without a report: it asks Temporal for the
  // run's stages, as logs does. A stage the run has keeps the "no report" message.
  const noStage = await fineflow('report', runId, 'helo');
  assert.equal(noStage.code, 1, noStage.stderr);
  assert.match(
    noStage.stderr,
    new RegExp(
      `run ${runId} \\(pipeline ${pipelineName}\\) has no stage helo; did you mean hello\\? \\(stages: hello, shout\\)`,
    ),
  );
  assert.doesNotMatch(noStage.stderr, /no report|^\s+at /m);
  const noReport = await fineflow('report', runId, 'shout');
  assert.equal(noReport.code, 1, noReport.stderr);
  assert.match(noReport.stderr, new RegExp(`run ${runId} has no report for stage shout .*evaluate stages write one`));
});

test('retry --set resumes a paused run; a bad retry is refused with exit 1', async () => {
  const file = path.join(dir, 'pause.yaml');
  const stages = [
    '  check:',
    '    uses: test-fail-until-param',
    '    onFailure: pause',
    '    with: {value: "${{ params.level }}", expected: 2}',
  ].join('\n');
  await writeFile(file, pipeline(`${pipelineName}-pause`, stages, '  level: 1'));
  const submitted = await fineflow('submit', file, '--json', ...submitArgs);
  assert.equal(submitted.code, 0, submitted.stderr);
  const { runId } = JSON.parse(submitted.stdout) as { runId: string };
  const watched = await fineflow('status', runId, '--watch');
  assert.equal(watched.code, 1, 'a waiting run is not a success');
  assert.match(watched.stderr, /is waiting: stage check failed/);
  const refused = await fineflow('retry', runId, '--set', 'level=two');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /params\.level: param `level` is a number, and "two" is not; write e.g. --set level=1/);
  const retried = await fineflow('retry', runId, '--set', 'level=2');
  assert.equal(retried.code, 0, retried.stderr);
  assert.match(retried.stdout, /retrying check/);
  const done = await fineflow('status', runId, '--watch', '--json');
  assert.equal(done.code, 0, done.stdout);
  assert.equal((JSON.parse(done.stdout) as RunState).stages[0]?.attempts, 2);
});

test('a run waiting on a literal of the file: status and status --watch say fix the file, not retry', async () => {
  const file = path.join(dir, 'literal.yaml');
  const stages = [
    '  check:',
    '    uses: test-fail-until-param',
    '    onFailure: pause',
    '    with: {value: 1, expected: 2}',
  ].join('\n');
  await writeFile(file, pipeline(`${pipelineName}-literal`, stages, '  level: 1'));
  const submitted = await fineflow('submit', file, '--json', ...submitArgs);
  assert.equal(submitted.code, 0, submitted.stderr);
  const { runId } = JSON.parse(submitted.stdout) as { runId: string };
  const watched = await fineflow('status', runId, '--watch');
  assert.equal(watched.code, 1, 'a waiting run is not a success');
  const once = await fineflow('status', runId);
  assert.equal(once.code, 0, once.stderr);
  for (const { stderr } of [watched, once]) {
    assert.match(stderr, /is waiting: stage check failed\. .*takes no param/);
    assert.match(stderr, /fix check \(line \d+\) in .*literal\.yaml, `fineflow cancel /);
    assert.doesNotMatch(stderr, /fineflow retry /);
  }
  assert.equal((await fineflow('cancel', runId)).code, 0);
});

test('cancel --wait ends a running run cancelled; status and report name an unknown run', async () => {
  const file = path.join(dir, 'long.yaml');
  await writeFile(
    file,
    pipeline(
      `${pipelineName}-long`,
      ['  long:', '    uses: test-echo', '    heartbeatTimeout: 5s', '    with: {sleepMs: 60000, steps: 60}'].join(
        '\n',
      ),
    ),
  );
  const submitted = await fineflow('submit', file, ...submitArgs);
  const runId = submitted.stdout.trim();
  assert.match(runId, new RegExp(`^${pipelineName}-long-`));
  const cancelled = await fineflow('cancel', runId, '--wait');
  assert.equal(cancelled.code, 0, cancelled.stderr);
  assert.match(cancelled.stdout, /cancelled/);
  const unknown = await fineflow('status', 'no-such-run-123');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no run no-such-run-123/);
  // report reads the bucket, where a missing run looks like a run without a report: it asks Temporal, as status does.
  const noReport = await fineflow('report', 'no-such-run-123');
  assert.equal(noReport.code, unknown.code);
  assert.match(noReport.stderr, /no run no-such-run-123; list runs with `fineflow runs`/);
});
