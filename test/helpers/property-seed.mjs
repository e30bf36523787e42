// Loaded before every test file (scripts/test.sh passes `--import`): property tests draw their
// inputs from one fixed seed, so `npm test` and CI check the same inputs on every run and a
// failure reproduces from the log alone. To explore other inputs, set FINEFLOW_PROPERTY_SEED to
// an integer (or `random`; fast-check then prints the seed it drew when a property fails).
// Plain JavaScript, not TypeScript: Temporal's workflow worker threads inherit node's `--import` flags, and a .ts
// preload there fails with ERR_UNKNOWN_FILE_EXTENSION (tsx's hooks are not registered yet in that thread).
// The seed goes to fast-check's CommonJS build, the one the test files load (TypeScript through tsx, as CommonJS):
// `import` here alone would configure the ESM build, a second instance no test reads (its seed stayed undefined).
// Checked by test/unit/scripts/test-runner-preload.test.ts.
import { createRequire } from 'node:module';
import fcModule from 'fast-check';

const fcCommonJs = createRequire(import.meta.url)('fast-check');
const DEFAULT_SEED = 20261206;
const raw = process.env.FINEFLOW_PROPERTY_SEED?.trim();

if (raw !== 'random') {
  const seed = raw === undefined || raw === '' ? DEFAULT_SEED : Number(raw);
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`FINEFLOW_PROPERTY_SEED=${raw}: not an integer; use an integer such as 42, or "random"`);
  }
  for (const fc of new Set([fcCommonJs, fcModule])) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}
