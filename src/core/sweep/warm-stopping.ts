/**
 * ASHA for a warm-started sweep: stopping-based once the earlier trials fill TPE's startup (session 20).
 * Apart from ./warm-start.ts, which ./sweep-state.ts imports, because this reads the controller's config.
 */
import type { SweepConfig } from './sweep-state';
import { priorObservations, type PriorTrial } from './warm-start';

/**
 * Whether a warm-started sweep runs stopping-based ASHA instead of promotion's pauses (session 20,
 * docs/sweep-benchmark.md "Stopping-based ASHA once a warm start informs the first trial"): true for a TPE sweep with
 * plain promotion-based ASHA (no option that needs promotion) whose earlier trials fill TPE's startup
 * (`nStartupTrials` usable priors), so the model proposes from the first trial.
 *
 * Promotion pauses a trial at each rung until η trials have reached it and it is in their top 1/η, which guards a
 * cold sweep against carrying its first (random) trials deep on a lucky epoch. A warm sweep's first trials are the
 * model's best guesses: pausing them holds back the trials most likely to reach the target, and on the benchmark's
 * development seeds a warm sweep that let them run on needed fewer epochs. Fewer priors than the startup, and the
 * first trials are random draws again: promotion stays.
 */
export function warmStartStops(config: SweepConfig, priors: readonly PriorTrial[]): boolean {
  const stopping = config.earlyStopping;
  if (config.algorithm !== 'tpe' || stopping.type !== 'asha' || stopping.promotion !== true) return false;
  if (stopping.brackets || stopping.promoteByTpeScore || stopping.adaptiveFirstRung || stopping.lossAtRungs)
    return false;
  return priorObservations(config.space, config.objective.goal, priors).length >= config.tpe.nStartupTrials;
}

/** `config` with stopping-based ASHA (promotion dropped), for a sweep {@link warmStartStops} says stops. */
export function withStoppingAsha(config: SweepConfig): SweepConfig {
  if (config.earlyStopping.type !== 'asha') return config;
  const { promotion: _promotion, ...stopping } = config.earlyStopping;
  return { ...config, earlyStopping: stopping };
}
