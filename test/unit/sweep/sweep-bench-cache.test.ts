import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BENCH_OBJECTIVES, movedObjective, type BenchObjective } from '../../../bench/sweep/objectives';
import { readCurveCache, TrialEvaluator } from '../../../bench/sweep/trial-evaluator';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';

const root = mkdtempSync(path.join(os.tmpdir(), 'fineflow-sweep-cache-'));
after(() => rmSync(root, { recursive: true, force: true }));

void describe('sweep bench curve cache', () => {
  void it('records each epoch’s validation loss beside the accuracy, and a later evaluator trains nothing', async () => {
    // The real tabular objective, with a 3-epoch budget so the test trains for well under a second.
    const tabular = BENCH_OBJECTIVES.find((objective) => objective.id === 'tabular-mlp') as BenchObjective;
    const objective: BenchObjective = { ...tabular, epochsPerTrial: 3 };
    const store = createMemoryObjectStore({ buckets: ['bench'] });
    const prepared = await objective.prepare(store, 'tabular');
    const cacheFile = path.join(root, 'curves.jsonl');
    const params = { learningRate: 0.01, batchSize: 16, dropout: 0.2, l2: 1e-4 };

    const first = new TrialEvaluator(objective, prepared, store, cacheFile);
    const accuracy = await first.valueAt(params, 7, 2);
    assert.equal(first.stats.trials, 1);

    const [line, ...rest] = readCurveCache(cacheFile);
    assert.equal(rest.length, 0);
    assert.ok(line);
    assert.equal(line.curve.length, 3);
    assert.equal(line.curve[1], accuracy);
    assert.equal(line.validationLoss?.length, 3);
    for (const loss of line.validationLoss ?? []) assert.ok(typeof loss === 'number' && loss > 0, String(loss));

    const later = new TrialEvaluator(objective, prepared, store, cacheFile);
    assert.equal(await later.valueAt(params, 7, 2), accuracy);
    assert.equal(later.stats.trials, 0, 'served from the cache');
  });

  void it('reads lines written before the loss was recorded, and names file and line of a bad one', () => {
    const file = path.join(root, 'old.jsonl');
    writeFileSync(file, `${JSON.stringify({ key: 'k', curve: [0.5, 0.6] })}\n\n`);
    assert.deepEqual(readCurveCache(file), [{ key: 'k', curve: [0.5, 0.6] }]);

    writeFileSync(
      file,
      `${readFileSync(file, 'utf8')}${JSON.stringify({ key: 'k2', curve: [0.5], validationLoss: [1, 2] })}\n`,
    );
    assert.throws(() => readCurveCache(file), new RegExp(`${file.replace(/[.]/g, '\\.')}:3: "validationLoss" must be`));

    writeFileSync(file, '{"key":\n');
    assert.throws(() => readCurveCache(file), /old\.jsonl:1: not JSON .*delete the line/);
    writeFileSync(file, '{"key":"k","curve":"0.5"}\n');
    assert.throws(() => readCurveCache(file), /old\.jsonl:1: a curve line needs "key" \(string\) and "curve"/);
  });
});

void describe('sweep bench: data that moved (--scenario retrain-moved)', () => {
  const objectiveNamed = (id: string) => BENCH_OBJECTIVES.find((objective) => objective.id === id) as BenchObjective;

  /** Features and labels of the validation split the objective prepares, to compare data. */
  async function validationOf(objective: BenchObjective) {
    const store = createMemoryObjectStore({ buckets: ['bench'] });
    const prepared = await objective.prepare(store, 'x');
    const manifest = JSON.parse(new TextDecoder().decode(await store.getBytes(prepared.datasetUri))) as {
      splits: Record<string, unknown>;
    };
    return { manifest, objects: await store.list('s3://bench/x/') };
  }

  for (const id of ['defect-cnn', 'tabular-mlp', 'digits-categorical']) {
    void it(`${id}: the moved objective searches the same space on other data, under its own id and target`, async () => {
      const objective = objectiveNamed(id);
      const moved = movedObjective(objective);
      assert.ok(moved, 'has moved data');
      assert.equal(moved.id, `${id}-moved`);
      assert.equal(moved.moved, undefined);
      assert.deepEqual([moved.space, moved.epochsPerTrial, moved.version], [objective.space, 9, objective.version]);
      assert.ok(moved.target > 0 && moved.target < 1, `calibrated target, got ${moved.target}`);
      assert.notEqual(moved.description, objective.description);
      const [own, other] = await Promise.all([validationOf(objective), validationOf(moved)]);
      assert.equal(other.objects.length, own.objects.length);
      const sizes = (listing: typeof own) => listing.objects.map((object) => object.size);
      assert.deepEqual(sizes(other), sizes(own), 'the same shape of data');
      assert.notDeepEqual(other.manifest, own.manifest, 'other bytes (the manifest records their digests)');
    });
  }
});
