/**
 * The worker-process fixture leaves nothing running when a worker does not become ready: on the ready
 * timeout its process group is killed and gone before the promise rejects.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { spawnWorker, WorkerNotReadyError } from '../../fixtures/runtime/worker-process';

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

it('kills the worker and its process group when the ready timeout fires', { timeout: 60_000 }, async () => {
  // No Temporal answers on port 1, and a node process cannot be ready within 1 ms: the timeout fires first.
  const failure = await spawnWorker({
    pool: 'never-ready',
    readyTimeoutMs: 1,
    env: { TEMPORAL_ADDRESS: '127.0.0.1:1' },
  }).then(
    () => assert.fail('the worker cannot be ready'),
    (error: unknown) => error,
  );
  assert.ok(failure instanceof WorkerNotReadyError, String(failure));
  assert.match(failure.message, /worker not ready after 1 ms/);
  const { pid } = failure;
  try {
    assert.ok(pid > 0);
    assert.equal(running(pid), false, `worker ${pid} still runs`);
    assert.equal(running(-pid), false, `process group ${pid} still has members`);
  } finally {
    if (running(pid)) process.kill(pid, 'SIGKILL');
  }
});
