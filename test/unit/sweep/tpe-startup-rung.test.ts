import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import { designState, latinHypercubePoint, MAX_DESIGN_POINTS } from '../../../src/core/sweep/latin-hypercube';
import { RandomSource, seedRandomState } from '../../../src/core/sweep/random-source';
import { createSearcher, observeTrial, suggestTrials, type SearcherState } from '../../../src/core/sweep/searchers';
import { domainValueAt, parseSearchSpace, sampleDomain } from '../../../src/core/sweep/space';
import {
  createSweep,
  nextTrials,
  parseSweepConfig,
  recordIntermediate,
  recordResult,
} from '../../../src/core/sweep/sweep-state';
import { splitTrialsAtRung, type TpeTrial } from '../../../src/core/sweep/tpe';

const stage = {
  objective: { metric: 'validation.accuracy' },
  space: { lr: { logUniform: [1e-5, 1] }, layers: { int: [0, 6] }, opt: { choice: ['adam', 'sgd'] }, tag: 'x' },
};

void describe('Latin hypercube startup', () => {
  void it('puts exactly one of n points in each of the n strata of every dimension', () => {
    const state = seedRandomState(11);
    for (const n of [1, 7, 10]) {
      const points = Array.from({ length: n }, (_, i) => latinHypercubePoint(state, n, 3, i));
      for (let k = 0; k < 3; k++) {
        const strata = points.map((point) => Math.floor((point[k] as number) * n)).sort((a, b) => a - b);
        assert.deepEqual(
          strata,
          Array.from({ length: n }, (_, i) => i),
        );
      }
    }
    assert.throws(() => latinHypercubePoint(state, MAX_DESIGN_POINTS + 1, 1, 0), /size must be an integer/);
    assert.throws(() => latinHypercubePoint(state, 5, 1, 5), /outside 0…4/);
  });

  void it('maps a quantile onto a domain with the arithmetic random draws use', () => {
    const space = parseSearchSpace(stage.space);
    for (const { domain } of space.parameters) {
      const a = new RandomSource(seedRandomState(5));
      const b = new RandomSource(seedRandomState(5));
      for (let i = 0; i < 50; i++) assert.deepEqual(sampleDomain(domain, a), domainValueAt(domain, b.uniform()));
    }
  });

  void it('covers every tenth of each prior in the first 10 TPE trials, then draws as before', () => {
    const config = parseSweepConfig({ ...stage, seed: 9, tpe: { startup: 'latin-hypercube' } });
    const suggested = suggestTrials(
      createSearcher('tpe', config.space, 'maximize', { seed: 9, tpe: config.tpe }),
      12,
    ).trials.map((t) => t.params);
    const deciles = suggested
      .slice(0, 10)
      .map((params) => Math.floor(((Math.log(params.lr as number) - Math.log(1e-5)) / Math.log(1e5)) * 10));
    assert.deepEqual(
      [...deciles].sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.ok(suggested.every((params) => params.tag === 'x'));
    const opts = suggested.slice(0, 10).map((params) => params.opt);
    assert.equal(opts.filter((opt) => opt === 'adam').length, 5, 'a 2-way choice is split 5/5 over 10 strata');
    const plain = parseSweepConfig({ ...stage, seed: 9 });
    const iid = suggestTrials(createSearcher('tpe', plain.space, 'maximize', { seed: 9, tpe: plain.tpe }), 10);
    assert.notDeepEqual(
      iid.trials.map((t) => t.params),
      suggested.slice(0, 10),
    );
    assert.equal('design' in iid.state, false, 'without the option the state is as before');
  });

  void it('derives a design stream that differs from the searcher’s own and is reproducible', () => {
    const state = seedRandomState(3);
    assert.deepEqual(designState(state), designState(state));
    assert.notDeepEqual(designState(state), state);
  });
});

void describe('TPE ranking at a rung (rankBy: rung)', () => {
  const trial = (trialId: number, status: TpeTrial['status'], curve: readonly number[]): TpeTrial => ({
    trialId,
    params: {},
    status,
    value: curve[curve.length - 1] as number,
    epoch: curve.length,
    reports: curve.map((value, i) => ({ epoch: i + 1, value })),
  });

  void it('ranks by the value at the deepest epoch enough trials reached, others go to the bad group', () => {
    const finished = [
      trial(0, 'completed', [0.2, 0.3, 0.5]),
      trial(1, 'pruned', [0.9]),
      trial(2, 'pruned', [0.3, 0.35, 0.8]),
      trial(3, 'completed', [0.1, 0.2, 0.6]),
      trial(4, 'pruned', [0.5]),
      trial(5, 'pruned', [0.4, 0.45, 0.9]),
    ];
    const split = splitTrialsAtRung(finished, 'maximize', 3, 0.34);
    assert.equal(split?.epoch, 3);
    assert.deepEqual(
      split?.below.map((t) => t.trialId),
      [5, 2],
    );
    assert.deepEqual(
      split?.above.map((t) => t.trialId),
      [0, 1, 3, 4],
    );
    // Epochs 3 and 2 were reported by 4 trials, epoch 1 by all 6.
    assert.equal(splitTrialsAtRung(finished, 'maximize', 4)?.epoch, 3);
    assert.equal(splitTrialsAtRung(finished, 'maximize', 5)?.epoch, 1);
    assert.equal(splitTrialsAtRung(finished, 'maximize', 7), undefined);
    assert.deepEqual(
      splitTrialsAtRung(finished, 'minimize', 6)?.below.map((t) => t.trialId),
      [3],
    );
  });

  void it('the sweep hands the epoch reports to TPE only when asked, and they change what it proposes', () => {
    const run = (tpe: Record<string, unknown>) => {
      let state = createSweep(
        parseSweepConfig({
          ...stage,
          seed: 2,
          maxTrials: 16,
          epochsPerTrial: 9,
          earlyStopping: { type: 'asha' },
          tpe: { nStartupTrials: 8, ...tpe },
        }),
      );
      for (let i = 0; i < 15; i++) {
        const started = nextTrials(state);
        state = started.state;
        const { trialId, params } = started.trials[0] as { trialId: number; params: Record<string, unknown> };
        const lr = Math.log10(params.lr as number);
        let epoch = 0;
        let stopped = false;
        while (!stopped && epoch < 9) {
          epoch++;
          // Fast starters (high learning rates) lead at epoch 1 and fall behind later.
          const value = epoch === 1 ? 0.5 + lr / 20 : 0.5 - Math.abs(lr + 3) / 10 + epoch / 100;
          const decision = recordIntermediate(state, trialId, epoch, value);
          state = decision.state;
          stopped = decision.stop;
        }
        state = recordResult(state, trialId, stopped ? { status: 'stopped' } : { status: 'completed', value: 0 });
      }
      return state;
    };
    const plain = run({});
    const ranked = run({ rankBy: 'rung' });
    const reportsIn = (state: ReturnType<typeof run>) =>
      state.searcher.algorithm === 'tpe' ? state.searcher.trials.filter((t) => t.reports).length : -1;
    assert.equal(reportsIn(plain), 0, 'without the option TPE’s state is as before');
    assert.equal(reportsIn(ranked), 15);
    assert.notDeepEqual(nextTrials(ranked).trials[0]?.params, nextTrials(plain).trials[0]?.params);
  });

  void it('tpe.startup and tpe.rankBy are parsed, absent unless given, and bad values name their path', () => {
    const config = parseSweepConfig(stage);
    assert.equal('startup' in config.tpe || 'rankBy' in config.tpe, false);
    const set = parseSweepConfig({ ...stage, tpe: { startup: 'latin-hypercube', rankBy: 'rung' } }).tpe;
    assert.equal(set.startup, 'latin-hypercube');
    assert.equal(set.rankBy, 'rung');
    for (const [tpe, path] of [
      [{ startup: 'sobol' }, 'tpe.startup'],
      [{ rankBy: 3 }, 'tpe.rankBy'],
      [{ startup: 'latin-hypercube', nStartupTrials: MAX_DESIGN_POINTS + 1 }, 'tpe.nStartupTrials'],
    ] as const)
      assert.throws(
        () => parseSweepConfig({ ...stage, tpe }),
        (error: unknown) => error instanceof InvalidInputError && error.details.path === path,
      );
  });
});

void it('a searcher state with the new options survives a JSON round trip', () => {
  const config = parseSweepConfig({ ...stage, seed: 1, tpe: { startup: 'latin-hypercube', rankBy: 'rung' } });
  let state: SearcherState = createSearcher('tpe', config.space, 'maximize', { seed: 1, tpe: config.tpe });
  state = suggestTrials(state, 3).state;
  state = observeTrial(state, {
    trialId: 0,
    status: 'pruned',
    value: 0.4,
    epoch: 1,
    reports: [{ epoch: 1, value: 0.4 }],
  });
  const copy = JSON.parse(JSON.stringify(state)) as SearcherState;
  assert.deepEqual(suggestTrials(copy, 2).trials, suggestTrials(state, 2).trials);
});
