import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import type { JsonObject } from '../../../src/core/spec/plan-types';
import { createSweep, DEFAULT_GP_OPTIONS, nextTrials } from '../../../src/core/sweep';
import { planSweep } from '../../../src/core/sweep/sweep-plan';
import { parseSweepConfig } from '../../../src/core/sweep/sweep-state';
import { validatePipeline } from '../../../src/spec';
import { sweepPipelineYaml } from '../../helpers/sweep-pipeline';

const base: JsonObject = {
  model: 's3://fineflow/models/base/model.json',
  data: 's3://fineflow/data/manifest.json',
  objective: { metric: 'validation.accuracy' },
  space: { learningRate: { logUniform: [0.0001, 0.01] }, unfreeze: { choice: [0, 2, 4] } },
};

const sweepPipeline = (withLines: string): string => sweepPipelineYaml(withLines, 'gp');

describe('algorithm: gp on hyperparameter-sweep', () => {
  it('maps gp.startupTrials/candidates onto the GP searcher, which the sweep then runs', () => {
    const plan = planSweep({ ...base, algorithm: 'gp', gp: { startupTrials: 4, candidates: 64 } });
    assert.equal(plan.config.algorithm, 'gp');
    assert.deepEqual(plan.config.gp, { ...DEFAULT_GP_OPTIONS, nStartupTrials: 4, nCandidates: 64 });
    const sweep = createSweep(plan.config);
    assert.equal(sweep.searcher.algorithm, 'gp');
    assert.equal(nextTrials(sweep).trials.length, 1);
    assert.deepEqual(planSweep({ ...base, algorithm: 'gp' }).config.gp, DEFAULT_GP_OPTIONS);
  });

  it('leaves the config of every other algorithm as it was (no gp key, so recorded states are unchanged)', () => {
    for (const algorithm of ['tpe', 'random', 'grid'])
      assert.ok(!('gp' in planSweep({ ...base, algorithm }).config), algorithm);
  });

  it('bounds every GP setting, naming the field', () => {
    const field = (gp: unknown): unknown => {
      try {
        parseSweepConfig({ algorithm: 'gp', space: { x: { uniform: [0, 1] } }, objective: { metric: 'm' }, gp });
      } catch (error) {
        assert.ok(error instanceof InvalidInputError);
        return error.details.path ?? error.details.field;
      }
      return undefined;
    };
    assert.equal(field({ nCandidates: 5000 }), 'gp.nCandidates');
    assert.equal(field({ maxObservations: 201 }), 'gp.maxObservations');
    assert.equal(field({ fitIterations: 0 }), 'gp.fitIterations');
    assert.equal(field({ nStartupTrials: 1.5 }), 'gp.nStartupTrials');
    assert.equal(field([1]), 'gp');
    assert.equal(field({ nCandidates: 4096, maxObservations: 200, fitIterations: 50 }), undefined);
  });

  it('refuses warmStart with gp (it seeds TPE only)', () => {
    assert.throws(() => planSweep({ ...base, algorithm: 'gp', warmStart: {} }), /warmStart: seeds TPE search/);
  });

  it('validates gp settings at file:line:col: out of range, or given without algorithm: gp', () => {
    const ok = validatePipeline(
      sweepPipeline('      algorithm: gp\n      gp: {startupTrials: 5, candidates: 128}'),
      'p.yaml',
    );
    assert.deepEqual(ok.diagnostics, []);
    const range = validatePipeline(sweepPipeline('      algorithm: gp\n      gp: {candidates: 5000}'), 'p.yaml');
    assert.deepEqual(
      range.diagnostics.map((d) => [d.code, d.line]),
      [['out-of-range', 13]],
    );
    const stray = validatePipeline(sweepPipeline('      gp: {startupTrials: 5}'), 'p.yaml');
    assert.equal(stray.diagnostics.length, 1);
    const [problem] = stray.diagnostics;
    assert.equal(problem?.line, 12);
    assert.ok(problem && problem.column > 0);
    assert.match(problem?.message ?? '', /gp settings apply to Gaussian-process search, but algorithm is tpe/);
    assert.match(problem?.hint ?? '', /set algorithm: gp, or remove gp/);
  });
});
