import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fineflowSweep, runFineflowSweep, type SweepBudget } from '../../../bench/sweep/drivers';
import {
  bestPoint,
  DEFAULT_INHERIT_OPTIONS,
  parseInheritOptions,
  perturb,
  runInheritSweep,
  type LineageStep,
} from '../../../bench/sweep/inherit';
import { BENCH_OBJECTIVES, type BenchObjective } from '../../../bench/sweep/objectives';
import { METHODS, withInheritSettings } from '../../../bench/sweep/real-bench';
import { readCurveCache, TrialEvaluator } from '../../../bench/sweep/trial-evaluator';
import { skipWithoutGraph } from '../ml/helpers/graph-engine';
import { RandomSource, seedRandomState } from '../../../src/core/sweep/random-source';
import { parseSearchSpace, type ParameterValues } from '../../../src/core/sweep/space';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';

const SPACE = {
  learningRate: { logUniform: [1e-4, 1e-1] },
  layers: { int: [0, 4] },
  batchSize: { choice: [16, 32, 64] },
  dropout: { uniform: [0, 0.5] },
};
const FOREVER = { target: 2, epochsPerTrial: 4, parallelism: 2, maxEpochs: 200 } satisfies SweepBudget;

/** A smooth curve whose value at an epoch depends on the last segment's learning rate and on where it started. */
function lineageValue(lineage: readonly LineageStep[], epoch: number): number {
  let value = 0;
  for (let e = 1; e <= epoch; e++) {
    const step = [...lineage].reverse().find((each) => each.fromEpoch < e) as LineageStep;
    const distance = Math.log10(step.params.learningRate as number) + 2;
    value += (0.9 - value) * (0.5 - 0.1 * distance * distance);
  }
  return value;
}

void describe('checkpoint inheritance (bench prototype)', () => {
  void it('perturbs every searched parameter one step, inside the space', () => {
    const space = parseSearchSpace(SPACE);
    const random = new RandomSource(seedRandomState(3));
    const params = { learningRate: 0.01, layers: 4, batchSize: 16, dropout: 0 };
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const moved = perturb(params, space, 1.25, random);
      const rate = moved.learningRate as number;
      assert.ok(Math.abs(rate - 0.0125) < 1e-12 || Math.abs(rate - 0.008) < 1e-12, String(rate));
      assert.ok(moved.layers === 3 || moved.layers === 4, 'an int moves one step, clipped at the top');
      assert.ok(moved.batchSize === 16 || moved.batchSize === 32, 'a choice moves to a neighbour, clipped');
      // A uniform value at 0 still moves up (by an eighth of the range at factor 1.25), never below the bound.
      assert.ok(moved.dropout === 0 || Math.abs((moved.dropout as number) - 0.0625) < 1e-12, String(moved.dropout));
      seen.add(JSON.stringify(moved));
    }
    assert.ok(seen.size >= 8, `both directions of every parameter are drawn (${seen.size} combinations)`);
  });

  void it('starts a child at the best point not yet used up; the earliest wins a tie; the last epoch never', () => {
    const points = [
      { epoch: 1, value: 0.7, children: 0 },
      { epoch: 4, value: 0.9, children: 0 },
      { epoch: 2, value: 0.8, children: 3 },
      { epoch: 3, value: 0.75, children: 0 },
      { epoch: 2, value: 0.75, children: 1 },
    ];
    assert.equal(bestPoint(points, 4, 3), points[3]);
    assert.equal(bestPoint(points, 5, 3), points[1]);
    assert.equal(bestPoint([], 4, 3), undefined);
  });

  void it('parses its settings with bounds, naming the flag', () => {
    assert.deepEqual(parseInheritOptions(undefined), DEFAULT_INHERIT_OPTIONS);
    assert.equal(parseInheritOptions({ share: 0.3 }).share, 0.3);
    assert.throws(() => parseInheritOptions({ share: 2 }), /--inherit: share must be in \[0, 1\]/);
    assert.throws(() => parseInheritOptions({ factor: 1 }), /factor must be in \(1, 10\]/);
    assert.throws(() => parseInheritOptions({ shares: 1 }), /unknown option shares; known: afterTrials/);
    assert.throws(() => parseInheritOptions({ afterTrials: 1.5 }), /afterTrials must be an integer/);
    const method = METHODS.find((each) => each.id === 'fineflow-tpe-asha-inherit');
    assert.ok(method?.inherit && method.onRequest);
    const tuned = withInheritSettings(method, '{"childrenPerCheckpoint":2}');
    assert.equal(tuned.inherit?.childrenPerCheckpoint, 2);
    assert.match(tuned.label, /\{"childrenPerCheckpoint":2\}$/);
  });

  void it('with share 0 it is the default sweep, epoch for epoch', async () => {
    const asked: string[] = [];
    const plain = await runFineflowSweep(
      { algorithm: 'tpe', earlyStopping: 'asha' },
      SPACE,
      5,
      { ...FOREVER, maxEpochs: 60 },
      async (params, epoch) => {
        asked.push(JSON.stringify([params, epoch]));
        return lineageValue([{ params, fromEpoch: 0 }], epoch);
      },
    );
    const inherited: string[] = [];
    const run = await runInheritSweep(
      fineflowSweep({ algorithm: 'tpe', earlyStopping: 'asha' }, SPACE, 5, { ...FOREVER, maxEpochs: 60 }),
      SPACE,
      5,
      { ...FOREVER, maxEpochs: 60 },
      async (lineage, epoch) => {
        assert.equal(lineage.length, 1);
        inherited.push(JSON.stringify([lineage[0]?.params, epoch]));
        return lineageValue(lineage, epoch);
      },
      { ...DEFAULT_INHERIT_OPTIONS, share: 0 },
    );
    assert.deepEqual(inherited, asked);
    assert.equal(run.epochs, plain.epochs);
  });

  void it('after the startup trials, half the new trials are children: charged only the epochs they train', async () => {
    const calls: { lineage: readonly LineageStep[]; epoch: number }[] = [];
    const run = await runInheritSweep(
      fineflowSweep({ algorithm: 'tpe', earlyStopping: 'asha' }, SPACE, 9, FOREVER),
      SPACE,
      9,
      { ...FOREVER, maxEpochs: 120 },
      async (lineage, epoch) => {
        calls.push({ lineage, epoch });
        return lineageValue(lineage, epoch);
      },
      DEFAULT_INHERIT_OPTIONS,
    );
    assert.equal(run.epochs, 120, 'one epoch charged per value asked');
    assert.equal(calls.length, 120);
    const children = calls.filter((call) => call.lineage.length > 1);
    assert.ok(children.length > 0, 'children ran');
    for (const { lineage, epoch } of children) {
      const last = lineage[lineage.length - 1] as LineageStep;
      assert.ok(epoch > last.fromEpoch && epoch <= 4, 'a child trains only after the epoch it inherited');
      assert.ok(last.fromEpoch >= 1 && last.fromEpoch < 4);
    }
    // Each child asks for its epochs in order, from the one after its start, and stops at the first drop.
    const byLineage = new Map<string, number[]>();
    for (const { lineage, epoch } of children) {
      const key = JSON.stringify(lineage);
      byLineage.set(key, [...(byLineage.get(key) ?? []), epoch]);
    }
    for (const [key, epochs] of byLineage) {
      const lineage = JSON.parse(key) as LineageStep[];
      const from = (lineage[lineage.length - 1] as LineageStep).fromEpoch;
      assert.deepEqual(
        epochs,
        epochs.map((_, i) => from + 1 + i),
      );
    }
    const firstChild = calls.findIndex((call) => call.lineage.length > 1);
    const trialsBefore = new Set(calls.slice(0, firstChild).map((call) => JSON.stringify(call.lineage[0]?.params)));
    assert.ok(trialsBefore.size >= DEFAULT_INHERIT_OPTIONS.afterTrials, `${trialsBefore.size} trials before a child`);
  });
});

void describe('lineage curves (bench evaluator)', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'fineflow-lineage-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  void it("trains a child from its parent's checkpoint: the inherited epochs are the parent's, then its own", async (t) => {
    if (skipWithoutGraph(t)) return;
    const tabular = BENCH_OBJECTIVES.find((objective) => objective.id === 'tabular-mlp') as BenchObjective;
    const objective: BenchObjective = { ...tabular, epochsPerTrial: 4 };
    const store = createMemoryObjectStore({ buckets: ['bench'] });
    const prepared = await objective.prepare(store, 'tabular');
    const cacheFile = path.join(root, 'curves.jsonl');
    const parent: ParameterValues = { learningRate: 0.03, batchSize: 16, dropout: 0.1, l2: 1e-4 };
    const child: ParameterValues = { ...parent, learningRate: 0.003 };
    const lineage: LineageStep[] = [
      { params: parent, fromEpoch: 0 },
      { params: child, fromEpoch: 2 },
    ];

    const evaluator = new TrialEvaluator(objective, prepared, store, cacheFile);
    const values: number[] = [];
    for (const epoch of [1, 2, 3, 4]) values.push(await evaluator.valueAt(parent, 7, epoch));
    assert.equal(evaluator.stats.trials, 1);
    const third = await evaluator.lineageValueAt(lineage, 7, 3);
    // The parent trained again with checkpoints (this process held none), then the child from its epoch 2.
    assert.equal(evaluator.stats.trials, 3);
    const lines = readCurveCache(cacheFile);
    const childLine = lines.find((line) => line.key.includes('"lineage"'));
    assert.ok(childLine);
    assert.deepEqual(childLine.curve.slice(0, 2), values.slice(0, 2), 'the first two epochs are the parent’s');
    assert.equal(childLine.curve[2], third);
    assert.equal(childLine.curve.length, 4);
    assert.ok(childLine.key.includes('0.003'), 'the key names every segment');
    // The child's own epochs differ from the parent's continuation: another learning rate trained them.
    assert.notDeepEqual(childLine.curve.slice(2), values.slice(2));

    // A grandchild starts from the child's checkpoint, which this process holds: one more training call.
    const grandchild = [...lineage, { params: { ...child, dropout: 0.3 }, fromEpoch: 3 }];
    await evaluator.lineageValueAt(grandchild, 7, 4);
    assert.equal(evaluator.stats.trials, 4);
    const grandLine = readCurveCache(cacheFile).find((line) => line.key.includes('0.3,'));
    assert.deepEqual(grandLine?.curve.slice(0, 3), childLine.curve.slice(0, 3));

    // A later process reads the child from the cache and trains nothing.
    const later = new TrialEvaluator(objective, prepared, createMemoryObjectStore({ buckets: ['bench'] }), cacheFile);
    assert.equal(await later.lineageValueAt(lineage, 7, 4), childLine.curve[3]);
    assert.equal(later.stats.trials, 0);
    await assert.rejects(later.lineageValueAt(lineage, 7, 2), /epoch 2 is outside 3\.\.4/);
  });
});
