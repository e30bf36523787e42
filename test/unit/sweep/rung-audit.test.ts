import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import { ashaShouldStop, createAsha, type AshaState } from '../../../src/core/sweep/asha';
import {
  createSweep,
  nextTrials,
  parseSweepConfig,
  recordIntermediate,
  recordResult,
} from '../../../src/core/sweep/sweep-state';
import { planSweep } from '../../../src/core/sweep/sweep-plan';
import { validatePipeline } from '../../../src/spec';
import { sweepPipelineYaml } from '../../helpers/sweep-pipeline';

const audited = () => createAsha({ reductionFactor: 3, minEpochs: 1, maxEpochs: 9, auditEvery: 3 }, 'maximize');

/** One report; returns the new state and whether the trial continues. */
function report(state: AshaState, trialId: number, epoch: number, value: number) {
  const decision = ashaShouldStop(state, trialId, epoch, value);
  return { state: decision.state, continues: !decision.stop, reason: decision.reason };
}

/** Trials 0, 1, 2 climb to the top of rungs 0 and 1 (each the best so far), so later arrivals can be below the cut. */
function withLeaders(state: AshaState): AshaState {
  for (const [trialId, value] of [
    [0, 0.1],
    [1, 0.2],
    [2, 0.3],
  ] as const)
    state = report(state, trialId, 1, value).state;
  for (const [trialId, value] of [
    [0, 0.5],
    [1, 0.6],
    [2, 0.7],
  ] as const)
    state = report(state, trialId, 3, value).state;
  return state;
}

void describe('ASHA rung audit (earlyStopping.auditEvery)', () => {
  void it('is absent unless asked for: the state is Optuna’s pruner, with no audit record', () => {
    const plain = createAsha({ reductionFactor: 3, minEpochs: 1, maxEpochs: 9 }, 'maximize');
    assert.equal('audits' in plain, false);
    let state = withLeaders(plain);
    for (let trialId = 3; trialId < 9; trialId++) {
      const step = report(state, trialId, 1, 0.05 - trialId / 1000);
      assert.equal(step.continues, false, `trial ${trialId} is below the cut and stops`);
      state = step.state;
    }
    assert.equal('audits' in state, false);
  });

  void it('lets every N-th trial a rung would stop go on, and judges it at the next rung', () => {
    let state = withLeaders(audited());
    const continued: number[] = [];
    for (let trialId = 3; trialId < 12; trialId++) {
      const step = report(state, trialId, 1, 0.05 - trialId / 1000);
      state = step.state;
      if (step.continues) {
        continued.push(trialId);
        assert.match(step.reason, /continues as an audit of rung 0 \(1 in 3 of the trials it would stop/);
      }
    }
    assert.deepEqual(continued, [5, 8, 11], 'the 3rd, 6th and 9th trial below the cut');
    assert.deepEqual(state.audits?.[0], { belowCut: 9, pending: [5, 8, 11], passed: 0, failed: 0 });
    const judged = report(state, 5, 3, 0.01);
    assert.equal(judged.continues, false, 'an audited trial is stopped at the next rung like any other');
    assert.deepEqual(judged.state.audits?.[0], { belowCut: 9, pending: [8, 11], passed: 0, failed: 1 });
  });

  void it('neither audits nor counts the trials before auditFromTrial (the searcher’s random startup trials)', () => {
    let state = withLeaders(
      createAsha({ reductionFactor: 3, minEpochs: 1, maxEpochs: 9, auditEvery: 3, auditFromTrial: 6 }, 'maximize'),
    );
    const continued: number[] = [];
    for (let trialId = 3; trialId < 12; trialId++) {
      const step = report(state, trialId, 1, 0.05 - trialId / 1000);
      state = step.state;
      if (step.continues) continued.push(trialId);
    }
    assert.deepEqual(continued, [8, 11], 'the 3rd and 6th trial below the cut from trial 6 on');
    assert.deepEqual(state.audits?.[0], { belowCut: 6, pending: [8, 11], passed: 0, failed: 0 });
    const sweep = (algorithm: string) =>
      createSweep(
        parseSweepConfig({
          algorithm,
          objective: { metric: 'validation.accuracy' },
          space: { lr: { logUniform: [1e-4, 1] } },
          epochsPerTrial: 9,
          maxTrials: 20,
          earlyStopping: { type: 'asha', auditEvery: 3 },
          ...(algorithm === 'tpe' ? { tpe: { nStartupTrials: 7 } } : {}),
        }),
      ).stopper;
    const from = (stopper: ReturnType<typeof sweep>) => (stopper.type === 'asha' ? stopper.config.auditFromTrial : -1);
    assert.equal(from(sweep('tpe')), 7, 'TPE: after its startup trials');
    assert.equal(from(sweep('random')), 0, 'random search has no model: every trial counts');
  });

  void it('opens a rung whose stopped trials pass the next rung (≥ 1/(2η) of ≥ 3 verdicts), and closes it again', () => {
    let state = withLeaders(audited());
    let trialId = 3;
    /** Below rung 0's cut (each new value the lowest); returns whether it continued. */
    const weakAtOne = (): boolean => {
      const step = report(state, trialId, 1, 0.05 - trialId / 1000);
      state = step.state;
      return step.continues;
    };
    // Audits 1 and 2 pass rung 1 (the best there), audit 3 fails: 2 of 3 ≥ 1/6, so rung 0 opens.
    for (const atThree of [0.9, 0.95, 0.01]) {
      while (!weakAtOne()) trialId++;
      state = report(state, trialId, 3, atThree).state;
      trialId++;
    }
    assert.deepEqual(state.audits?.[0], { belowCut: 9, pending: [], passed: 2, failed: 1 });
    // Open: every trial below the cut continues, and each one's verdict keeps coming (all fail from here).
    let openFor = 0;
    for (;;) {
      const step = report(state, trialId, 1, 0.05 - trialId / 1000);
      state = step.state;
      if (!step.continues) break;
      assert.match(step.reason, /rung 0 stops nobody while the trials it would stop keep passing the next rung/);
      state = report(state, trialId, 3, 0.001 - trialId / 1e5).state;
      openFor++;
      trialId++;
    }
    // 2 passes open the rung while verdicts ≤ 2·2η = 12: it closes after the 13th, i.e. 10 failures later.
    assert.equal(openFor, 10);
    assert.deepEqual(state.audits?.[0], { belowCut: 20, pending: [], passed: 2, failed: 11 });
  });

  void it('does not count a verdict reached while the next rung holds fewer than η values', () => {
    let state = audited();
    for (const [trialId, value] of [
      [0, 0.5],
      [1, 0.4],
      [2, 0.3],
      [3, 0.2],
    ] as const)
      state = report(state, trialId, 1, value).state;
    // Trials 1, 2, 3 are below the cut; the third of them (trial 3) is the audit.
    assert.deepEqual(state.audits?.[0]?.pending, [3]);
    state = report(state, 3, 3, 0.9).state;
    assert.deepEqual(state.audits?.[0], { belowCut: 3, pending: [], passed: 0, failed: 0 }, 'alone at rung 1');
  });

  void it('never audits the last rung (nothing later to check it against)', () => {
    let state = withLeaders(audited());
    const continued: number[] = [];
    for (let trialId = 3; trialId < 12; trialId++) {
      state = report(state, trialId, 1, 0.9).state; // promoted at rung 0
      const step = report(state, trialId, 3, 0.05 - trialId / 1000);
      state = step.state;
      if (step.continues) continued.push(trialId);
    }
    assert.deepEqual(continued, []);
    assert.deepEqual(state.audits?.[1], { belowCut: 0, pending: [], passed: 0, failed: 0 });
  });

  void it('is bounded and named in errors; absent from the config unless given', () => {
    const stage = {
      objective: { metric: 'validation.accuracy' },
      space: { lr: { logUniform: [1e-4, 1] } },
      epochsPerTrial: 9,
      maxTrials: 20,
      earlyStopping: { type: 'asha' },
    };
    const plain = parseSweepConfig(stage);
    assert.equal('auditEvery' in plain.earlyStopping, false, 'earlier sweeps’ configs and states are unchanged');
    assert.equal('audits' in createSweep(plain).stopper, false);
    for (const bad of [1, 101, 2.5, '3', true])
      assert.throws(
        () => parseSweepConfig({ ...stage, earlyStopping: { type: 'asha', auditEvery: bad } }),
        (error: unknown) =>
          error instanceof InvalidInputError &&
          error.details.path === 'earlyStopping.auditEvery' &&
          /from 2 to 100/.test(error.message),
        `auditEvery ${JSON.stringify(bad)}`,
      );
    const config = parseSweepConfig({ ...stage, earlyStopping: { type: 'asha', auditEvery: 3 } });
    assert.equal(config.earlyStopping.type === 'asha' && config.earlyStopping.auditEvery, 3);
    assert.throws(() => createAsha({ reductionFactor: 3, minEpochs: 1, maxEpochs: 9, auditEvery: 0 }, 'maximize'), {
      name: 'InvalidInputError',
    });
  });

  void it('drives a sweep deterministically, and its state survives a JSON round trip (continue-as-new)', () => {
    const config = parseSweepConfig({
      objective: { metric: 'validation.accuracy' },
      space: { lr: { logUniform: [1e-4, 1] }, width: { choice: [8, 16, 32] } },
      epochsPerTrial: 9,
      maxTrials: 30,
      parallelism: 2,
      seed: 7,
      earlyStopping: { type: 'asha', auditEvery: 2 },
    });
    const run = (roundTrip: boolean) => {
      let state = createSweep(config);
      const log: string[] = [];
      for (let step = 0; step < 30; step++) {
        state = nextTrials(state).state;
        const trial = state.trials.find((candidate) => candidate.status === 'running');
        if (!trial) break;
        // A slow starter: a trial's epoch-1 value says little about its epoch-3 value.
        const lr = trial.params.lr as number;
        for (const epoch of [1, 3, 9]) {
          const value = epoch === 1 ? (trial.trialId * 37) % 10 : Math.log10(lr) + epoch;
          const decision = recordIntermediate(state, trial.trialId, epoch, value);
          state = decision.state;
          log.push(`${trial.trialId}@${epoch}:${decision.stop}`);
          if (decision.stop) {
            state = recordResult(state, trial.trialId, { status: 'stopped', epochs: epoch });
            break;
          }
          if (epoch === 9) state = recordResult(state, trial.trialId, { status: 'completed', value, epochs: 9 });
        }
        if (roundTrip) state = JSON.parse(JSON.stringify(state)) as typeof state;
      }
      return { log, audits: state.stopper.type === 'asha' ? state.stopper.audits : undefined };
    };
    const once = run(false);
    assert.deepEqual(run(true), once);
    assert.ok(
      once.log.some((line) => line.endsWith('@3:true')),
      'some audited trials are judged at rung 1',
    );
    const verdicts = (once.audits?.[0]?.passed ?? 0) + (once.audits?.[0]?.failed ?? 0);
    assert.ok(verdicts >= 3, `audits reached verdicts (${JSON.stringify(once.audits)})`);
  });

  void it('reaches the sweep from a pipeline, and an out-of-range value is a diagnostic at its line', () => {
    const yaml = (auditEvery: number) =>
      sweepPipelineYaml(
        `      trial: {epochs: 9}\n      earlyStopping:\n        type: asha\n        auditEvery: ${auditEvery}`,
        'audit',
      );
    assert.deepEqual(validatePipeline(yaml(3), 'p.yaml').diagnostics, []);
    const bad = validatePipeline(yaml(1), 'p.yaml').diagnostics;
    assert.deepEqual(
      bad.map((d) => [d.code, d.line]),
      [['out-of-range', 15]],
    );
    const plan = planSweep({
      model: 's3://fineflow/models/base/model.json',
      data: 's3://fineflow/data/manifest.json',
      objective: { metric: 'validation.accuracy' },
      space: { learningRate: { logUniform: [1e-4, 1e-2] } },
      trial: { epochs: 9 },
      earlyStopping: { type: 'asha', auditEvery: 3 },
    });
    assert.equal(plan.config.earlyStopping.type === 'asha' && plan.config.earlyStopping.auditEvery, 3);
    const stopper = createSweep(plan.config).stopper;
    assert.equal(stopper.type === 'asha' && stopper.config.auditEvery, 3);
  });
});
