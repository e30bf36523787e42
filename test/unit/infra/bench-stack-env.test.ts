/** `npm run bench`'s stack takes its ports and state dir from FINEFLOW_BENCH_*, so two benches can run at once. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { benchStackEnv } from '../../../bench/bench-stack-env';

it('keeps the documented defaults when nothing is set', () => {
  const env = benchStackEnv({ PATH: '/bin' }, '/repo');
  assert.equal(env.PATH, '/bin');
  assert.equal(env.FINEFLOW_STACK_DIR, '/repo/.fineflow/bench-stack');
  assert.deepEqual(
    [
      env.FINEFLOW_TEMPORAL_PORT,
      env.FINEFLOW_TEMPORAL_UI_PORT,
      env.FINEFLOW_MINIO_PORT,
      env.FINEFLOW_MINIO_CONSOLE_PORT,
    ],
    ['7255', '8255', '9255', '9256'],
  );
  assert.equal(env.TEMPORAL_ADDRESS, '127.0.0.1:7255');
  assert.equal(env.FINEFLOW_S3_ENDPOINT, 'http://127.0.0.1:9255');
});

it('takes every port and the state dir from FINEFLOW_BENCH_*, and the client addresses follow', () => {
  const env = benchStackEnv(
    {
      FINEFLOW_BENCH_TEMPORAL_PORT: '11901',
      FINEFLOW_BENCH_TEMPORAL_UI_PORT: '11902',
      FINEFLOW_BENCH_MINIO_PORT: '11903',
      FINEFLOW_BENCH_MINIO_CONSOLE_PORT: '11904',
      FINEFLOW_BENCH_STACK_DIR: '/tmp/second-bench',
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
    },
    '/repo',
  );
  assert.equal(env.FINEFLOW_STACK_DIR, '/tmp/second-bench');
  assert.deepEqual(
    [
      env.FINEFLOW_TEMPORAL_PORT,
      env.FINEFLOW_TEMPORAL_UI_PORT,
      env.FINEFLOW_MINIO_PORT,
      env.FINEFLOW_MINIO_CONSOLE_PORT,
    ],
    ['11901', '11902', '11903', '11904'],
  );
  assert.equal(env.TEMPORAL_ADDRESS, '127.0.0.1:11901');
  assert.equal(env.FINEFLOW_S3_ENDPOINT, 'http://127.0.0.1:11903');
});

it('refuses a port that is not a port, naming the variable, and two equal ports', () => {
  assert.throws(
    () => benchStackEnv({ FINEFLOW_BENCH_MINIO_PORT: '9255x' }, '/repo'),
    /FINEFLOW_BENCH_MINIO_PORT=9255x: give a port number from 1 to 65535 \(default 9255\)/,
  );
  assert.throws(
    () => benchStackEnv({ FINEFLOW_BENCH_TEMPORAL_PORT: '70000' }, '/repo'),
    /FINEFLOW_BENCH_TEMPORAL_PORT/,
  );
  assert.throws(() => benchStackEnv({ FINEFLOW_BENCH_TEMPORAL_PORT: '9255' }, '/repo'), /port 9255 is given twice/);
});
