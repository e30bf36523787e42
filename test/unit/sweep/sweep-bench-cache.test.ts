import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  conflictingKeys,
  CurveCacheFile,
  curveOfEachKey,
  formatConflict,
  readNumberedCurves,
  type CachedCurve,
} from '../../../bench/sweep/curve-cache';
import { BENCH_OBJECTIVES, movedObjective, type BenchObjective } from '../../../bench/sweep/objectives';
import { checkCurveCaches } from '../../../bench/sweep/real-bench';
import { BENCH_TRAIN_ENGINE, readCurveCache, TrialEvaluator } from '../../../bench/sweep/trial-evaluator';
import { skipWithoutGraph } from '../ml/helpers/graph-engine';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';

const root = mkdtempSync(path.join(os.tmpdir(), 'fineflow-sweep-cache-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The real tabular objective, with a 3-epoch budget so a trial trains in well under a second. */
async function smallTabular() {
  const tabular = BENCH_OBJECTIVES.find((objective) => objective.id === 'tabular-mlp') as BenchObjective;
  const objective: BenchObjective = { ...tabular, epochsPerTrial: 3 };
  const store = createMemoryObjectStore({ buckets: ['bench'] });
  const prepared = await objective.prepare(store, 'tabular');
  return { objective, store, prepared };
}

void describe('sweep bench curve cache', () => {
  void it('records each epoch’s validation loss beside the accuracy, and a later evaluator trains nothing', async (t) => {
    if (skipWithoutGraph(t)) return;
    const { objective, store, prepared } = await smallTabular();
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
    assert.equal(line.engine, 'graph', 'the line names the engine that trained it');

    const later = new TrialEvaluator(objective, prepared, store, cacheFile);
    assert.equal(await later.valueAt(params, 7, 2), accuracy);
    assert.equal(later.stats.trials, 0, 'served from the cache');
  });

  void it('an evaluator opened earlier uses a curve another bench process wrote since, and trains nothing', async (t) => {
    // Two bench processes on one cache: each read the file when it started, so both trained keys the other had
    // written meanwhile, and 17 tabular keys ended with two lines (one per training engine, so two curves).
    if (skipWithoutGraph(t)) return;
    const { objective, store, prepared } = await smallTabular();
    const cacheFile = path.join(root, 'shared.jsonl');
    const params = { learningRate: 0.03, batchSize: 8, dropout: 0.3, l2: 1e-3 };
    const early = new TrialEvaluator(objective, prepared, store, cacheFile);
    const other = new TrialEvaluator(objective, prepared, store, cacheFile);
    const accuracy = await other.valueAt(params, 103, 1);
    assert.equal(await early.valueAt(params, 103, 1), accuracy);
    assert.equal(early.stats.trials, 0, 'picked up the other process’s line');
    assert.equal(readCurveCache(cacheFile).length, 1, 'one line per key');
  });

  void it('a process that trained a key another one wrote meanwhile adopts that line and appends nothing', () => {
    const file = path.join(root, 'race.jsonl');
    const mine = new CurveCacheFile(file);
    const theirs = new CurveCacheFile(file);
    const first: CachedCurve = { key: 'k', curve: [0.8825, 0.84], engine: 'eager' };
    assert.deepEqual(theirs.record(first), first);
    const used = mine.record({ key: 'k', curve: [0.7775, 0.87], engine: 'graph' });
    assert.deepEqual(used, first);
    assert.deepEqual(mine.get('k'), first);
    assert.equal(readCurveCache(file).length, 1);
    // A longer curve for the key is still appended (a budget raised since), and then is the one used.
    const longer: CachedCurve = { key: 'k', curve: [0.8825, 0.84, 0.9] };
    assert.deepEqual(mine.record(longer), longer);
    theirs.refresh();
    assert.deepEqual(theirs.get('k'), longer);
  });

  void it('picks up lines appended since it last read, leaving a line still being written for later', () => {
    const file = path.join(root, 'growing.jsonl');
    writeFileSync(file, `${JSON.stringify({ key: 'a', curve: [0.5] })}\n`);
    const cache = new CurveCacheFile(file);
    appendFileSync(file, `${JSON.stringify({ key: 'b', curve: [0.6] })}\n{"key":"c","cur`);
    cache.refresh();
    assert.deepEqual(cache.get('b'), { key: 'b', curve: [0.6] });
    assert.equal(cache.get('c'), undefined);
    appendFileSync(file, 've":[0.7]}\n');
    cache.refresh();
    assert.deepEqual(cache.get('c'), { key: 'c', curve: [0.7] }, 'the line read in two parts');
    appendFileSync(file, '{"key":"d"}\n');
    assert.throws(() => cache.refresh(), /growing\.jsonl:4: a curve line needs "key"/, 'numbers lines across reads');
  });

  void it('every reader uses the first line written with the longest curve, and lists keys whose curves differ', () => {
    const file = path.join(root, 'conflicts.jsonl');
    const lines: CachedCurve[] = [
      { key: 'same', curve: [0.5, 0.6] },
      { key: 'differs', curve: [0.8825, 0.84], engine: 'eager' },
      { key: 'prefix', curve: [0.4] },
      { key: 'same', curve: [0.5, 0.6] },
      { key: 'differs', curve: [0.7775, 0.87], engine: 'graph' },
      { key: 'prefix', curve: [0.4, 0.45] },
    ];
    writeFileSync(file, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    const chosen = curveOfEachKey(readCurveCache(file));
    assert.deepEqual(chosen.get('differs')?.curve, [0.8825, 0.84]);
    assert.deepEqual(chosen.get('prefix')?.curve, [0.4, 0.45]);
    const conflicts = conflictingKeys(readNumberedCurves(file));
    assert.deepEqual(
      conflicts.map((conflict) => [conflict.key, conflict.lines.map((line) => line.line)]),
      [['differs', [2, 5]]],
    );
    assert.deepEqual(formatConflict(conflicts[0]!, 1), [
      'differs',
      '  line 2: 0.8825, … (eager) ← used',
      '  line 5: 0.7775, … (graph)',
    ]);
  });

  void it('--check-cache reports each cache and the keys with two curves, reading only', () => {
    const caches = path.join(root, 'sweep-bench');
    const write = (directory: string, lines: CachedCurve[]) => {
      mkdirSync(path.join(caches, directory), { recursive: true });
      writeFileSync(
        path.join(caches, directory, 'curves.jsonl'),
        lines.map((line) => `${JSON.stringify(line)}\n`).join(''),
      );
    };
    write('a-v1', [
      { key: 'x', curve: [0.5] },
      { key: 'x', curve: [0.5] },
    ]);
    write('b-v2', [
      { key: 'y', curve: [0.8825], engine: 'eager' },
      { key: 'y', curve: [0.7775], engine: 'graph' },
    ]);
    const before = readFileSync(path.join(caches, 'b-v2', 'curves.jsonl'), 'utf8');
    const log: string[] = [];
    assert.equal(
      checkCurveCaches((line) => log.push(line), caches, ['a-v1', 'b-v2']),
      1,
    );
    assert.deepEqual(log, [
      'a-v1: 2 lines, 1 keys (engine: not recorded 2); 0 keys with two different curves',
      'b-v2: 2 lines, 1 keys (engine: eager 1, graph 1); 1 keys with two different curves',
      '  y',
      '    line 1: 0.8825 (eager) ← used',
      '    line 2: 0.7775 (graph)',
    ]);
    assert.equal(readFileSync(path.join(caches, 'b-v2', 'curves.jsonl'), 'utf8'), before);
  });

  void it("--check-cache counts only the caches today's objectives read; an older version is listed and marked", () => {
    const caches = path.join(root, 'sweep-bench-versions');
    const write = (directory: string, lines: CachedCurve[]) => {
      mkdirSync(path.join(caches, directory), { recursive: true });
      writeFileSync(
        path.join(caches, directory, 'curves.jsonl'),
        lines.map((line) => `${JSON.stringify(line)}\n`).join(''),
      );
    };
    const conflict: CachedCurve[] = [
      { key: 'y', curve: [0.8825], engine: 'eager' },
      { key: 'y', curve: [0.7775], engine: 'graph' },
    ];
    const tabular = BENCH_OBJECTIVES.find((objective) => objective.id === 'tabular-mlp') as BenchObjective;
    const stale = `tabular-mlp-v${tabular.version - 1}`;
    write(stale, conflict);
    write(`tabular-mlp-v${tabular.version}`, [{ key: 'x', curve: [0.5], engine: 'graph' }]);
    const log: string[] = [];
    assert.equal(
      checkCurveCaches((line) => log.push(line), caches),
      0,
      'a conflict in a version no objective reads any more does not fail the check',
    );
    assert.match(
      log.find((line) => line.startsWith(stale)) ?? '',
      /1 keys with two different curves \(not read: .*older version/,
    );
    write(`tabular-mlp-v${tabular.version}`, conflict);
    assert.equal(
      checkCurveCaches(() => undefined, caches),
      1,
    );
  });

  void it("trains the CNN objective's base model on the curves' engine and says so in what it prepared", async (t) => {
    if (skipWithoutGraph(t)) return;
    const cnn = BENCH_OBJECTIVES.find((objective) => objective.id === 'defect-cnn') as BenchObjective;
    const prepared = await cnn.prepare(createMemoryObjectStore({ buckets: ['bench'] }), 'defect-cnn');
    assert.equal(prepared.baseEngine, BENCH_TRAIN_ENGINE);
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
    writeFileSync(file, '{"key":"k","curve":[0.5],"engine":"webgl"}\n');
    assert.throws(() => readCurveCache(file), /old\.jsonl:1: "engine" must be "graph" or "eager"/);
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
