/**
 * Asynchronous successive halving (Li et al. 2020), with the semantics of Optuna's
 * `SuccessiveHalvingPruner`: rung k ends at epoch `minEpochs · η^k`. When a trial reaches a
 * rung, its value is recorded there and it continues only if it ranks in the top
 * `⌊n/η⌋` of the n values recorded at that rung so far (itself included); while fewer than
 * η trials have reached the rung (⌊n/η⌋ = 0) it must be the best so far. Ties continue.
 * Decisions never wait for other trials, so no worker sits idle.
 *
 * Rung audit (`auditEvery`, opt-in; absent = Optuna's pruner exactly): a rung's ranking may not predict the next
 * rung's (a slow starter looks weak at epoch 1), and no pruner that sees only the values at one rung can tell.
 * So every `auditEvery`-th trial a rung would stop (from trial `auditFromTrial` on) goes on to the next rung
 * instead, where it is judged as usual; if it ranks in that rung's top ⌊n/η⌋ (with n ≥ η there), the rung would
 * have stopped a trial worth keeping.
 * While at least {@link AUDIT_MIN_VERDICTS} audits have ended and a share ≥ 1/(2η) of them passed, the rung stops
 * nobody (every trial it would stop is then an audit too, so the evidence keeps coming and the rung prunes again
 * once its stopped trials stop passing). A rung whose ranking carried no information would see about 1/η of them
 * pass; a reliable one close to none. The last rung is never audited (there is no later rung to check it against).
 *
 * Promotion (`promotion`; Li et al.'s promotion-based ASHA; what a sweep stage of fine-tune trials gets unless it
 * says `promotion: false`, see sweep-plan.ts): instead of being judged on arrival, a trial
 * that reaches a rung pauses there (its checkpoint kept). Whenever a worker slot is free, the controller promotes
 * the best paused trial of the highest rung that lies in the top ⌊n/η⌋ of the n trials that reached that rung so
 * far and was not promoted from it before ({@link ashaNextPromotion}); only when none is promotable does a new
 * trial start. So a rung with fewer than η trials promotes nobody (no early trial is waved through for lack of
 * peers), and a trial that was second among three becomes promotable once the rung has six. Nothing is ever
 * stopped by a rung: trials still paused when the sweep ends are recorded as stopped there (sweep-state.ts).
 *
 * Brackets (`brackets`, with promotion; asynchronous Hyperband over promotion-based ASHA; a bench method, not
 * adopted: worse than the default on all three objectives, docs/sweep-benchmark.md): one rung's ranking can be a
 * poor guide (a CNN configuration that reaches its best at epoch 6–9 often looks ordinary at epoch 1), and no single
 * first rung suits every objective. With R rungs there are R+1 brackets; bracket b's first rung is rung b, so
 * bracket R's trials train their whole budget unjudged. Trials are dealt to brackets by id in Hyperband's
 * proportions ({@link ashaBracketWeights}), and a rung ranks only the trials of one bracket (its top ⌊n_b/η⌋ are
 * promotable), as Hyperband keeps its brackets apart.
 *
 * Second chance (`secondChance` of {@link ashaNextPromotion}; sweep-state.ts `promoteByTpeScore`, a bench method,
 * session 12): a rung with no paused trial in its value's top ⌊n/η⌋ may promote one from its top ⌊n/η²⌋ by another
 * score (the searcher's rating of the configuration), so a slow starter can be promoted from below the value's top.
 * Not adopted: it rescued the CNN's cut winners but promoted many ordinary trials, winners no more often than new
 * trials are (docs/sweep-benchmark.md).
 */
import { InvalidInputError } from '../errors';
import type { StopDecision } from './early-stopping';
import type { Goal } from './searcher';

export interface AshaConfig {
  /** η ≥ 2: about 1/η of the trials reaching a rung continue past it. */
  readonly reductionFactor: number;
  /** Epoch of the first rung, ≥ 1. */
  readonly minEpochs: number;
  /** A trial's full budget; rungs lie strictly below it (at maxEpochs the trial ends anyway). */
  readonly maxEpochs: number;
  /** Rung audit: every N-th trial a rung would stop continues to the next rung (see the module comment); absent = off. */
  readonly auditEvery?: number;
  /**
   * Trials with a lower id are never audited nor counted toward every N-th (the searcher's random startup trials,
   * set by sweep-state.ts); default 0. An open rung lets them through like any other.
   */
  readonly auditFromTrial?: number;
  /** Promotion-based ASHA (see the module comment); absent = stopping-based (Optuna's pruner, the parity tests). */
  readonly promotion?: boolean;
  /** Hyperband brackets over promotion (see the module comment); needs `promotion`; absent = one bracket. */
  readonly brackets?: boolean;
  /** Adaptive first rung over promotion (see the module comment and {@link FIRST_RUNG_CHECK}); absent = off. */
  readonly adaptiveFirstRung?: boolean;
  /**
   * Validation loss at the rungs, over promotion (see {@link AshaLossAtRungs}); absent = rungs rank by value alone.
   */
  readonly lossAtRungs?: AshaLossAtRungs;
}

/**
 * How promotion reads a trial's validation loss at a rung. `tie-break`: trials with equal values rank by lower loss
 * (before arrival order): accuracy on a small validation set is coarse (160 images: steps of 1/160), and at an early
 * rung many trials share a value, so which of them is promoted was decided by who arrived first. `rank`: rungs rank
 * by loss alone (then value, then arrival). Trials whose report has no finite loss rank after those with one.
 */
export type AshaLossAtRungs = 'tie-break' | 'rank';
export const ASHA_LOSS_AT_RUNGS: readonly AshaLossAtRungs[] = ['tie-break', 'rank'];

/**
 * Adaptive first rung: when {@link FIRST_RUNG_CHECK}.trials trials have values at both rung 0 and rung 1, their
 * rank correlation decides once whether rung 0 keeps judging; below `minCorrelation` later trials are first judged
 * at rung 1. A bench method, pre-registered and not adopted (session 13: level on all three objectives; the decision
 * comes too late in a sweep to move the CNN's median, docs/sweep-benchmark.md).
 * Fixed before any development-seed replay of the rule (docs/sweep-benchmark.md, session 13).
 */
export const FIRST_RUNG_CHECK = { trials: 6, minCorrelation: 0.3 } as const;

/** The adaptive first rung's one decision (present once taken). */
export interface AshaFirstRungCheck {
  /** Trials with values at rung 0 and rung 1 when it was taken. */
  readonly trials: number;
  /** Spearman correlation of their rung-0 and rung-1 values (0 when either rung's values all tie). */
  readonly correlation: number;
  /** True: rung 0 records no more trials (they are first judged at rung 1). */
  readonly dropped: boolean;
}

/** Bounds of `auditEvery`: 2 audits every other stopped trial; beyond 100 an audit is too rare to tell anything. */
export const AUDIT_EVERY_LIMITS = { min: 2, max: 100 } as const;
/** Audits that must have ended before their share that passed may open a rung. */
export const AUDIT_MIN_VERDICTS = 3;

/** One rung's audit (present only with `auditEvery`). */
export interface AshaRungAudit {
  /** Trials this rung judged too weak, whether stopped or let through. */
  readonly belowCut: number;
  /** Trials let through as audits whose verdict at the next rung has not come yet. */
  readonly pending: readonly number[];
  /** Audits that ranked in the next rung's top ⌊n/η⌋. */
  readonly passed: number;
  /** Audits that did not. */
  readonly failed: number;
}

export interface AshaRungEntry {
  readonly trialId: number;
  readonly value: number;
  /** `lossAtRungs` only: the trial's validation loss at the rung's epoch, when its report had a finite one. */
  readonly loss?: number;
  /** Brackets only: the trial's bracket (a rung ranks each bracket's trials apart); absent = bracket 0. */
  readonly bracket?: number;
}

export interface AshaState {
  readonly type: 'asha';
  readonly config: AshaConfig;
  readonly goal: Goal;
  /** Rung epochs, ascending: minEpochs · η^k < maxEpochs. */
  readonly rungEpochs: readonly number[];
  /** Values recorded at each rung, in arrival order. */
  readonly rungs: readonly (readonly AshaRungEntry[])[];
  /** Rung audit, one per rung (the last one stays empty); present only when `config.auditEvery` is set. */
  readonly audits?: readonly AshaRungAudit[];
  /** Promotion only: per rung, the trials promoted past it, in promotion order. */
  readonly promoted?: readonly (readonly number[])[];
  /** `adaptiveFirstRung` only, once decided: whether rung 0 still judges new trials. */
  readonly firstRungCheck?: AshaFirstRungCheck;
}

export function createAsha(config: AshaConfig, goal: Goal): AshaState {
  validateAshaConfig(config);
  return {
    type: 'asha',
    config,
    goal,
    rungEpochs: ashaRungEpochs(config),
    rungs: ashaRungEpochs(config).map(() => []),
    ...(config.auditEvery !== undefined
      ? { audits: ashaRungEpochs(config).map(() => ({ belowCut: 0, pending: [], passed: 0, failed: 0 })) }
      : {}),
    ...(config.promotion === true ? { promoted: ashaRungEpochs(config).map(() => []) } : {}),
  };
}

export function validateAshaConfig(config: AshaConfig, path = 'earlyStopping'): void {
  if (!Number.isInteger(config.reductionFactor) || config.reductionFactor < 2) {
    throw new InvalidInputError(`${path}.reductionFactor: must be an integer ≥ 2, got ${config.reductionFactor}`, {
      path: `${path}.reductionFactor`,
    });
  }
  if (!Number.isInteger(config.minEpochs) || config.minEpochs < 1) {
    throw new InvalidInputError(`${path}.minEpochs: must be an integer ≥ 1, got ${config.minEpochs}`, {
      path: `${path}.minEpochs`,
    });
  }
  if (!Number.isInteger(config.maxEpochs) || config.maxEpochs < config.minEpochs) {
    throw new InvalidInputError(
      `${path}.maxEpochs: must be an integer ≥ minEpochs (${config.minEpochs}), got ${config.maxEpochs}`,
      {
        path: `${path}.maxEpochs`,
      },
    );
  }
  const { auditEvery } = config;
  if (
    auditEvery !== undefined &&
    (!Number.isInteger(auditEvery) || auditEvery < AUDIT_EVERY_LIMITS.min || auditEvery > AUDIT_EVERY_LIMITS.max)
  ) {
    throw new InvalidInputError(
      `${path}.auditEvery: must be an integer from ${AUDIT_EVERY_LIMITS.min} to ${AUDIT_EVERY_LIMITS.max} (e.g. 3: every third trial a rung would stop is let through to check the rung), got ${auditEvery}`,
      { path: `${path}.auditEvery` },
    );
  }
  if (config.promotion !== undefined && typeof config.promotion !== 'boolean')
    throw new InvalidInputError(`${path}.promotion: must be true or false, got ${JSON.stringify(config.promotion)}`, {
      path: `${path}.promotion`,
    });
  if (config.promotion === true && auditEvery !== undefined)
    throw new InvalidInputError(
      `${path}.auditEvery: a promotion sweep stops no trial at a rung, so there is nothing to audit; ` +
        'remove auditEvery or promotion',
      { path: `${path}.auditEvery` },
    );
  if (config.brackets !== undefined && typeof config.brackets !== 'boolean')
    throw new InvalidInputError(`${path}.brackets: must be true or false, got ${JSON.stringify(config.brackets)}`, {
      path: `${path}.brackets`,
    });
  if (config.brackets === true && config.promotion !== true)
    throw new InvalidInputError(
      `${path}.brackets: Hyperband brackets run over promotion-based ASHA; set promotion: true or remove brackets`,
      { path: `${path}.brackets` },
    );
  if (config.adaptiveFirstRung !== undefined && typeof config.adaptiveFirstRung !== 'boolean')
    throw new InvalidInputError(
      `${path}.adaptiveFirstRung: must be true or false, got ${JSON.stringify(config.adaptiveFirstRung)}`,
      { path: `${path}.adaptiveFirstRung` },
    );
  if (config.adaptiveFirstRung === true && (config.promotion !== true || config.brackets === true))
    throw new InvalidInputError(
      `${path}.adaptiveFirstRung: runs over promotion-based ASHA without brackets; set promotion: true, ` +
        'remove brackets, or remove adaptiveFirstRung',
      { path: `${path}.adaptiveFirstRung` },
    );
  if (config.lossAtRungs !== undefined && !ASHA_LOSS_AT_RUNGS.includes(config.lossAtRungs))
    throw new InvalidInputError(
      `${path}.lossAtRungs: must be one of ${ASHA_LOSS_AT_RUNGS.join(', ')}, got ${JSON.stringify(config.lossAtRungs)}`,
      { path: `${path}.lossAtRungs` },
    );
  if (config.lossAtRungs !== undefined && config.promotion !== true)
    throw new InvalidInputError(
      `${path}.lossAtRungs: orders promotion-based ASHA's rungs; set promotion: true or remove lossAtRungs`,
      { path: `${path}.lossAtRungs` },
    );
  const { auditFromTrial } = config;
  if (auditFromTrial !== undefined && (!Number.isInteger(auditFromTrial) || auditFromTrial < 0))
    throw new InvalidInputError(`${path}.auditFromTrial: must be an integer ≥ 0, got ${auditFromTrial}`, {
      path: `${path}.auditFromTrial`,
    });
}

/** Epochs at which ASHA decides: minEpochs·η^k for every k with that value < maxEpochs. */
export function ashaRungEpochs(config: AshaConfig): number[] {
  const epochs: number[] = [];
  for (let epoch = config.minEpochs; epoch < config.maxEpochs; epoch *= config.reductionFactor) epochs.push(epoch);
  return epochs;
}

/**
 * Report a trial's objective value after `epoch` (1-based count of epochs done). Records the
 * value at every rung the trial newly completes and decides whether it continues.
 * Reports between rungs change nothing. A non-finite value stops the trial.
 */
export function ashaShouldStop(
  state: AshaState,
  trialId: number,
  epoch: number,
  value: number,
  /** Rungs at or below this epoch do not judge the trial (its warm-up; see `graceParameter` in sweep-state.ts). */
  graceEpochs = 0,
): StopDecision & { readonly state: AshaState; readonly audited?: true } {
  let rungs = state.rungs;
  let audits = state.audits;
  const auditNotes: string[] = [];
  let completed = completedRung(state, trialId);
  for (let k = completed + 1; k < state.rungEpochs.length && epoch >= (state.rungEpochs[k] as number); k++) {
    // Skipped, not recorded: a trial still warming up is compared with nobody, and nobody with it.
    if ((state.rungEpochs[k] as number) <= graceEpochs) continue;
    if (!Number.isFinite(value))
      return {
        state: { ...state, rungs },
        stop: true,
        rung: completed,
        reason: `value ${value} at epoch ${epoch} is not finite`,
      };
    const entries = [...(rungs[k] ?? []), { trialId, value }];
    rungs = rungs.map((rung, i) => (i === k ? entries : rung));
    completed = k;
    const values = entries.map((entry) => entry.value);
    const promotable = isPromotable(value, values, state.config.reductionFactor, state.goal);
    if (audits) audits = auditVerdict(audits, k, trialId, promotable, values.length, state.config.reductionFactor);
    if (!promotable) {
      const keep = Math.max(1, Math.floor(values.length / state.config.reductionFactor));
      const ranked = [...values].sort((a, b) => (state.goal === 'maximize' ? b - a : a - b));
      const cutoff = ranked[keep - 1];
      const judged = `rung ${k} (epoch ${state.rungEpochs[k]}): ${readable(value)} is not in the top ${keep} of ${values.length}${cutoff !== undefined ? ` (needs ${state.goal === 'maximize' ? '≥' : '≤'} ${readable(cutoff)})` : ''}`;
      const audit = audits && k < state.rungEpochs.length - 1 ? auditBelowCut(state, audits, k, trialId) : undefined;
      if (audit) audits = audit.audits;
      if (audit?.through) {
        auditNotes.push(`${judged}; ${audit.reason}`);
        continue;
      }
      return {
        state: { ...state, rungs, ...(audits ? { audits } : {}) },
        stop: true,
        rung: k,
        reason: judged,
      };
    }
  }
  return {
    state: { ...state, rungs, ...(audits ? { audits } : {}) },
    stop: false,
    rung: completed,
    // Below a rung's cut, let through by the audit: the sweep log says so (the reason says which rung and why).
    ...(auditNotes.length > 0 ? { audited: true as const } : {}),
    reason:
      auditNotes.length > 0
        ? auditNotes.join('; ')
        : completed < 0
          ? 'before the first rung'
          : `promoted past rung ${completed}`,
  };
}

/** An audit of rung k−1 that reached rung k gets its verdict (counted only when rung k had ≥ η values to rank). */
function auditVerdict(
  audits: readonly AshaRungAudit[],
  k: number,
  trialId: number,
  promotable: boolean,
  valuesAtRung: number,
  reductionFactor: number,
): readonly AshaRungAudit[] {
  const previous = audits[k - 1];
  if (k === 0 || !previous?.pending.includes(trialId)) return audits;
  const pending = previous.pending.filter((id) => id !== trialId);
  // Fewer than η values: "top ⌊n/η⌋" is "best so far", which says little about the audited rung.
  const counted = valuesAtRung >= reductionFactor;
  const updated: AshaRungAudit = {
    ...previous,
    pending,
    passed: previous.passed + (counted && promotable ? 1 : 0),
    failed: previous.failed + (counted && !promotable ? 1 : 0),
  };
  return audits.map((audit, i) => (i === k - 1 ? updated : audit));
}

/** True when rung k's audits say it stops trials that the next rung would keep (so it stops nobody for now). */
export function auditOpensRung(audit: AshaRungAudit, reductionFactor: number): boolean {
  const verdicts = audit.passed + audit.failed;
  return verdicts >= AUDIT_MIN_VERDICTS && audit.passed * 2 * reductionFactor >= verdicts;
}

/** A trial below rung k's cut, counted; `through` when it goes on as an audit (the rung is open, or it is the N-th). */
function auditBelowCut(
  state: AshaState,
  audits: readonly AshaRungAudit[],
  k: number,
  trialId: number,
): { readonly audits: readonly AshaRungAudit[]; readonly through: boolean; readonly reason: string } {
  const audit = audits[k] as AshaRungAudit;
  const belowCut = audit.belowCut + 1;
  const open = auditOpensRung(audit, state.config.reductionFactor);
  const every = state.config.auditEvery as number;
  const record = (updated: AshaRungAudit) => audits.map((entry, i) => (i === k ? updated : entry));
  if (!open && trialId < (state.config.auditFromTrial ?? 0)) return { audits, through: false, reason: '' };
  if (!open && belowCut % every !== 0) return { audits: record({ ...audit, belowCut }), through: false, reason: '' };
  const tally = `${audit.passed} of ${audit.passed + audit.failed} audited trials passed rung ${k + 1}`;
  return {
    audits: record({ ...audit, belowCut, pending: [...audit.pending, trialId] }),
    through: true,
    reason: open
      ? `continues: rung ${k} stops nobody while the trials it would stop keep passing the next rung (${tally})`
      : `continues as an audit of rung ${k} (1 in ${every} of the trials it would stop; ${tally})`,
  };
}

/**
 * Promotion: records `value` at every rung the trial newly completes with this report (rungs at or below
 * `graceEpochs` skipped, as in {@link ashaShouldStop}). `rung` is the highest rung newly recorded, or -1 when the
 * report completed none (the trial goes on); the caller pauses the trial there. Non-finite values are not recorded.
 */
export function ashaRecordRungs(
  state: AshaState,
  trialId: number,
  epoch: number,
  value: number,
  graceEpochs = 0,
  /** The trial's validation loss after `epoch` (kept only with `lossAtRungs`). */
  loss?: number,
): { readonly state: AshaState; readonly rung: number } {
  let rungs = state.rungs;
  let reached = -1;
  const bracket = ashaBracketOf(state, trialId);
  for (let k = completedRung(state, trialId) + 1; k < state.rungEpochs.length; k++) {
    const rungEpoch = state.rungEpochs[k] as number;
    if (epoch < rungEpoch) break;
    // Below the bracket's first rung, as in a warm-up: not recorded, compared with nobody.
    if (k < bracket || rungEpoch <= graceEpochs || !Number.isFinite(value)) continue;
    if (k === 0 && state.firstRungCheck?.dropped === true) continue;
    const entry: AshaRungEntry = {
      trialId,
      value,
      ...(state.config.brackets === true ? { bracket } : {}),
      ...(state.config.lossAtRungs !== undefined && loss !== undefined && Number.isFinite(loss) ? { loss } : {}),
    };
    rungs = rungs.map((rung, i) => (i === k ? [...rung, entry] : rung));
    reached = k;
  }
  const firstRungCheck = state.config.adaptiveFirstRung === true ? checkFirstRung(state, rungs) : undefined;
  return { state: { ...state, rungs, ...(firstRungCheck ? { firstRungCheck } : {}) }, rung: reached };
}

/**
 * The adaptive first rung's decision, taken once, when {@link FIRST_RUNG_CHECK}.trials trials have values at rung 0
 * and rung 1: rung 0 stops judging when their rank correlation is below `minCorrelation`. Why: on an objective
 * whose epoch-1 ranking says little about epoch 3 (the sweep benchmark's CNN), rung 0 pauses configurations that
 * would rank well later; where it ranks well (the MLPs), it is the cheapest cut there is. The correlation is over
 * promoted trials only (rung 0's top third), so it is lower than over all trials on every objective.
 */
function checkFirstRung(
  state: AshaState,
  rungs: readonly (readonly AshaRungEntry[])[],
): AshaFirstRungCheck | undefined {
  if (state.firstRungCheck !== undefined) return state.firstRungCheck;
  const first = new Map((rungs[0] ?? []).map((entry) => [entry.trialId, entry.value]));
  const pairs: [number, number][] = [];
  for (const entry of rungs[1] ?? []) {
    const atFirst = first.get(entry.trialId);
    if (atFirst !== undefined) pairs.push([atFirst, entry.value]);
  }
  if (pairs.length < FIRST_RUNG_CHECK.trials) return undefined;
  const correlation = rankCorrelation(
    pairs.map(([atFirst]) => atFirst),
    pairs.map(([, atSecond]) => atSecond),
  );
  return { trials: pairs.length, correlation, dropped: correlation < FIRST_RUNG_CHECK.minCorrelation };
}

/** Spearman's rank correlation (tied values share their mean rank); 0 when either side's values all tie. */
export function rankCorrelation(xs: readonly number[], ys: readonly number[]): number {
  const rx = meanRanks(xs);
  const ry = meanRanks(ys);
  const n = Math.min(rx.length, ry.length);
  if (n < 2) return 0;
  const mean = (n + 1) / 2;
  let covariance = 0;
  let varianceX = 0;
  let varianceY = 0;
  for (let i = 0; i < n; i++) {
    const dx = (rx[i] as number) - mean;
    const dy = (ry[i] as number) - mean;
    covariance += dx * dy;
    varianceX += dx * dx;
    varianceY += dy * dy;
  }
  return varianceX === 0 || varianceY === 0 ? 0 : covariance / Math.sqrt(varianceX * varianceY);
}

/** 1-based ranks, ascending; tied values get the mean of the ranks they span. */
function meanRanks(values: readonly number[]): number[] {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const ranks = new Array<number>(values.length).fill(0);
  for (let start = 0; start < order.length;) {
    let end = start;
    while (
      end + 1 < order.length &&
      (order[end + 1] as { value: number }).value === (order[start] as { value: number }).value
    )
      end++;
    for (let i = start; i <= end; i++) ranks[(order[i] as { index: number }).index] = (start + end) / 2 + 1;
    start = end + 1;
  }
  return ranks;
}

/**
 * Promotion: the trial to resume next, or undefined. Looks at the rungs from the highest down and returns the best
 * trial of the first rung that has one in its top ⌊n/η⌋ (ties: the earlier arrival) that `isPaused` and was not
 * promoted from that rung before. With `anyPaused` the ⌊n/η⌋ bound is dropped (the best paused trial of the
 * highest rung that has one): the sweep's last resort when no new trial may start and none completed (sweep-state.ts).
 */
export function ashaNextPromotion(
  state: AshaState,
  isPaused: (trialId: number) => boolean,
  anyPaused = false,
  /** The second chance (see {@link AshaSecondChance}); absent = promotion by value alone. */
  secondChance?: AshaSecondChance,
): { readonly trialId: number; readonly rung: number; readonly reason: string } | undefined {
  const { reductionFactor } = state.config;
  const brackets = state.config.brackets === true && !anyPaused ? state.rungEpochs.length + 1 : 1;
  for (let k = state.rungs.length - 1; k >= 0; k--) {
    const promoted = state.promoted?.[k] ?? [];
    for (let bracket = 0; bracket < Math.min(brackets, k + 1); bracket++) {
      const entries = (state.rungs[k] ?? []).filter((entry) => brackets === 1 || (entry.bracket ?? 0) === bracket);
      const keep = anyPaused ? entries.length : Math.floor(entries.length / reductionFactor);
      const ranked = entries
        .map((entry, arrival) => ({ ...entry, arrival }))
        .sort(rungOrder(state))
        .slice(0, keep);
      const chosen = ranked.findIndex((entry) => isPaused(entry.trialId) && !promoted.includes(entry.trialId));
      const entry = ranked[chosen];
      if (entry === undefined) {
        const second =
          anyPaused || !secondChance ? undefined : secondChancePromotion(state, k, entries, isPaused, secondChance);
        if (second !== undefined) return second;
        continue;
      }
      const among = brackets > 1 ? ` of bracket ${bracket}` : '';
      return {
        trialId: entry.trialId,
        rung: k,
        reason: anyPaused
          ? `resumed from rung ${k} (epoch ${state.rungEpochs[k]}): the best paused trial of the highest rung, ` +
            'since no new trial may start and none completed'
          : `promoted from rung ${k} (epoch ${state.rungEpochs[k]}): ${readable(entry.value)}` +
            `${entry.loss !== undefined ? ` (validation loss ${readable(entry.loss)})` : ''} ` +
            `ranks ${chosen + 1} of ${entries.length}${among} (top ${keep}` +
            `${state.config.lossAtRungs === 'rank' ? ' by validation loss' : ''})`,
      };
    }
  }
  return undefined;
}

/** A rung's order, best first: by value (or loss, see {@link AshaLossAtRungs}), then by arrival. */
function rungOrder(state: AshaState): (a: RankedEntry, b: RankedEntry) => number {
  const byValue = (a: RankedEntry, b: RankedEntry) =>
    state.goal === 'maximize' ? b.value - a.value : a.value - b.value;
  const byLoss = (a: RankedEntry, b: RankedEntry) =>
    (a.loss ?? Number.POSITIVE_INFINITY) - (b.loss ?? Number.POSITIVE_INFINITY) || 0;
  switch (state.config.lossAtRungs) {
    case undefined:
      return (a, b) => byValue(a, b) || a.arrival - b.arrival;
    case 'tie-break':
      return (a, b) => byValue(a, b) || byLoss(a, b) || a.arrival - b.arrival;
    case 'rank':
      return (a, b) => byLoss(a, b) || byValue(a, b) || a.arrival - b.arrival;
  }
}

type RankedEntry = AshaRungEntry & { readonly arrival: number };

/**
 * Promotion's second chance: a score of a trial other than its rung value (the searcher's rating of its
 * configuration, sweep-state.ts `promoteByTpeScore`). At a rung where no paused trial ranks in the value's top ⌊n/η⌋,
 * the paused, not-yet-promoted trial with the best score among the rung's top ⌊n/η²⌋ by score is promoted.
 * Why: a configuration that reaches its best late can look ordinary at an early rung, and no rule over rung values
 * can tell it from an ordinary one (docs/sweep-benchmark.md); the stricter share keeps the epochs it adds small.
 */
export interface AshaSecondChance {
  /** Higher is better, whatever the goal; undefined = no score yet (the trial is not ranked by it). */
  readonly score: (trialId: number) => number | undefined;
  /** What the score is, for the promotion's reason (e.g. "TPE score"). */
  readonly label: string;
}

function secondChancePromotion(
  state: AshaState,
  k: number,
  entries: readonly AshaRungEntry[],
  isPaused: (trialId: number) => boolean,
  secondChance: AshaSecondChance,
): { readonly trialId: number; readonly rung: number; readonly reason: string } | undefined {
  const keep = Math.floor(entries.length / state.config.reductionFactor ** 2);
  if (keep === 0) return undefined;
  const promoted = state.promoted?.[k] ?? [];
  const scored = entries.flatMap((entry, arrival) => {
    const score = secondChance.score(entry.trialId);
    return score === undefined || !Number.isFinite(score) ? [] : [{ ...entry, arrival, score }];
  });
  const ranked = scored.sort((a, b) => b.score - a.score || a.arrival - b.arrival).slice(0, keep);
  const chosen = ranked.findIndex((entry) => isPaused(entry.trialId) && !promoted.includes(entry.trialId));
  const entry = ranked[chosen];
  if (entry === undefined) return undefined;
  const byValue = Math.floor(entries.length / state.config.reductionFactor);
  return {
    trialId: entry.trialId,
    rung: k,
    reason:
      `promoted from rung ${k} (epoch ${state.rungEpochs[k]}) by its ${secondChance.label} ` +
      `${readable(entry.score)}: ranks ${chosen + 1} of ${entries.length} by it (top ${keep}); ` +
      `its value ${readable(entry.value)} is below the rung's top ${byValue}`,
  };
}

/**
 * Brackets: Hyperband's trial counts per bracket, n_b = ⌈(R+1)/(R+1−b) · η^(R−b)⌉ for b = 0…R with R rungs
 * (9, 5, 3 for η = 3 and two rungs), so each bracket gets about the same epochs (Li et al., Hyperband).
 */
export function ashaBracketWeights(rungCount: number, reductionFactor: number): number[] {
  return Array.from({ length: rungCount + 1 }, (_, b) =>
    Math.ceil(((rungCount + 1) / (rungCount + 1 - b)) * reductionFactor ** (rungCount - b)),
  );
}

/**
 * Brackets: the bracket of `trialId` (0 without brackets). Trials are dealt by id in the proportions of
 * {@link ashaBracketWeights}, interleaved by smooth weighted round-robin over one cycle (trial 0 in bracket 0), so
 * every stretch of trials — the searcher's random startup ones included — spans the brackets.
 */
export function ashaBracketOf(state: AshaState, trialId: number): number {
  if (state.config.brackets !== true) return 0;
  const weights = ashaBracketWeights(state.rungEpochs.length, state.config.reductionFactor);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const current = weights.map(() => 0);
  let bracket = 0;
  for (let i = 0; i <= trialId % total; i++) {
    weights.forEach((weight, b) => (current[b] = (current[b] as number) + weight));
    bracket = current.indexOf(Math.max(...current));
    current[bracket] = (current[bracket] as number) - total;
  }
  return bracket;
}

/** Promotion: records that `trialId` was promoted past `rung`. */
export function ashaMarkPromoted(state: AshaState, trialId: number, rung: number): AshaState {
  const promoted = (state.promoted ?? state.rungs.map(() => [])).map((ids, k) =>
    k === rung ? [...ids, trialId] : ids,
  );
  return { ...state, promoted };
}

/** Highest rung the trial has a recorded value at, or -1. */
export function completedRung(state: AshaState, trialId: number): number {
  for (let k = state.rungs.length - 1; k >= 0; k--) {
    if ((state.rungs[k] ?? []).some((entry) => entry.trialId === trialId)) return k;
  }
  return -1;
}

/** True when `value` ranks within the top ⌊n/η⌋ (at least 1) of `values` (which include it). */
export function isPromotable(value: number, values: readonly number[], reductionFactor: number, goal: Goal): boolean {
  const keep = Math.max(1, Math.floor(values.length / reductionFactor));
  const ordered = [...values].sort((a, b) => (goal === 'maximize' ? b - a : a - b));
  const threshold = ordered[keep - 1] as number;
  return goal === 'maximize' ? value >= threshold : value <= threshold;
}

/** Four significant digits: reasons are read by people (`fineflow logs`, results.csv). */
function readable(value: number): string {
  return String(Number(value.toPrecision(4)));
}
