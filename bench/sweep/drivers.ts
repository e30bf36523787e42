/**
 * Drivers of the sweep benchmark: each runs one search method on one objective and seed and
 * counts epochs until some trial reports the target. All methods share one accounting:
 *
 * - up to `parallelism` trials run at once and every running trial trains one epoch per tick
 *   (the order the `hyperparameterSweep` workflow sees reports in, with equal-speed workers);
 * - each epoch value asked for costs one epoch, whether the result cache had it or not;
 * - the sweep ends when a value reaches the target, or when `maxEpochs` epochs were spent.
 *
 * Fineflow's methods run the sweep controller of the workflow (src/core/sweep/sweep-state.ts) with the
 * defaults of a sweep started today (e.g. ASHA's grace for a searched `warmupEpochs`).
 * Optuna runs in a long-lived Python subprocess (bench/optuna/optuna_driver.py) that asks and
 * tells, and requests each epoch's value from this process over stdin/stdout, so its trials are
 * trained by the same code and cache. One process per objective serves every seed and pruner:
 * a subprocess per trial would pay Python's and Optuna's start-up (about a second here) for each
 * of thousands of trials, and would need its own copy of the training data and cache.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { JsonObject, JsonValue } from '../../src/core/spec/plan-types';
import { parseSearchSpace, type ParameterValues, type SearchSpace } from '../../src/core/sweep/space';
import { withDefaultPromotion } from '../../src/core/sweep/sweep-plan';
import {
  closePausedTrials,
  createSweep,
  isDone,
  nextTrials,
  parseSweepConfig,
  recordIntermediate,
  recordResult,
  runningTrials,
  stopLaunching,
  type SweepState,
} from '../../src/core/sweep/sweep-state';
import type { GpOptions } from '../../src/core/sweep/gp';
import type { PriorTrial } from '../../src/core/sweep/warm-start';
import { warmStartStops, withStoppingAsha } from '../../src/core/sweep/warm-stopping';
import { chooseActions, createDyhpo, recordEpoch, type DyhpoOptions } from './dyhpo';
import type { SweepRun } from './sweep-stats';

/** Validation accuracy of `params` after `epoch`, under the sweep's seed. */
export type EpochValue = (params: ParameterValues, epoch: number) => Promise<number>;
/** Validation loss of `params` after an epoch whose value was asked for (undefined when unknown); costs no epoch. */
export type EpochLoss = (params: ParameterValues, epoch: number) => number | undefined;

export interface SweepBudget {
  readonly target: number;
  readonly epochsPerTrial: number;
  readonly parallelism: number;
  /** Total epochs a sweep may spend before it counts as not reaching the target. */
  readonly maxEpochs: number;
}

/** Tracks epochs spent and the best value so far, and says when the sweep is over. */
export class Tally {
  epochs = 0;
  best = -Infinity;
  reached = false;
  readonly anytime: [number, number][] = [];
  constructor(private readonly budget: SweepBudget) {}
  /** Count one epoch's value; true when the sweep must end. */
  record(value: number): boolean {
    this.epochs++;
    if (value > this.best) {
      this.best = value;
      this.anytime.push([this.epochs, value]);
    }
    if (value >= this.budget.target) this.reached = true;
    return this.reached || this.epochs >= this.budget.maxEpochs;
  }
  result(seed: number, trials: number): SweepRun {
    return { seed, epochs: this.epochs, reached: this.reached, trials, anytime: this.anytime };
  }
}

export type FineflowMethod =
  | { readonly algorithm: 'random'; readonly earlyStopping: 'none' }
  /** `algorithm: gp` (src/core/sweep/gp.ts) with the default's ASHA; `gp`: its options (a setting under test). */
  | { readonly algorithm: 'gp'; readonly earlyStopping: 'asha'; readonly gp?: Partial<GpOptions> }
  | {
      readonly algorithm: 'tpe';
      readonly earlyStopping: 'asha' | 'none';
      readonly tpe?: Readonly<Record<string, unknown>>;
      /** ASHA settings laid over the bench's `{reductionFactor: 3, minEpochs: 1}` (a variant, e.g. `{graceEpochs: 'adaptive'}`). */
      readonly asha?: Readonly<Record<string, unknown>>;
      /**
       * A warm sweep whose priors fill TPE's startup runs stopping-based ASHA, as the sweep stage decides it
       * (src/core/sweep/warm-start.ts `warmStartStops`).
       */
      readonly warmStops?: boolean;
    };

/**
 * One sweep of Fineflow's controller, driven tick by tick. `priorTrials`: the history of an earlier sweep
 * (the retrain scenario), given to `createSweep` as a warm-start sweep gets it.
 */
export async function runFineflowSweep(
  method: FineflowMethod,
  space: Readonly<Record<string, unknown>>,
  seed: number,
  budget: SweepBudget,
  valueAt: EpochValue,
  priorTrials?: readonly PriorTrial[],
  /** The loss after an epoch, passed to the controller with its value (read only by ASHA's `lossAtRungs`). */
  lossAt?: EpochLoss,
): Promise<SweepRun> {
  const tally = new Tally(budget);
  const state = await driveSweep(
    fineflowSweep(method, space, seed, budget, priorTrials),
    budget,
    valueAt,
    (value) => tally.record(value),
    false,
    lossAt,
  );
  return tally.result(seed, state.trials.length);
}

/**
 * The history an earlier sweep leaves for a retrain: the same sweep as {@link runFineflowSweep}, but once
 * it reaches the target (or spends the budget) it starts no new trial and lets the running ones finish,
 * which ASHA may still stop (what a sweep stage does after `objective.target`); its completed and stopped
 * trials, newest first, as the warm-start input of a later sweep.
 */
export async function fineflowHistory(
  method: FineflowMethod,
  space: Readonly<Record<string, unknown>>,
  seed: number,
  budget: SweepBudget,
  valueAt: EpochValue,
): Promise<PriorTrial[]> {
  const tally = new Tally(budget);
  const state = await driveSweep(
    fineflowSweep(method, space, seed, budget),
    budget,
    valueAt,
    (value) => tally.record(value),
    true,
  );
  // Newest first, the order a sweep stage's warm start reads its history in (src/core/sweep/sweep-history.ts);
  // trials still paused at a rung end as stopped there, as the sweep stage records them.
  return closePausedTrials(state)
    .trials.flatMap((trial): PriorTrial[] =>
      (trial.status === 'completed' || trial.status === 'stopped') && trial.value !== undefined && trial.epochs
        ? [{ params: trial.params, status: trial.status, value: trial.value, epochs: trial.epochs }]
        : [],
    )
    .reverse();
}

/** The controller's state at the start of a Fineflow method's sweep (the sweep stage's defaults, as the bench runs it). */
export function fineflowSweep(
  method: FineflowMethod,
  space: Readonly<Record<string, unknown>>,
  seed: number,
  budget: SweepBudget,
  priorTrials?: readonly PriorTrial[],
): SweepState {
  const config = parseSweepConfig({
    algorithm: method.algorithm,
    space,
    objective: { metric: 'validation.accuracy', goal: 'maximize' },
    maxTrials: budget.maxEpochs,
    parallelism: budget.parallelism,
    epochsPerTrial: budget.epochsPerTrial,
    // ASHA as a sweep stage gets it today: promotion-based unless the method says otherwise (sweep-plan.ts).
    earlyStopping:
      method.earlyStopping === 'asha'
        ? withDefaultPromotion({
            type: 'asha',
            reductionFactor: 3,
            minEpochs: 1,
            ...((method.algorithm === 'tpe' ? method.asha : {}) as JsonObject),
          })
        : { type: 'none' },
    ...(method.algorithm === 'tpe' && method.tpe ? { tpe: method.tpe } : {}),
    ...(method.algorithm === 'gp' && method.gp ? { gp: method.gp } : {}),
    seed,
  });
  const stops = method.algorithm === 'tpe' && method.warmStops === true && priorTrials !== undefined;
  return createSweep(
    stops && warmStartStops(config, priorTrials) ? withStoppingAsha(config) : config,
    priorTrials ? { priorTrials } : undefined,
  );
}

/**
 * Every running trial trains one epoch per tick; `over(value)` counts each epoch's value and says when the
 * sweep is over. Then the sweep returns at once, or with `drain` starts no new trial and finishes the running.
 */
async function driveSweep(
  initial: SweepState,
  budget: SweepBudget,
  valueAt: EpochValue,
  over: (value: number) => boolean,
  drain: boolean,
  lossAt?: EpochLoss,
): Promise<SweepState> {
  let state = initial;
  const epochsDone = new Map<number, number>();
  let draining = false;
  while (!isDone(state)) {
    state = nextTrials(state).state;
    for (const trial of runningTrials(state)) {
      const epoch = (epochsDone.get(trial.trialId) ?? 0) + 1;
      epochsDone.set(trial.trialId, epoch);
      const value = await valueAt(trial.params, epoch);
      if (!draining && over(value)) {
        if (!drain) return state;
        draining = true;
        state = stopLaunching(state, 'the earlier sweep ended');
      }
      const decision = recordIntermediate(state, trial.trialId, epoch, value, lossAt?.(trial.params, epoch));
      state = decision.state;
      if (decision.stop) state = recordResult(state, trial.trialId, { status: 'stopped', epochs: epoch });
      else if (epoch >= budget.epochsPerTrial)
        state = recordResult(state, trial.trialId, { status: 'completed', value, epochs: epoch });
    }
  }
  return state;
}

/**
 * One sweep of the DyHPO-style scheduler (./dyhpo.ts, a comparison method): each tick takes `parallelism`
 * actions, each trains one trial one epoch (a new trial, or a paused one resumed) and is charged one epoch.
 */
export async function runDyhpoSweep(
  space: Readonly<Record<string, unknown>>,
  seed: number,
  budget: SweepBudget,
  valueAt: EpochValue,
  options: Partial<DyhpoOptions> = {},
): Promise<SweepRun> {
  const tally = new Tally(budget);
  let state = createDyhpo(parseSearchSpace(space), seed, budget.epochsPerTrial, options);
  for (;;) {
    const round = chooseActions(state, budget.parallelism);
    state = round.state;
    if (round.actions.length === 0) return tally.result(seed, state.trials.length);
    for (const action of round.actions) {
      const value = await valueAt(action.params, action.epoch);
      if (tally.record(value)) return tally.result(seed, state.trials.length);
      state = recordEpoch(state, action.trialId, action.epoch, value);
    }
  }
}

export type OptunaPruner = 'successive-halving' | 'hyperband';

/** A search space as the Optuna driver takes it: one entry per parameter, Optuna's distribution names. */
export function optunaSpace(space: SearchSpace): JsonValue[] {
  return space.parameters.map(({ name, domain }): JsonValue => {
    switch (domain.kind) {
      case 'uniform':
        return { name, kind: 'float', low: domain.low, high: domain.high, log: false };
      case 'logUniform':
        return { name, kind: 'float', low: domain.low, high: domain.high, log: true };
      case 'int':
        return { name, kind: 'int', low: domain.low, high: domain.high, step: domain.step, log: domain.log };
      case 'choice':
        return { name, kind: 'categorical', choices: [...domain.values] };
      case 'fixed':
        return { name, kind: 'fixed', value: domain.value };
    }
  });
}

interface DriverMessage {
  readonly op: 'value' | 'end' | 'ready' | 'error';
  readonly trial?: number;
  readonly params?: ParameterValues;
  readonly epoch?: number;
  readonly trials?: number;
  readonly message?: string;
  readonly version?: string;
}

/** The Optuna subprocess: one sweep at a time, requests answered from `valueAt`. */
export class OptunaDriver {
  private readonly lines: AsyncIterator<string>;
  private stderr = '';
  version = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  static async start(python: string, script: string): Promise<OptunaDriver> {
    const driver = new OptunaDriver(spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'] }));
    const ready = await driver.receive();
    if (ready.op !== 'ready') throw new Error(`optuna driver did not start: ${JSON.stringify(ready)}`);
    driver.version = ready.version ?? '';
    return driver;
  }

  async sweep(
    pruner: OptunaPruner,
    space: SearchSpace,
    seed: number,
    budget: SweepBudget,
    valueAt: EpochValue,
    priorTrials?: readonly PriorTrial[],
  ): Promise<SweepRun> {
    this.send({
      op: 'sweep',
      pruner,
      seed,
      space: optunaSpace(space),
      epochsPerTrial: budget.epochsPerTrial,
      parallelism: budget.parallelism,
      maxTrials: budget.maxEpochs,
      ...(priorTrials ? { priorTrials: priorTrials.map((trial) => ({ ...trial })) } : {}),
    });
    const tally = new Tally(budget);
    for (;;) {
      const message = await this.receive();
      if (message.op === 'end') return tally.result(seed, message.trials ?? 0);
      if (message.op !== 'value' || !message.params || message.epoch === undefined)
        throw new Error(`optuna driver: unexpected message ${JSON.stringify(message)}`);
      const value = await valueAt(message.params, message.epoch);
      this.send({ value, stop: tally.record(value) });
    }
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    if (this.child.exitCode === null) await new Promise((resolve) => this.child.once('exit', resolve));
  }

  private send(message: Record<string, JsonValue>): void {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  private async receive(): Promise<DriverMessage> {
    const next = await this.lines.next();
    if (next.done) throw new Error(`optuna driver exited (code ${this.child.exitCode}): ${this.stderr}`);
    const message = JSON.parse(next.value) as DriverMessage;
    if (message.op === 'error') throw new Error(`optuna driver failed: ${message.message}\n${this.stderr}`);
    return message;
  }
}
