/**
 * What scripts/test.sh preloads into every test file (`--import …/property-seed.mjs`) must reach the tests and
 * nothing else may break on it. 259eb5f preloaded a .ts file: node gives worker threads the same execArgv, a worker
 * thread cannot load .ts, and every test that started a Temporal worker (workflow code runs in a thread) failed in its
 * set-up. 626cfd6 made it .mjs, whose `import` configured fast-check's ESM build while the tests use its CommonJS
 * build, so the seed reached no test. Run without the preload (bare `node --test`), the seed check is skipped.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';

const preloaded = process.execArgv.some((arg) => arg.includes('property-seed'));

void it('the property seed scripts/test.sh preloads is the one fast-check uses in a test file', (t) => {
  if (!preloaded) {
    t.skip('not run through scripts/test.sh (no property-seed preload)');
    return;
  }
  const raw = process.env.FINEFLOW_PROPERTY_SEED?.trim();
  const expected = raw === 'random' ? undefined : raw ? Number(raw) : 20261206;
  assert.equal(fc.readConfigureGlobal().seed, expected, `execArgv: ${process.execArgv.join(' ')}`);
});

void it('a worker thread starts under the preloads the test runner was given', async (t) => {
  // A thread from a file, as the Temporal SDK starts its workflow threads (eval'd threads skip the preloads).
  const dir = mkdtempSync(path.join(tmpdir(), 'ff-worker-thread-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'thread.cjs');
  writeFileSync(file, 'require("node:worker_threads").parentPort.postMessage("up");\n');
  const worker = new Worker(file);
  const messages: unknown[] = [];
  worker.on('message', (message) => messages.push(message));
  // once() rejects with the thread's error (e.g. ERR_UNKNOWN_FILE_EXTENSION for a .ts preload).
  const [code] = (await once(worker, 'exit')) as [number];
  assert.deepEqual({ code, messages }, { code: 0, messages: ['up'] }, `execArgv: ${process.execArgv.join(' ')}`);
});
