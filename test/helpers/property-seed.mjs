// Loaded before every test file (scripts/test.sh passes `--import`): property tests draw their
// inputs from one fixed seed, so `npm test` and CI check the same inputs on every run and a
// failure reproduces from the log alone. To explore other inputs, set FINEFLOW_PROPERTY_SEED to
// an integer (or `random`; fast-check then prints the seed it drew when a property fails).
// Plain JavaScript, not TypeScript: Temporal's workflow worker threads inherit node's `--import` flags, and a .ts
// preload there fails with ERR_UNKNOWN_FILE_EXTENSION (tsx's hooks are not registered yet in that thread).
import fc from 'fast-check';

const DEFAULT_SEED = 20261206;
const raw = process.env.FINEFLOW_PROPERTY_SEED?.trim();

if (raw !== 'random') {
  const seed = raw === undefined || raw === '' ? DEFAULT_SEED : Number(raw);
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`FINEFLOW_PROPERTY_SEED=${raw}: not an integer; use an integer such as 42, or "random"`);
  }
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}
