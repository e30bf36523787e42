/**
 * `fineflow dev up` / `dev status` end with a line about workers: the stack starts none, and a newcomer's first
 * `submit` waited with nothing said (newuser's first week).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DEV_STACK_POOLS, workersLine } from '../../../src/cli/commands/dev';

it('names the worker commands of the pools nobody polls', () => {
  assert.deepEqual(DEV_STACK_POOLS, ['control', 'cpu']);
  const none = workersLine({ pollers: new Map([['control', 0]]) });
  assert.match(
    none,
    /^Workers: none polls this stack; start `fineflow worker --pool control` and `fineflow worker --pool cpu`/,
  );
  assert.match(none, /other pool your pipelines name/);
  const some = workersLine({
    pollers: new Map([
      ['control', 1],
      ['cpu', 0],
    ]),
  });
  assert.match(some, /^Workers polling: control 1; none on cpu: start `fineflow worker --pool cpu` in shells/);
  assert.doesNotMatch(some, /--pool control/);
  assert.equal(
    workersLine({
      pollers: new Map([
        ['control', 1],
        ['cpu', 2],
      ]),
    }),
    'Workers polling: control 1, cpu 2',
  );
});

it('says it could not tell, and still names the commands, when Temporal gave no answer', () => {
  const line = workersLine({ error: 'deadline exceeded' });
  assert.match(
    line,
    /^Workers: could not ask Temporal who polls \(deadline exceeded\); start `fineflow worker --pool control`/,
  );
});
