/**
 * Warm start: TPE seeded from the trials of earlier sweeps of the same pipeline stage.
 *
 * A retrain (new data, same model and space) asks the same question as the sweep before it, so that sweep's
 * good and bad regions are worth knowing from the first suggestion. Prior trials join TPE's observations as
 * finished trials: they count toward `nStartupTrials` (≥ 10 of them and the model is used at once) and toward
 * the good/bad split, ranked like this sweep's own (completed before stopped, deeper first; tpe.ts). They are
 * not trials of this sweep: no id, no row, no count, no `maxTrials` share, no ASHA rung (sweep-state.ts).
 *
 * The caller (the activity reading the sweep history) checks each record against the current space with
 * {@link priorTrialProblem} and drops what does not fit; {@link priorObservations} checks again and throws,
 * so a caller's mistake cannot reach the model silently.
 */
import { InvalidInputError } from '../errors';
import type { Goal } from './searcher';
import type { ParameterDomain, ParameterValues, SearchSpace } from './space';
import { rankTrials, type TpeTrial } from './tpe';

/** A trial of an earlier sweep of the same pipeline stage, already checked against the current space. */
export interface PriorTrial {
  readonly params: ParameterValues; // every parameter of the current space, each inside its domain
  readonly status: 'completed' | 'stopped';
  readonly value: number; // finite: the final value (completed) or the value when stopped
  readonly epochs: number; // integer ≥ 1: epochs the trial trained
}

/**
 * Prior trials a sweep keeps: the best 100 by TPE's ranking (completed before stopped, deeper first). The state
 * carrying them is in workflow history and goes through continue-as-new, so it must stay small (100 trials of a
 * 5-parameter space ≈ 18 KB of JSON), and with Optuna's cap of 25 good trials the best 100 hold every trial that
 * can be in l(x) plus 75 of g(x).
 */
export const MAX_PRIOR_TRIALS = 100;

/** Why `trial` cannot seed a sweep over `space` (the first problem, naming the field), or undefined. */
export function priorTrialProblem(space: SearchSpace, trial: PriorTrial): string | undefined {
  if (trial.status !== 'completed' && trial.status !== 'stopped')
    return `status must be completed or stopped, got ${JSON.stringify(trial.status)}`;
  if (typeof trial.value !== 'number' || !Number.isFinite(trial.value))
    return `value must be a finite number, got ${JSON.stringify(trial.value)}`;
  if (!Number.isInteger(trial.epochs) || trial.epochs < 1)
    return `epochs must be an integer ≥ 1, got ${JSON.stringify(trial.epochs)}`;
  const params = trial.params as Record<string, unknown> | null;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return 'params must be an object';
  const names = new Set(space.parameters.map((parameter) => parameter.name));
  const extra = Object.keys(params).find((name) => !names.has(name));
  if (extra !== undefined) return `params.${extra} is not a parameter of the current space`;
  for (const { name, domain } of space.parameters) {
    if (!Object.hasOwn(params, name)) return `params.${name} is missing`;
    if (!inDomain(domain, params[name]))
      return `params.${name} = ${JSON.stringify(params[name])} is outside its domain`;
  }
  return undefined;
}

/**
 * The TPE observations of `priors`, given newest first (as `warmStartFromHistory` reads the sweep history: newest
 * record, newest trial first): checked (an unfit trial throws {@link InvalidInputError} naming `priorTrials[i]`),
 * cut to the best {@link MAX_PRIOR_TRIALS} by TPE's ranking, returned oldest first with ids −n … −1 (the newest
 * −1). So they never collide with this sweep's ids (0, 1, …) and count as older than its trials: past 25
 * observations a Parzen kernel's weight falls with its age, as in Optuna, where trials added to a study before a
 * sweep get the first numbers in the order they ran.
 */
export function priorObservations(space: SearchSpace, goal: Goal, priors: readonly PriorTrial[]): TpeTrial[] {
  const observed = priors.map((prior, index): TpeTrial => {
    const problem = priorTrialProblem(space, prior);
    if (problem !== undefined)
      throw new InvalidInputError(`priorTrials[${index}]: ${problem}`, { path: `priorTrials[${index}]` });
    // A stopped trial is TPE's "pruned": ranked by how deep it got, then by its value when stopped.
    return prior.status === 'completed'
      ? { trialId: index, params: prior.params, status: 'completed', value: prior.value }
      : { trialId: index, params: prior.params, status: 'pruned', value: prior.value, epoch: prior.epochs };
  });
  const kept = rankTrials(observed, goal)
    .slice(0, MAX_PRIOR_TRIALS)
    .sort((a, b) => b.trialId - a.trialId);
  return kept.map((trial, order) => ({ ...trial, trialId: order - kept.length }));
}

function inDomain(domain: ParameterDomain, value: unknown): boolean {
  switch (domain.kind) {
    case 'fixed':
      return JSON.stringify(value) === JSON.stringify(domain.value);
    case 'choice':
      return domain.values.some((choice) => JSON.stringify(choice) === JSON.stringify(value));
    case 'uniform':
    case 'logUniform':
      return typeof value === 'number' && Number.isFinite(value) && value >= domain.low && value <= domain.high;
    case 'int':
      return (
        typeof value === 'number' &&
        Number.isInteger(value) &&
        value >= domain.low &&
        value <= domain.high &&
        Number.isInteger((value - domain.low) / domain.step)
      );
  }
}
