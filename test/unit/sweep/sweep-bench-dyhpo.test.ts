import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runDyhpoSweep, runFineflowSweep, type SweepBudget } from '../../../bench/sweep/drivers';
import { chooseActions, createDyhpo, recordEpoch, type DyhpoState } from '../../../bench/sweep/dyhpo';
import { METHODS, parseMethods, withDyhpoSettings } from '../../../bench/sweep/real-bench';
import { parseSearchSpace, type ParameterValues } from '../../../src/core/sweep/space';

const SPACE = {
  learningRate: { logUniform: [1e-4, 1e-1] },
  batchSize: { choice: [16, 32, 64] },
  dropout: { uniform: [0, 0.5] },
};

/** A smooth curve: best near learningRate 1e-2 and dropout 0.1; later epochs climb towards the ceiling. */
function curveValue(params: ParameterValues, epoch: number): number {
  const distance = Math.log10(params.learningRate as number) + 2;
  const ceiling = 0.95 - 0.08 * distance * distance - 0.3 * ((params.dropout as number) - 0.1) ** 2;
  return ceiling * (1 - Math.exp(-epoch / 3));
}

/** Drives the scheduler like the bench does, recording every action; returns the actions and the final state. */
function drive(state: DyhpoState, ticks: number): { actions: { trialId: number; epoch: number }[]; state: DyhpoState } {
  const actions: { trialId: number; epoch: number }[] = [];
  for (let tick = 0; tick < ticks; tick++) {
    const round = chooseActions(state, 2);
    state = round.state;
    for (const action of round.actions) {
      actions.push({ trialId: action.trialId, epoch: action.epoch });
      state = recordEpoch(state, action.trialId, action.epoch, curveValue(action.params, action.epoch));
    }
  }
  return { actions, state };
}

void describe('DyHPO-style scheduler (bench comparison method)', () => {
  void it('starts with the configurations random search and TPE start with, under the same seed', async () => {
    const budget: SweepBudget = { target: 2, epochsPerTrial: 1, parallelism: 2, maxEpochs: 10 };
    const seen: ParameterValues[] = [];
    const valueAt = async (params: ParameterValues): Promise<number> => {
      seen.push(params);
      return 0;
    };
    await runFineflowSweep({ algorithm: 'random', earlyStopping: 'none' }, SPACE, 11, budget, valueAt);
    const random = seen.splice(0);
    await runDyhpoSweep(SPACE, 11, budget, valueAt);
    assert.deepEqual(seen, random);
    seen.length = 0;
    await runDyhpoSweep(SPACE, 11, budget, valueAt, { proposals: 'tpe' });
    assert.deepEqual(seen, random, 'TPE proposals start from the same prior draws');
  });

  void it('with TPE proposals, new trials are TPE suggestions and every trial is observed at its deepest epoch', () => {
    const { state } = drive(createDyhpo(parseSearchSpace(SPACE), 6, 4, { proposals: 'tpe' }), 30);
    const tpe = state.tpe;
    assert.ok(tpe);
    const started = state.trials.map((trial) => trial.params);
    assert.deepEqual(
      tpe.trials.slice(0, started.length).map((trial) => trial.params),
      started,
    );
    for (const trial of state.trials) {
      const seen: (typeof tpe.trials)[number] | undefined = tpe.trials[trial.trialId];
      assert.equal(seen?.status, trial.values.length >= 4 ? 'completed' : 'pruned');
      assert.equal(seen?.value, trial.values.at(-1));
    }
    assert.ok(state.trials.length > 10, 'TPE proposed past its startup draws');
  });

  void it('each tick advances distinct trials by one epoch each, never past the budget', () => {
    const { actions, state } = drive(createDyhpo(parseSearchSpace(SPACE), 5, 4), 40);
    assert.equal(actions.length, 80);
    for (let i = 0; i < actions.length; i += 2) assert.notEqual(actions[i]!.trialId, actions[i + 1]!.trialId);
    for (const trial of state.trials) assert.ok(trial.values.length <= 4, `trial ${trial.trialId}`);
    // Epochs of a trial come in order: 1, 2, … (recordEpoch throws otherwise).
    const depth = new Map<number, number>();
    for (const { trialId, epoch } of actions) {
      assert.equal(epoch, (depth.get(trialId) ?? 0) + 1);
      depth.set(trialId, epoch);
    }
    // After the 10 startup trials the curves decide: some trial was resumed past epoch 1.
    assert.ok(state.trials.some((trial) => trial.values.length >= 2));
  });

  void it('is deterministic from the seed, and its state survives a JSON round trip', () => {
    const a = drive(createDyhpo(parseSearchSpace(SPACE), 3, 9), 25);
    const b = drive(createDyhpo(parseSearchSpace(SPACE), 3, 9), 25);
    assert.deepEqual(a.actions, b.actions);
    const copy = JSON.parse(JSON.stringify(a.state)) as DyhpoState;
    assert.deepEqual(chooseActions(copy, 2).actions, chooseActions(a.state, 2).actions);
    assert.notDeepEqual(drive(createDyhpo(parseSearchSpace(SPACE), 4, 9), 25).actions, a.actions);
  });

  void it('refuses an epoch out of order', () => {
    const round = chooseActions(createDyhpo(parseSearchSpace(SPACE), 1, 9), 1);
    assert.throws(() => recordEpoch(round.state, 0, 2, 0.5), /trial 0: epoch 2 after 0 epochs/);
  });

  void it('stops at the target and charges one epoch per action', async () => {
    const budget: SweepBudget = { target: 0.8, epochsPerTrial: 9, parallelism: 2, maxEpochs: 360 };
    let asked = 0;
    const run = await runDyhpoSweep(SPACE, 2, budget, async (params, epoch) => {
      asked++;
      return curveValue(params, epoch);
    });
    assert.ok(run.reached);
    assert.equal(run.epochs, asked);
  });

  void it('is a bench method run only on request', () => {
    assert.deepEqual(parseMethods('fineflow-dyhpo'), ['fineflow-dyhpo']);
    const method = METHODS.find((m) => m.id === 'fineflow-dyhpo');
    assert.ok(method?.onRequest && method.dyhpo);
    assert.equal(withDyhpoSettings(method, '{"proposals":"tpe"}').dyhpo?.proposals, 'tpe');
    assert.throws(() => withDyhpoSettings(method, '[1]'), /--dyhpo: must be a JSON object/);
    assert.match(method.label, /comparison/);
  });
});
