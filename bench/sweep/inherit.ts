/**
 * Checkpoint inheritance beside the default search (PBT's exploit and explore, Jaderberg et al. 2017), as a BENCH
 * PROTOTYPE (`--methods fineflow-tpe-asha-inherit`), not a sweep-stage algorithm: it is measured on development seeds
 * first (docs/sweep-benchmark.md, "Checkpoint inheritance"), and only a rule that wins there is worth the workflow's
 * half (a trial that trains from another trial's checkpoint, `inheritFrom` of src/ml/train/types.ts).
 *
 * Why: every rule tried so far re-ordered the same information (which configurations to try, which to keep
 * training), and none moved the epochs to the target by more than noise. The trials' weights are information a
 * cold sampler such as Optuna's never uses: a sweep holds checkpoints of its best trials, and a new configuration
 * started from one of them begins where that trial got to, not at epoch 0.
 *
 * The rule: the default controller (TPE + promotion-based ASHA, src/core/sweep/sweep-state.ts) runs unchanged and
 * fills the slots, except that once it has started `afterTrials` trials, a share `share` of the new trials it would
 * start are children instead. A child takes the best point any trial (or child) has reported before the last epoch
 * (trial, epoch, value; at most `childrenPerCheckpoint` children per point), perturbs that trial's hyperparameters
 * (PBT's explore: each numeric one times `factor` or divided by it, an ordered choice one step, clipped to the
 * space), and trains from the point's checkpoint with them, within the same epoch budget per lineage. It trains on
 * while each epoch's value is at least the point's value, and stops at the first epoch below it; its points join
 * the pool, so a lineage can be inherited again. Children stay out of TPE and ASHA: their values start from another
 * trial's weights and would mislead both about their configuration.
 *
 * Epochs are charged as for every method: each epoch a trial or child trains costs one; the epochs it inherited
 * were charged to the trial that trained them.
 */
import { RandomSource, seedRandomState } from '../../src/core/sweep/random-source';
import { parseSearchSpace, type ParameterValues, type SearchSpace } from '../../src/core/sweep/space';
import {
  isDone,
  nextTrials,
  recordIntermediate,
  recordResult,
  runningTrials,
  type SweepState,
} from '../../src/core/sweep/sweep-state';
import { Tally, type SweepBudget } from './drivers';
import type { SweepRun } from './sweep-stats';

export interface InheritOptions {
  /** Trials the controller starts before the first child (TPE's random startup draws give the pool its points). */
  readonly afterTrials: number;
  /** Of the new trials after that, the share started as children (the rest are the controller's proposals). */
  readonly share: number;
  /** Children started from one point (trial, epoch) at most. */
  readonly childrenPerCheckpoint: number;
  /** PBT's perturbation: a numeric hyperparameter is multiplied or divided by this (> 1). */
  readonly factor: number;
  /**
   * Children start only from points within this of the best value any trial has reported (0: the best only); a
   * large value lets any point be the parent (the first prototype's rule).
   */
  readonly frontierGap: number;
  /**
   * 1: a child trains on only while every epoch beats its best so far, starting from the value it inherited (a child
   * that does not improve on its parent's point costs one epoch); 0: while every epoch is at least that value.
   */
  readonly mustImprove: number;
}

export const DEFAULT_INHERIT_OPTIONS: InheritOptions = {
  afterTrials: 10,
  share: 0.5,
  childrenPerCheckpoint: 3,
  factor: 1.25,
  frontierGap: 1,
  mustImprove: 0,
};

/** One segment of a lineage: `params` trained from the end of epoch `fromEpoch` (0: from the start). */
export interface LineageStep {
  readonly params: ParameterValues;
  readonly fromEpoch: number;
}

/** Validation accuracy after `epoch` of a lineage (epoch > the last segment's `fromEpoch`), under the sweep's seed. */
export type LineageValue = (lineage: readonly LineageStep[], epoch: number) => Promise<number>;

/** A reported value: where a child can start. */
interface Point {
  readonly lineage: readonly LineageStep[];
  readonly epoch: number;
  readonly value: number;
  children: number;
}

interface Child {
  readonly lineage: readonly LineageStep[];
  /** The value of the point it started from: it stops at the first epoch below it. */
  readonly startValue: number;
  /** Its start value, then its best (`mustImprove`: it stops at the first epoch that does not beat it). */
  best: number;
  epochsDone: number;
}

export function parseInheritOptions(input: unknown): InheritOptions {
  if (input === undefined) return DEFAULT_INHERIT_OPTIONS;
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new RangeError(`--inherit takes a JSON object of ${Object.keys(DEFAULT_INHERIT_OPTIONS).join(', ')}`);
  const options: Record<string, number> = { ...DEFAULT_INHERIT_OPTIONS };
  for (const [key, value] of Object.entries(input)) {
    if (!(key in DEFAULT_INHERIT_OPTIONS))
      throw new RangeError(
        `--inherit: unknown option ${key}; known: ${Object.keys(DEFAULT_INHERIT_OPTIONS).join(', ')}`,
      );
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new RangeError(`--inherit: ${key} must be a number`);
    options[key] = value;
  }
  const parsed = options as unknown as InheritOptions;
  if (!(parsed.share >= 0 && parsed.share <= 1)) throw new RangeError('--inherit: share must be in [0, 1]');
  if (!(parsed.factor > 1 && parsed.factor <= 10)) throw new RangeError('--inherit: factor must be in (1, 10]');
  if (!Number.isInteger(parsed.afterTrials) || parsed.afterTrials < 0 || parsed.afterTrials > 1000)
    throw new RangeError('--inherit: afterTrials must be an integer in 0…1000');
  if (!Number.isInteger(parsed.childrenPerCheckpoint) || parsed.childrenPerCheckpoint < 1)
    throw new RangeError('--inherit: childrenPerCheckpoint must be a positive integer');
  if (!(parsed.frontierGap >= 0)) throw new RangeError('--inherit: frontierGap must be at least 0');
  if (parsed.mustImprove !== 0 && parsed.mustImprove !== 1)
    throw new RangeError('--inherit: mustImprove must be 0 or 1');
  return parsed;
}

/** PBT's explore step: every searched hyperparameter moved one step from `params`, within the space. */
export function perturb(
  params: ParameterValues,
  space: SearchSpace,
  factor: number,
  random: RandomSource,
): ParameterValues {
  const moved: Record<string, ParameterValues[string]> = { ...params };
  for (const { name, domain } of space.parameters) {
    const value = params[name];
    const up = random.uniform() < 0.5;
    switch (domain.kind) {
      case 'logUniform':
      case 'uniform': {
        if (typeof value !== 'number') break;
        // A uniform parameter near 0 (dropout, warm-up) moves by a share of its range, not only of its value.
        const scaled = up ? value * factor : value / factor;
        const step = domain.kind === 'uniform' ? (domain.high - domain.low) * (factor - 1) * 0.5 : 0;
        const next =
          domain.kind === 'uniform' ? (up ? Math.max(scaled, value + step) : Math.min(scaled, value - step)) : scaled;
        moved[name] = Math.min(domain.high, Math.max(domain.low, next));
        break;
      }
      case 'int': {
        if (typeof value !== 'number') break;
        const next = value + (up ? domain.step : -domain.step);
        moved[name] = Math.min(domain.high, Math.max(domain.low, next));
        break;
      }
      case 'choice': {
        const at = domain.values.findIndex((each) => JSON.stringify(each) === JSON.stringify(value));
        if (at < 0) break;
        const next = Math.min(domain.values.length - 1, Math.max(0, at + (up ? 1 : -1)));
        moved[name] = domain.values[next] as ParameterValues[string];
        break;
      }
      case 'fixed':
        break;
    }
  }
  return moved;
}

/**
 * The point a new child starts from: the best value, the earliest reported on a tie, within `frontierGap` of the best
 * value of all points; undefined when none is left.
 */
export function bestPoint<P extends { readonly epoch: number; readonly value: number; readonly children: number }>(
  points: readonly P[],
  epochsPerTrial: number,
  childrenPerCheckpoint: number,
  frontierGap = Infinity,
): P | undefined {
  let best: P | undefined;
  let top = -Infinity;
  for (const point of points) {
    top = Math.max(top, point.value);
    if (point.epoch >= epochsPerTrial || point.children >= childrenPerCheckpoint) continue;
    if (best === undefined || point.value > best.value) best = point;
  }
  return best !== undefined && best.value >= top - frontierGap ? best : undefined;
}

/** Draws at most this many perturbations for a new child before a point counts as used up. */
const CHILD_DRAWS = 8;

/** A child of `point` no child started before it has (`started`: their lineages as JSON), or undefined. */
function newChild(
  point: Point,
  space: SearchSpace,
  factor: number,
  random: RandomSource,
  started: ReadonlySet<string>,
): LineageStep[] | undefined {
  const last = point.lineage[point.lineage.length - 1] as LineageStep;
  for (let draw = 0; draw < CHILD_DRAWS; draw++) {
    const lineage = [...point.lineage, { params: perturb(last.params, space, factor, random), fromEpoch: point.epoch }];
    if (!started.has(JSON.stringify(lineage))) return lineage;
  }
  return undefined;
}

function withParallelism(state: SweepState, parallelism: number): SweepState {
  return { ...state, config: { ...state.config, parallelism } };
}

/**
 * One sweep of the default controller with children beside it, driven tick by tick as ./drivers.ts drives the
 * default: every running trial and child trains one epoch per tick, at most `budget.parallelism` at once.
 */
export async function runInheritSweep(
  initial: SweepState,
  rawSpace: Readonly<Record<string, unknown>>,
  seed: number,
  budget: SweepBudget,
  valueAt: LineageValue,
  options: InheritOptions,
): Promise<SweepRun> {
  const space = parseSearchSpace(rawSpace);
  const random = new RandomSource(seedRandomState(seed * 7919 + 17));
  const tally = new Tally(budget);
  const points: Point[] = [];
  const children: Child[] = [];
  const epochsDone = new Map<number, number>();
  let state = initial;
  let childrenStarted = 0;
  let freshAfter = 0;
  /** Every child's lineage, so no two children train the same thing. */
  const started = new Set<string>();
  const result = () => tally.result(seed, state.trials.length + childrenStarted);

  const wantChild = (): boolean =>
    state.trials.length >= options.afterTrials &&
    childrenStarted + 1 <= options.share * (freshAfter + childrenStarted + 1);

  for (;;) {
    // Fill the free slots: promotions and proposals as the controller decides, but a proposal may become a child.
    for (;;) {
      const proposal = nextTrials(withParallelism(state, budget.parallelism - children.length));
      const parent =
        proposal.trials.length > 0 && wantChild()
          ? bestPoint(points, budget.epochsPerTrial, options.childrenPerCheckpoint, options.frontierGap)
          : undefined;
      if (!parent) {
        if (state.trials.length >= options.afterTrials) freshAfter += proposal.trials.length;
        state = withParallelism(proposal.state, budget.parallelism);
        break;
      }
      parent.children++;
      const lineage = newChild(parent, space, options.factor, random, started);
      if (!lineage) {
        // Every perturbation drawn is a child this point already has: the point is used up.
        parent.children = options.childrenPerCheckpoint;
        continue;
      }
      childrenStarted++;
      started.add(JSON.stringify(lineage));
      children.push({ lineage, startValue: parent.value, best: parent.value, epochsDone: parent.epoch });
    }
    const running = runningTrials(state);
    if (running.length === 0 && children.length === 0) return result();
    for (const trial of running) {
      const epoch = (epochsDone.get(trial.trialId) ?? 0) + 1;
      epochsDone.set(trial.trialId, epoch);
      const lineage = [{ params: trial.params, fromEpoch: 0 }];
      const value = await valueAt(lineage, epoch);
      if (tally.record(value)) return result();
      points.push({ lineage, epoch, value, children: 0 });
      const decision = recordIntermediate(state, trial.trialId, epoch, value);
      state = decision.state;
      if (decision.stop) state = recordResult(state, trial.trialId, { status: 'stopped', epochs: epoch });
      else if (epoch >= budget.epochsPerTrial)
        state = recordResult(state, trial.trialId, { status: 'completed', value, epochs: epoch });
    }
    for (const child of [...children]) {
      child.epochsDone++;
      const value = await valueAt(child.lineage, child.epochsDone);
      if (tally.record(value)) return result();
      points.push({ lineage: child.lineage, epoch: child.epochsDone, value, children: 0 });
      const stops = options.mustImprove === 1 ? value <= child.best : value < child.startValue;
      child.best = Math.max(child.best, value);
      if (stops || child.epochsDone >= budget.epochsPerTrial) children.splice(children.indexOf(child), 1);
    }
    if (isDone(state) && children.length === 0) return result();
  }
}
