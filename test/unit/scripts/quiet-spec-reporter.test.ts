/**
 * The test log's reporter (test/helpers/quiet-spec-reporter.mjs, scripts/test.sh) leaves out TensorFlow's start-up
 * notices and nothing else: a real test file that loads the pure-JS tfjs backend and libtensorflow, run under node's
 * `spec` reporter, prints the tfjs banner and libtensorflow's pre-logging lines; under the quiet reporter those lines
 * are gone (and, with TF_CPP_MIN_LOG_LEVEL=0, its oneDNN and CPU-instruction lines where the CPU prints them), while the file's own stderr lines (an error, a line quoting the banner, a lone rule) and its results are
 * printed as before. When a tfjs upgrade rewords a notice, the first test fails rather than the log growing again.
 * Every script that runs node's test runner (scripts/test.sh, CI's prod step scripts/test-prod.sh) reports through it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { nativeLoadFailure } from '../../helpers/tf-process';

const REPO = path.resolve(__dirname, '../../..');
const QUIET = path.join(REPO, 'test/helpers/quiet-spec-reporter.mjs');
const BANNER = /Hi, looks like you are running TensorFlow\.js in Node\.js/;
const ABSL = /All log messages before absl::InitializeLog\(\) is called/;
const ONEDNN = /port\.cc:\d+\] oneDNN custom operations are on/;
const CPU_FEATURES = /cpu_feature_guard\.cc:\d+\] This TensorFlow binary|^To enable the following instructions/m;
/**
 * Which of libtensorflow's notices print depends on the CPU: oneDNN's only where TensorFlow turns oneDNN on (CPUs
 * with AVX-512 and the like), cpu_feature_guard's two lines only where the CPU has instructions the binary was not
 * built for. absl's line prints wherever the native binding loads. Counted in node's own output, per machine.
 */
const NATIVE_NOTICE_LINES = [
  ABSL,
  ONEDNN,
  /cpu_feature_guard\.cc:\d+\] This TensorFlow binary/,
  /^To enable the following instructions/,
];
const nativeNoticeLines = (log: string): number =>
  log.split('\n').filter((line) => NATIVE_NOTICE_LINES.some((notice) => notice.test(line))).length;
const native = nativeLoadFailure() === undefined;

let dir: string;
let file: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ff-quiet-reporter-'));
  file = path.join(dir, 'notices.test.cjs');
  writeFileSync(
    file,
    `const { test } = require('node:test');
test('a test that loads TensorFlow and writes its own stderr', () => {
  const tf = require(${JSON.stringify(require.resolve('@tensorflow/tfjs'))});
  tf.setBackend('cpu');
  tf.tensor([1, 2]).dispose();
  ${native ? `require(${JSON.stringify(require.resolve('@tensorflow/tfjs-node'))});` : ''}
  process.stderr.write('Error: the stage lost its data\\n');
  process.stderr.write('quoted: Hi, looks like you are running TensorFlow.js in Node.js\\n');
  process.stderr.write('============================\\n');
});
`,
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

function runWith(reporter: string): { status: number | null; log: string } {
  const child = spawnSync(process.execPath, ['--test', `--test-reporter=${reporter}`, file], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '0', NODE_TEST_CONTEXT: undefined },
  });
  return { status: child.status, log: child.stdout + child.stderr };
}

it("node's spec reporter shows the notices the quiet reporter is there to leave out", () => {
  const { status, log } = runWith('spec');
  assert.equal(status, 0, log);
  assert.match(log, BANNER);
  if (native) {
    assert.match(log, ABSL);
    // At least absl's line; oneDNN's and the CPU-instruction lines where this CPU prints them.
    assert.ok(nativeNoticeLines(log) >= 1, log);
  }
});

it('the quiet reporter leaves out exactly those lines, says how many, and prints every other line', () => {
  const spec = runWith('spec');
  const quiet = runWith(QUIET);
  assert.equal(quiet.status, 0, quiet.log);
  assert.doesNotMatch(quiet.log, /^Hi, looks like/m);
  assert.doesNotMatch(quiet.log, ABSL);
  assert.doesNotMatch(quiet.log, ONEDNN);
  assert.doesNotMatch(quiet.log, CPU_FEATURES);
  const left = 4 + (native ? nativeNoticeLines(spec.log) : 0);
  assert.match(quiet.log, new RegExp(`TensorFlow start-up notices left out of this log: ${left} lines`));
  for (const line of [
    'Error: the stage lost its data',
    'quoted: Hi, looks like you are running TensorFlow.js in Node.js',
    '✔ a test that loads TensorFlow and writes its own stderr',
    'ℹ pass 1',
  ]) {
    assert.ok(quiet.log.includes(line), `kept: ${line}\n${quiet.log}`);
  }
  // The lone rule the file wrote itself is kept: only the banner's own rules go.
  const rules = (log: string) => log.split('\n').filter((line) => line === '============================').length;
  assert.equal(rules(quiet.log), rules(spec.log) - 2);
  assert.equal(rules(quiet.log), 1);
});

it("every script that runs node's test runner reports through the quiet reporter (CI's prod step included)", () => {
  const scripts = readdirSync(path.join(REPO, 'scripts')).filter((name) => name.endsWith('.sh'));
  // Each command as one line (continuations joined), then the ones that start node's test runner.
  const runners = scripts.flatMap((name) =>
    readFileSync(path.join(REPO, 'scripts', name), 'utf8')
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .filter((line) => /^\s*node\b.*\s--test\s/.test(line))
      .map((line) => ({ name, line })),
  );
  assert.deepEqual(
    [...new Set(runners.map((runner) => runner.name))].sort(),
    ['test-prod.sh', 'test.sh'],
    'the scripts that run tests',
  );
  for (const { name, line } of runners) {
    assert.match(
      line,
      /--test-reporter=\.\/test\/helpers\/quiet-spec-reporter\.mjs --test-reporter-destination=stdout/,
      name,
    );
    assert.doesNotMatch(line, /--test-reporter=spec\b/, name);
  }
});
