/**
 * scripts/test.sh runs the suite in two lanes, each its own node test run with its own summary, and ends the log with
 * both lanes' counts added up (test/helpers/lane-counts.mjs). The reporter half runs on a real node test run here, so a
 * Node.js upgrade that renames a summary line fails this test rather than dropping a lane's counts from the total.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';

const REPO = path.resolve(__dirname, '../../..');
const LANE_COUNTS = path.join(REPO, 'test/helpers/lane-counts.mjs');

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ff-lane-counts-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `source` as a test file under the counts reporter; returns the counts file's path. */
function laneRun(name: string, source: string): string {
  const file = path.join(dir, `${name}.test.cjs`);
  const counts = path.join(dir, `${name}.counts.json`);
  writeFileSync(file, source);
  spawnSync(
    process.execPath,
    ['--test', `--test-reporter=${LANE_COUNTS}`, `--test-reporter-destination=${counts}`, file],
    { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', NODE_TEST_CONTEXT: undefined } },
  );
  return counts;
}

function combine(...files: string[]): { status: number | null; lines: string[] } {
  const run = spawnSync(process.execPath, [LANE_COUNTS, '--since', String(Date.now() - 5000), ...files], {
    encoding: 'utf8',
  });
  return { status: run.status, lines: run.stdout.trim().split('\n') };
}

it("a lane's counts are its run's own summary: tests, suites, pass, fail, cancelled, skipped, todo", () => {
  const counts = laneRun(
    'one',
    `const { test, describe } = require('node:test');
describe('a suite', () => { test('passes', () => {}); test('skipped', { skip: true }, () => {}); });
test('fails', () => { throw new Error('no'); });
test('todo', { todo: true }, () => {});`,
  );
  const parsed = JSON.parse(readFileSync(counts, 'utf8')) as Record<string, unknown>;
  const { failures, unnamed, ...summary } = parsed;
  assert.deepEqual(
    { ...summary, duration_ms: 0 },
    { tests: 4, suites: 1, pass: 1, fail: 1, cancelled: 0, skipped: 1, todo: 1, duration_ms: 0 },
  );
  assert.deepEqual(failures, [{ name: 'fails', file: path.join(dir, 'one.test.cjs'), line: 3 }]);
  assert.equal(unnamed, 0);
});

it('the log ends with both lanes added up, the duration being the wall time, in the runner’s own form', () => {
  const first = laneRun('first', `require('node:test').test('a', () => {}); require('node:test').test('b', () => {});`);
  const second = laneRun('second', `require('node:test').test('c', () => { throw new Error('x'); });`);
  const { status, lines: all } = combine(first, second);
  assert.equal(status, 0);
  // Each lane's own list of failures is in the middle of the log: the end names every lane's.
  assert.deepEqual(all.slice(0, 2), [
    '✖ failing tests, every lane:',
    `✖ c (${path.relative(REPO, dir)}/second.test.cjs:1)`,
  ]);
  const lines = all.slice(2);
  assert.equal(lines[0], 'ℹ the 2 lanes together:');
  assert.deepEqual(lines.slice(1, 8), [
    'ℹ tests 3',
    'ℹ suites 0',
    'ℹ pass 2',
    'ℹ fail 1',
    'ℹ cancelled 0',
    'ℹ skipped 0',
    'ℹ todo 0',
  ]);
  const wall = Number(/^ℹ duration_ms (\d+)$/.exec(lines[8] ?? '')?.[1]);
  assert.ok(wall >= 5000 && wall < 600_000, `wall time since --since: ${lines[8]}`);
});

it('names a failing test once: not its suite, not the parent whose subtest failed; at most 50 a lane', () => {
  const nested = laneRun(
    'nested',
    `const { test, describe } = require('node:test');
describe('a suite', () => { test('fails inside', () => { throw new Error('a'); }); test('passes', () => {}); });
test('a parent', async (t) => { await t.test('its child fails', () => { throw new Error('b'); }); });
for (let i = 0; i < 52; i++) test('many ' + i, () => { throw new Error('c'); });`,
  );
  const { lines } = combine(nested);
  const named = lines.slice(1, lines.indexOf('ℹ the 1 lanes together:'));
  assert.equal(named.length, 51);
  assert.match(named[0] ?? '', /^✖ fails inside \(.*nested\.test\.cjs:2\)$/);
  assert.match(named[1] ?? '', /^✖ its child fails \(.*nested\.test\.cjs:3\)$/);
  assert.equal(named.at(-1), '✖ … and 4 more (the log above names them)');
  assert.ok(lines.includes('ℹ fail 55'), lines.join('\n'));
});

it('a lane stopped before its summary (failed checks, Ctrl-C) is named, and the total fails', () => {
  const first = laneRun('ran', `require('node:test').test('a', () => {});`);
  const { status, lines } = combine(first, path.join(dir, 'never-written.json'));
  assert.equal(status, 1);
  assert.equal(lines[0], 'ℹ the 2 lanes together (1 stopped before its summary):');
  assert.equal(lines[1], 'ℹ tests 1');
});
