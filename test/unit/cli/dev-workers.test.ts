/**
 * `fineflow dev up` / `dev status` end with a line about workers: the stack starts none, and a newcomer's first
 * `submit` waited with nothing said (newuser's first week). The line counts a worker of this machine only while its
 * process runs: right after the demo stopped its workers it said "Workers polling: control 1, cpu 1", because
 * Temporal lists a stopped worker's poller for 90 s.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DEV_STACK_POOLS, workersLine } from '../../../src/cli/commands/dev';
import { countPollers, pollerProcess, processAlive } from '../../../src/client/worker-presence';

const running = (count: number) => ({ running: count, seenRecently: 0 });

it('names the worker commands of the pools nobody polls', () => {
  assert.deepEqual(DEV_STACK_POOLS, ['control', 'cpu']);
  const none = workersLine({ pollers: new Map([['control', running(0)]]) });
  assert.match(
    none,
    /^Workers: none polls this stack; start `fineflow worker --pool control` and `fineflow worker --pool cpu`/,
  );
  assert.match(none, /other pool your pipelines name/);
  const some = workersLine({
    pollers: new Map([
      ['control', running(1)],
      ['cpu', running(0)],
    ]),
  });
  assert.match(some, /^Workers polling: control 1; none on cpu: start `fineflow worker --pool cpu` in shells/);
  assert.doesNotMatch(some, /--pool control/);
  assert.equal(
    workersLine({
      pollers: new Map([
        ['control', running(1)],
        ['cpu', running(2)],
      ]),
    }),
    'Workers polling: control 1, cpu 2',
  );
});

it('says which pollers only Temporal has seen, and cannot be checked', () => {
  assert.equal(
    workersLine({
      pollers: new Map([
        ['control', { running: 0, seenRecently: 1 }],
        ['cpu', { running: 2, seenRecently: 1 }],
      ]),
    }),
    'Workers polling: control 1 (seen by Temporal in the last 90 s, not a process of this machine, so it may have ' +
      'stopped), cpu 3 (1 of them seen by Temporal in the last 90 s, not a process of this machine, so it may ' +
      'have stopped)',
  );
});

it('counts a worker of this machine only while its pid runs; others as seen recently, each identity once', () => {
  assert.deepEqual(pollerProcess('cpu@host-a:4242 cpu=2,memory=4GiB'), { host: 'host-a', pid: 4242 });
  assert.deepEqual(pollerProcess('control@10.0.0.7:17'), { host: '10.0.0.7', pid: 17 });
  assert.equal(pollerProcess('my-own-identity'), undefined);
  const alive = new Set([100]);
  const counted = countPollers(
    [
      'cpu@here:100 cpu=2', // running
      'cpu@here:100 cpu=2', // the same worker on the workflow queue
      'cpu@here:200 cpu=2', // stopped: Temporal still lists it
      'cpu@there:100 cpu=2', // another machine
      'custom', // an identity of its own
    ],
    'here',
    (pid) => alive.has(pid),
  );
  assert.deepEqual(counted, { running: 1, seenRecently: 2 });
  assert.equal(processAlive(process.pid), true);
  assert.equal(processAlive(2 ** 22 + 12_345), false, 'above pid_max');
});

it('says it could not tell, and still names the commands, when Temporal gave no answer', () => {
  const line = workersLine({ error: 'deadline exceeded' });
  assert.match(
    line,
    /^Workers: could not ask Temporal who polls \(deadline exceeded\); start `fineflow worker --pool control`/,
  );
});
