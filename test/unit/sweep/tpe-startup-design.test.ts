import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import { parseSearchSpace, sampleDomainAt } from '../../../src/core/sweep/space';
import { createSweep, nextTrials, parseSweepConfig } from '../../../src/core/sweep/sweep-state';
import { createTpeSearch, latinHypercubeRow, MAX_DESIGN_ROWS, tpeSearch } from '../../../src/core/sweep/tpe';

const space = parseSearchSpace({
  learningRate: { logUniform: [1e-4, 1e-1] },
  dropout: { uniform: [0, 0.5] },
  batchSize: { choice: [16, 32, 64, 128, 256] },
  frozenLayers: { int: [0, 9] },
});

/** The slice of [0, 1) (out of `rows`) each suggested value of a numeric parameter falls into. */
function slices(values: readonly number[], low: number, high: number, rows: number, log = false): number[] {
  const at = (x: number): number =>
    log ? (Math.log(x) - Math.log(low)) / (Math.log(high) - Math.log(low)) : (x - low) / (high - low);
  return values.map((x) => Math.min(rows - 1, Math.floor(at(x) * rows))).sort((a, b) => a - b);
}

describe('TPE startup design: latin-hypercube', () => {
  it('its startup trials use every slice of every numeric range once and every choice equally often', () => {
    const state = createTpeSearch(space, 'maximize', 7, { nStartupTrials: 10, startupDesign: 'latin-hypercube' });
    const { trials } = tpeSearch.suggest(state, 10);
    const column = (name: string): number[] => trials.map((trial) => trial.params[name] as number);
    const all = Array.from({ length: 10 }, (_, i) => i);
    assert.deepEqual(slices(column('learningRate'), 1e-4, 1e-1, 10, true), all);
    assert.deepEqual(slices(column('dropout'), 0, 0.5, 10), all);
    assert.deepEqual(
      [...column('frozenLayers')].sort((a, b) => a - b),
      all,
    );
    for (const size of [16, 32, 64, 128, 256])
      assert.equal(column('batchSize').filter((value) => value === size).length, 2, `batch size ${size}`);
  });

  it('proposes the same rows when suggested one at a time, from a copied state, or after a restart', () => {
    const state = createTpeSearch(space, 'maximize', 11, { startupDesign: 'latin-hypercube' });
    const together = tpeSearch.suggest(state, 10).trials.map((trial) => trial.params);
    let current = JSON.parse(JSON.stringify(state)) as typeof state;
    const oneByOne = [];
    for (let i = 0; i < 10; i++) {
      const next = tpeSearch.suggest(current, 1);
      oneByOne.push(next.trials[0]?.params);
      current = JSON.parse(JSON.stringify(next.state)) as typeof state;
    }
    assert.deepEqual(oneByOne, together);
    const otherSeed = tpeSearch.suggest(
      createTpeSearch(space, 'maximize', 12, { startupDesign: 'latin-hypercube' }),
      10,
    );
    assert.notDeepEqual(
      otherSeed.trials.map((trial) => trial.params),
      together,
    );
  });

  it('draws trials past the design at random, and TPE takes over as with random startup', () => {
    const state = createTpeSearch(space, 'maximize', 3, { nStartupTrials: 4, startupDesign: 'latin-hypercube' });
    const first = tpeSearch.suggest(state, 6);
    const dropout = first.trials.slice(0, 4).map((trial) => trial.params.dropout as number);
    assert.deepEqual(slices(dropout, 0, 0.5, 4), [0, 1, 2, 3]);
    // Trials 4 and 5 start while nothing has finished: random draws, not rows of a larger design.
    const rows = Array.from({ length: 4 }, (_, row) => latinHypercubeRow(space, state.designSeed!, 4, row));
    assert.deepEqual(
      first.trials.slice(0, 4).map((trial) => trial.params),
      rows,
    );
    assert.equal(first.trials.length, 6);
    assert.ok(
      first.trials.slice(4).every((trial) => !rows.some((row) => JSON.stringify(row) === JSON.stringify(trial.params))),
    );
    assert.ok(MAX_DESIGN_ROWS >= 10);
  });

  it('leaves a sweep without it exactly as before: no design seed, the same proposals', () => {
    const plain = createTpeSearch(space, 'maximize', 5);
    assert.equal('designSeed' in plain, false);
    const random = createTpeSearch(space, 'maximize', 5, { startupDesign: 'random' });
    assert.equal('designSeed' in random, false);
    assert.deepEqual(tpeSearch.suggest(random, 10).trials, tpeSearch.suggest(plain, 10).trials);
  });

  it('is a controller option with a checked value', () => {
    const raw = {
      algorithm: 'tpe',
      space: { x: { uniform: [0, 1] } },
      objective: { metric: 'validation.accuracy', goal: 'maximize' },
      maxTrials: 20,
      tpe: { startupDesign: 'latin-hypercube' },
    };
    const config = parseSweepConfig(raw);
    assert.equal(config.tpe.startupDesign, 'latin-hypercube');
    const { trials } = nextTrials(createSweep(config));
    assert.equal(trials.length, 1);
    assert.equal('startupDesign' in parseSweepConfig({ ...raw, tpe: {} }).tpe, false);
    assert.throws(
      () => parseSweepConfig({ ...raw, tpe: { startupDesign: 'sobol' } }),
      (error: unknown) =>
        error instanceof InvalidInputError && /tpe\.startupDesign.*random, latin-hypercube/.test(error.message),
    );
  });

  it('maps a quantile into each kind of domain', () => {
    assert.equal(sampleDomainAt({ kind: 'uniform', low: 2, high: 4 }, 0.5), 3);
    assert.ok(Math.abs((sampleDomainAt({ kind: 'logUniform', low: 1e-4, high: 1e-2 }, 0.5) as number) - 1e-3) < 1e-12);
    assert.equal(sampleDomainAt({ kind: 'choice', values: ['a', 'b', 'c'] }, 0.999), 'c');
    assert.equal(sampleDomainAt({ kind: 'int', low: 0, high: 10, step: 5, log: false }, 0.4), 5);
    assert.equal(sampleDomainAt({ kind: 'int', low: 1, high: 1000, step: 1, log: true }, 0), 1);
    assert.equal(sampleDomainAt({ kind: 'int', low: 1, high: 1000, step: 1, log: true }, 0.99999), 1000);
    assert.equal(sampleDomainAt({ kind: 'fixed', value: 'x' }, 0.3), 'x');
  });
});
