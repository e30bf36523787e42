/**
 * Mistakes a user makes at the command line, found by walking every command with wrong input against a real stack
 * (session 13): each error names what was wrong and the fix, exits non-zero, and prints no stack trace. These are the
 * cases the walk found short; each test failed on the code before its fix.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';
import { NamespaceNotFoundError } from '@temporalio/common';
import { EXIT } from '../../../src/cli/command';
import { reportError } from '../../../src/cli/main';
import { mapS3Error } from '../../../src/storage/minio-store';
import { compilePlan } from '../../../src/spec';
import { captureIo, runCli } from '../../helpers/cli';

/** What reportError prints for `error` under `env`, and the exit code. */
function reported(error: Error, env: Readonly<Record<string, string>> = {}) {
  const captured = captureIo(env, '/');
  const code = reportError(error, { label: 'runs', usage: '', json: false, io: captured.io });
  return { code, ...captured.output() };
}

void it('a namespace Temporal lacks: the variable and the fix (was only “Namespace not found”)', () => {
  const { code, stderr } = reported(new NamespaceNotFoundError('nope'), { TEMPORAL_ADDRESS: '127.0.0.1:7233' });
  assert.equal(code, EXIT.failure);
  assert.match(stderr, /^fineflow runs: Temporal at 127\.0\.0\.1:7233 has no namespace 'nope' \(TEMPORAL_NAMESPACE\)/);
  assert.match(stderr, /set TEMPORAL_NAMESPACE to one of its namespaces .*`temporal operator namespace create/);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
});

void it('an unreachable object store names the endpoint that was tried, without credentials in it', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  const error = mapS3Error(refused, 's3://fineflow/models/', 'list');
  const { code, stderr } = reported(error, { FINEFLOW_S3_ENDPOINT: 'http://admin:hunter22@127.0.0.1:1' });
  assert.equal(code, EXIT.unavailable);
  assert.match(stderr, /object store unavailable \(ECONNREFUSED\)\n/);
  assert.match(stderr, /MinIO \/ S3 at http:\/\/127\.0\.0\.1:1 \(FINEFLOW_S3_ENDPOINT\) did not answer/);
  assert.doesNotMatch(stderr, /hunter22|admin/);
  // Unset: the default endpoint is the one tried.
  assert.match(reported(error).stderr, /at http:\/\/127\.0\.0\.1:9000 \(FINEFLOW_S3_ENDPOINT\)/);
});

const PIPELINE = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: long-set}
params:
  label: {type: string, default: a}
  rate: {type: number, default: 0.5}
stages:
  only: {uses: command, with: {run: [echo, "\${{ params.label }}"]}}
`;

void it('a --set value of any length is quoted back cut to 80 characters (was echoed whole)', () => {
  const long = 'y'.repeat(5000);
  for (const set of [`label=${long}`, `rate=${long}`, `nosuch=${long}`, `${long}`]) {
    const diagnostics = compilePlan(PIPELINE, 'long-set.yaml', { set: [set] }).diagnostics.filter(
      (diagnostic) => diagnostic.file === '--set',
    );
    assert.ok(diagnostics.length > 0, set.slice(0, 20));
    for (const diagnostic of diagnostics) {
      const text = `${diagnostic.path} ${diagnostic.message} ${diagnostic.hint ?? ''}`;
      assert.ok(text.length < 600, `${diagnostic.code}: ${text.length} characters`);
      assert.ok(text.includes('y'.repeat(80)) && text.includes('…'), `${diagnostic.code} names the value, cut`);
    }
  }
});

void it('models export --format onnx names onnx and the formats it writes (was “needs --format”)', async () => {
  const argv = ['models', 'export', 'digits@1', '--format', 'onnx', '--output', '/nonexistent/out'];
  const { code, stderr } = await runCli(argv, { env: {}, exactEnv: true, cwd: '/' });
  assert.equal(code, EXIT.usage);
  assert.match(
    stderr,
    /^fineflow models export: --format "onnx" is not an export format: use tfjs, keras, savedmodel\n/,
  );
  assert.doesNotMatch(stderr, /\n\s+at /);
});

void it('runs --pipeline with a name no pipeline can have is refused with the rule (was “no runs”, exit 0)', async () => {
  // Port 1: if the name were not refused first, the command would go on to Temporal and fail there (exit 3).
  const options = { env: { TEMPORAL_ADDRESS: '127.0.0.1:1', FINEFLOW_CODEC: 'off' }, exactEnv: true, cwd: '/' };
  for (const name of ['a b', 'Quickstart', "x'y", 'a'.repeat(64)]) {
    const { code, stderr } = await runCli(['runs', '--pipeline', name], options);
    assert.equal(code, EXIT.usage, name);
    assert.match(stderr, /^fineflow runs: --pipeline ".*" is not a pipeline name \(metadata\.name: lower-case letters/);
    assert.match(stderr, /e\.g\. --pipeline defect-detector/);
  }
  const long = await runCli(['runs', '--pipeline', 'x'.repeat(5_000)], options);
  assert.equal(long.code, EXIT.usage);
  assert.ok(long.stderr.split('\n')[0]!.length < 400, 'the value is quoted back cut');
});

void it('schedule pause/delete/… with a NAME no pipeline can have is refused with the rule (was a Temporal look-up)', async () => {
  // Port 1: if the name were not refused first, the command would go on to Temporal and fail there (exit 3).
  const options = { env: { TEMPORAL_ADDRESS: '127.0.0.1:1', FINEFLOW_CODEC: 'off' }, exactEnv: true, cwd: '/' };
  for (const sub of ['describe', 'pause', 'unpause', 'trigger', 'delete'])
    for (const name of ['Bad_Name', 'a b', 'x.y', 'a'.repeat(64)]) {
      const { code, stderr } = await runCli(['schedule', sub, name], options);
      assert.equal(code, EXIT.usage, `${sub} ${name}`);
      assert.match(
        stderr,
        /^fineflow schedule \w+: NAME ".*" is not a pipeline name \(metadata\.name: lower-case letters/,
      );
      assert.match(stderr, new RegExp(`so no schedule has it: .* e\\.g\\. fineflow schedule ${sub} defect-detector`));
    }
  const long = await runCli(['schedule', 'pause', 'x'.repeat(5_000)], options);
  assert.equal(long.code, EXIT.usage);
  assert.ok(long.stderr.split('\n')[0]!.length < 400, 'the value is quoted back cut');
  // A name that can be a pipeline's still goes on to Temporal (here: refused, exit 3).
  assert.equal((await runCli(['schedule', 'pause', 'defect-detector'], options)).code, EXIT.unavailable);
});

void it('worker --pool given as a task queue (fineflow-cpu) warns and names the pool meant (was silent)', () => {
  const bin = path.resolve(__dirname, '../../../bin/fineflow.js');
  // The store on port 1 refuses at once, so the worker stops right after its start-up warnings (exit 3).
  const env = { ...process.env, FINEFLOW_CODEC: 'off', FINEFLOW_S3_ENDPOINT: 'http://127.0.0.1:1' };
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'worker', ...args], { env, encoding: 'utf8' });
  const text = run('--pool', 'fineflow-cpu');
  assert.equal(text.status, EXIT.unavailable, text.stderr);
  assert.match(
    text.stderr,
    /^fineflow worker: --pool fineflow-cpu polls task queue fineflow-fineflow-cpu, .* for the stages of pool cpu \(task queue fineflow-cpu\), run `fineflow worker --pool cpu`$/m,
  );
  const json = run('--pool', 'fineflow-cpu', '--json');
  const event = json.stdout.split('\n').find((line) => line.includes('"event":"warning"')) ?? '{}';
  assert.match((JSON.parse(event) as { message?: string }).message ?? '', /run `fineflow worker --pool cpu`/);
  assert.doesNotMatch(run('--pool', 'cpu').stderr, /polls task queue/, 'a pool name is not warned about');
});
