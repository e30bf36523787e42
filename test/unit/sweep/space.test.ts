import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import { RandomSource, seedRandomState } from '../../../src/core/sweep/random-source';
import { gridPoint, gridSize, gridValues, parseSearchSpace, sampleFromPrior } from '../../../src/core/sweep/space';

function invalidAt(path: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof InvalidInputError, `expected InvalidInputError, got ${String(error)}`);
    assert.equal(error.details.path, path);
    assert.ok(error.message.startsWith(`${path}:`), error.message);
    return true;
  };
}

void describe('parseSearchSpace', () => {
  void it('accepts the list and object forms and sorts parameters by name', () => {
    const space = parseSearchSpace({
      lr: { logUniform: [1e-4, 1e-2] },
      dropout: { uniform: { low: 0, high: 0.5 } },
      layers: { int: { low: 1, high: 8, step: 2 } },
      width: { int: { low: 8, high: 256, log: true } },
      batchSize: { choice: [16, 32] },
      optimizer: 'adam',
      shape: { fixed: [32, 32] },
      schedule: { kind: 'cosine' },
    });
    assert.deepEqual(
      space.parameters.map((p) => p.name),
      ['batchSize', 'dropout', 'layers', 'lr', 'optimizer', 'schedule', 'shape', 'width'],
    );
    const byName = Object.fromEntries(space.parameters.map((p) => [p.name, p.domain]));
    assert.deepEqual(byName.lr, { kind: 'logUniform', low: 1e-4, high: 1e-2 });
    assert.deepEqual(byName.dropout, { kind: 'uniform', low: 0, high: 0.5 });
    // high snaps down onto the step lattice 1, 3, 5, 7
    assert.deepEqual(byName.layers, { kind: 'int', low: 1, high: 7, step: 2, log: false });
    assert.deepEqual(byName.width, { kind: 'int', low: 8, high: 256, step: 1, log: true });
    assert.deepEqual(byName.batchSize, { kind: 'choice', values: [16, 32] });
    assert.deepEqual(byName.optimizer, { kind: 'fixed', value: 'adam' });
    assert.deepEqual(byName.shape, { kind: 'fixed', value: [32, 32] });
    assert.deepEqual(byName.schedule, { kind: 'fixed', value: { kind: 'cosine' } });
  });

  void it('names the parameter in every error', () => {
    assert.throws(() => parseSearchSpace([1, 2]), invalidAt('space'));
    assert.throws(() => parseSearchSpace({}), invalidAt('space'));
    assert.throws(() => parseSearchSpace({ lr: { logUniform: [0, 1] } }), invalidAt('space.lr.logUniform'));
    assert.throws(() => parseSearchSpace({ lr: { uniform: [1, 1] } }), invalidAt('space.lr.uniform'));
    assert.throws(() => parseSearchSpace({ lr: { uniform: [1] } }), invalidAt('space.lr.uniform'));
    assert.throws(() => parseSearchSpace({ lr: { uniform: ['a', 2] } }), invalidAt('space.lr.uniform.low'));
    assert.throws(() => parseSearchSpace({ lr: { uniform: { low: 0, hi: 1 } } }), invalidAt('space.lr.uniform'));
    assert.throws(() => parseSearchSpace({ n: { int: [1.5, 4] } }), invalidAt('space.n.int.low'));
    assert.throws(() => parseSearchSpace({ n: { int: { low: 1, high: 4, step: 0 } } }), invalidAt('space.n.int.step'));
    assert.throws(() => parseSearchSpace({ n: { int: { low: 0, high: 4, log: true } } }), invalidAt('space.n.int'));
    assert.throws(() => parseSearchSpace({ n: { int: { low: 5, high: 4 } } }), invalidAt('space.n.int'));
    assert.throws(() => parseSearchSpace({ c: { choice: [] } }), invalidAt('space.c.choice'));
    assert.throws(() => parseSearchSpace({ c: { choice: [1], uniform: [0, 1] } }), invalidAt('space.c'));
    assert.throws(() => parseSearchSpace({ c: [16, 32] }), invalidAt('space.c'));
    assert.throws(() => parseSearchSpace({ c: Infinity }), invalidAt('space.c'));
  });
});

void describe('sampling and grids', () => {
  const space = parseSearchSpace({
    lr: { logUniform: [1e-4, 1e-1] },
    layers: { int: { low: 2, high: 10, step: 4 } },
    width: { int: { low: 1, high: 1000, log: true } },
    act: { choice: ['relu', 'gelu'] },
    seed: 7,
  });

  void it('samples inside every domain', () => {
    const random = new RandomSource(seedRandomState(3));
    const seen = new Set<unknown>();
    for (let i = 0; i < 2000; i++) {
      const p = sampleFromPrior(space, random);
      const lr = p.lr as number;
      assert.ok(lr >= 1e-4 && lr <= 1e-1);
      assert.ok([2, 6, 10].includes(p.layers as number));
      assert.ok(Number.isInteger(p.width) && (p.width as number) >= 1 && (p.width as number) <= 1000);
      assert.equal(p.seed, 7);
      seen.add(p.act);
    }
    assert.deepEqual([...seen].sort(), ['gelu', 'relu']);
  });

  void it('samples log domains uniformly in log space', () => {
    const random = new RandomSource(seedRandomState(9));
    let belowMiddle = 0;
    for (let i = 0; i < 4000; i++) if ((sampleFromPrior(space, random).lr as number) < 10 ** -2.5) belowMiddle++;
    assert.ok(Math.abs(belowMiddle / 4000 - 0.5) < 0.04, `fraction below the log midpoint: ${belowMiddle / 4000}`);
  });

  void it('discretises continuous domains and enumerates the full product', () => {
    assert.deepEqual(gridValues({ kind: 'uniform', low: 0, high: 1 }, 3), [0, 0.5, 1]);
    const logValues = gridValues({ kind: 'logUniform', low: 1e-4, high: 1e-2 }, 3) as number[];
    assert.equal(logValues[0], 1e-4);
    assert.ok(Math.abs((logValues[1] as number) - 1e-3) < 1e-15);
    assert.equal(logValues[2], 1e-2);
    assert.deepEqual(gridValues({ kind: 'int', low: 2, high: 10, step: 4, log: false }, 5), [2, 6, 10]);
    assert.deepEqual(gridValues({ kind: 'int', low: 0, high: 100, step: 1, log: false }, 3), [0, 50, 100]);

    const small = parseSearchSpace({ a: { choice: ['x', 'y'] }, b: { uniform: [0, 1] }, c: { int: [1, 3] }, d: true });
    const size = gridSize(small, 3);
    assert.equal(size, 2 * 3 * 3);
    const points = Array.from({ length: size }, (_, i) => gridPoint(small, i, 3));
    const keys = new Set(points.map((p) => JSON.stringify(p)));
    assert.equal(keys.size, size, 'every grid point is distinct');
    for (const a of ['x', 'y'])
      for (const b of [0, 0.5, 1]) for (const c of [1, 2, 3]) assert.ok(keys.has(JSON.stringify({ a, b, c, d: true })));
    assert.deepEqual(points[0], { a: 'x', b: 0, c: 1, d: true });
    assert.deepEqual(points[1], { a: 'x', b: 0, c: 2, d: true }, 'last parameter varies fastest');
    assert.throws(() => gridPoint(small, size, 3), RangeError);
  });
});
