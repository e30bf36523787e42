/**
 * What a trigger of a pipeline starts, in one rule for the UI's confirmation and `fineflow schedule trigger`
 * (src/core/schedules/watch-look.ts triggerReach): a watcher whose last look found nothing starts no run; the CLI said
 * it had asked it "to run the version its prefix holds now".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { watcherTriggerText } from '../../../src/cli/commands/schedule';
import { triggerReach } from '../../../src/core/schedules/watch-look';

const EMPTY = { path: 's3://datasets/not-pushed-yet/', lastObservation: { count: 0 } };
const HELD = { path: 's3://datasets/mnist/', lastObservation: { count: 12, fingerprint: 'a'.repeat(64) } };

test('a schedule starts one run; watchers run what their prefix holds; an empty prefix starts nothing', () => {
  assert.deepEqual(triggerReach('p', true, [EMPTY]), {
    lines: ['Starts one run of the schedule’s plan now; the schedule’s overlap policy applies.'],
    emptyPaths: [],
    startsNothing: false,
  });
  assert.deepEqual(triggerReach('p', false, [EMPTY]), {
    lines: [
      'Nothing was under s3://datasets/not-pushed-yet/ at the last look: no run starts there until data arrives.',
    ],
    emptyPaths: ['s3://datasets/not-pushed-yet/'],
    startsNothing: true,
  });
  const both = triggerReach('p', false, [HELD, EMPTY]);
  assert.equal(both.startsNothing, false);
  assert.deepEqual(both.lines, [
    'Each data watcher of p runs the dataset version its prefix holds now: s3://datasets/mnist/.',
    'Nothing was under s3://datasets/not-pushed-yet/ at the last look: no run starts there until data arrives.',
  ]);
  // A fingerprint of null (the page's JSON) is no version either.
  assert.equal(
    triggerReach('p', false, [{ path: 'x', lastObservation: { count: 3, fingerprint: null } }]).startsNothing,
    true,
  );
  // No look yet, or a status that could not be read: it looks again when triggered, so it is not said to start nothing.
  assert.equal(triggerReach('p', false, [{ path: 'fineflow-watch-p-1' }]).startsNothing, false);
});

test('the CLI prints the same sentences after asking the watchers', () => {
  const text = watcherTriggerText('p', ['fineflow-watch-p-1'], triggerReach('p', false, [EMPTY]));
  assert.equal(
    text,
    'asked 1 data watcher(s) of p: fineflow-watch-p-1\n' +
      'Nothing was under s3://datasets/not-pushed-yet/ at the last look: no run starts there until data arrives.\n' +
      '(see `fineflow schedule describe p`)\n',
  );
  assert.doesNotMatch(text, /to run the version/);
});
