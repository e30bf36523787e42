// The test log's reporter (scripts/test.sh, and scripts/test-prod.sh for CI's prod step): node's `spec`, minus the
// start-up notices TensorFlow prints in every test process that loads it, which say nothing about a test: tfjs's
// pure-JS backend's "Hi, looks like you are running TensorFlow.js in Node.js" banner (4 lines, on its first tensor),
// libtensorflow's two lines written before its logging starts (absl's "All log messages before absl::InitializeLog()",
// port.cc's oneDNN notice; only TF_ENABLE_ONEDNN_OPTS=0 stops them, and it changes the arithmetic) and, in a test that
// loads the binding without Fineflow's TF_CPP_MIN_LOG_LEVEL default, its two CPU-instruction lines. Users keep seeing
// what they saw: this filters the test log only. A line is dropped only when it is one of those lines whole, so an
// error (any other line, also one that quotes a notice) is printed as before; the summary says how many lines were left
// out.
// Checked by test/unit/scripts/quiet-spec-reporter.test.ts.
import { Readable } from 'node:stream';
import { spec as SpecReporter } from 'node:test/reporters';

const RULE = '============================\n';
const BANNER =
  'Hi, looks like you are running TensorFlow.js in Node.js. To speed things up dramatically, install our node ' +
  'backend, visit https://github.com/tensorflow/tfjs-node for more details. \n';
/** libtensorflow's start-up lines; the port.cc and cpu_feature_guard.cc lines carry a time stamp and a thread id. */
const NATIVE_START_UP = [
  /^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR\n$/,
  /^I\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on\. You may see slightly different numerical results due to floating-point round-off errors from different computation orders\. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`\.\n$/,
  /^I\d{4} [\d:.]+ +\d+ cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations\.\n$/,
  /^To enable the following instructions: [A-Z0-9_ ]+, in other operations, rebuild TensorFlow with the appropriate compiler flags\.\n$/,
];

/**
 * The events of `source` without the start-up notices' stderr lines. The banner's lines ("\n", rule, text, rule)
 * arrive one event each: its opening lines are held until the next stderr line of the same file shows whether the
 * banner follows, and let through before any other event.
 */
export async function* withoutStartUpNotices(source, left = { lines: 0 }) {
  const held = new Map(); // file → the stderr events that may open a banner
  const closing = new Set(); // files whose next stderr line may be the banner's closing rule
  const release = function* (file) {
    for (const event of held.get(file) ?? []) yield event;
    held.delete(file);
  };
  for await (const event of source) {
    if (event.type !== 'test:stderr') {
      for (const file of [...held.keys()]) yield* release(file);
      closing.clear();
      yield event;
      continue;
    }
    const { file, message } = event.data;
    const opening = held.get(file) ?? [];
    if (closing.delete(file) && message === RULE) {
      left.lines += 1;
    } else if (message === BANNER && opening.length > 0) {
      left.lines += opening.length + 1;
      held.delete(file);
      closing.add(file);
    } else if (NATIVE_START_UP.some((line) => line.test(message))) {
      left.lines += 1;
    } else if ((message === '\n' && opening.length === 0) || (message === RULE && opening.length <= 1)) {
      held.set(file, [...opening, event]);
    } else {
      yield* release(file);
      yield event;
    }
  }
  for (const file of [...held.keys()]) yield* release(file);
}

export default async function* quietSpecReporter(source) {
  const left = { lines: 0 };
  yield* Readable.from(withoutStartUpNotices(source, left)).pipe(new SpecReporter());
  if (left.lines > 0) yield `ℹ TensorFlow start-up notices left out of this log: ${left.lines} lines\n`;
}
