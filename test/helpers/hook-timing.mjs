// Loaded before each test file when FINEFLOW_TEST_TIMINGS=FILE (scripts/test.sh): times every `before` hook and
// appends {hookFile, hookMs} lines to FILE.hooks, so a run reports the sum of the files' set-up time (workers, stacks,
// bundles), which node 20 counts inside the first test's duration. Measurement only: the hook runs unchanged.
// Test files are TypeScript compiled to CommonJS by tsx; they call `before` through node:test's CommonJS exports
// object at call time, which is the object patched here.
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const out = process.env.FINEFLOW_TEST_TIMINGS;
if (out && isMainThread) {
  const nodeTest = createRequire(import.meta.url)('node:test');
  const original = nodeTest.before;
  const hookFile = process.argv[1] ?? '?';
  const timed = (fn) =>
    fn.length >= 2 // (context, done) callback hooks keep their arity
      ? fn
      : async function timedBefore(...args) {
          const started = performance.now();
          try {
            return await fn.apply(this, args);
          } finally {
            const hookMs = Math.round(performance.now() - started);
            appendFileSync(`${out}.hooks`, `${JSON.stringify({ hookFile, hookMs })}\n`);
          }
        };
  nodeTest.before = (fn, options) => original(typeof fn === 'function' ? timed(fn) : fn, options);
}
