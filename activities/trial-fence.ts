/**
 * The attempt fence (./attempt-fence.ts) for sweep trials. A trial's checkpoints and model live under its own prefix
 * (`<sweep outputPrefix>trials/trial-NNNN/`) and are written by a run of `sweepTrialSegment` activities, each
 * retried on its own: a segment attempt Temporal gave up on, woken after its retry (or the trial's next segment)
 * trained, rewrote that trial's checkpoints and model. The owner unit is the trial's prefix, claimed by every segment
 * attempt in `<trial prefix>@attempt.json`, in an order no stale attempt can beat: the sweep stage's attempt (a
 * `fineflow retry` of the sweep), then the segment's first epoch (a later segment starts only after the earlier one
 * returned), then the segment's Temporal attempt. The workflow's own records (trial rows, rungs, the best so far) come
 * from the results Temporal accepted, so a refused segment changes none of them.
 */
import { CancelledError } from '../src/core/errors';
import { trialPrefix } from '../src/core/sweep/sweep-plan';
import type { SweepTrialSegmentInput } from '../src/core/sweep/sweep-types';
import type { ObjectStore } from '../src/storage/object-store';
import { attemptFence, claimStageOutputs, type OutputsClaim } from './attempt-fence';

/** Bits of the order for the segment's Temporal attempt and for its first epoch; the sweep's attempt takes the rest. */
const ATTEMPT_BITS = 12;
const EPOCH_BITS = 16;

/** Which segment attempt a claim's order names. */
export interface SegmentAttempt {
  /** The sweep stage's attempt within the run (input.context.attempt). */
  readonly stageAttempt: number;
  readonly fromEpoch: number;
  /** The segment activity's Temporal attempt. */
  readonly attempt: number;
}

const cap = (value: number, bits: number): number => Math.min(Math.max(0, Math.floor(value)), 2 ** bits - 1);

/** The claim's order of a segment attempt: a newer one (by the order above) has a larger number. */
export function segmentClaimOrder({ stageAttempt, fromEpoch, attempt }: SegmentAttempt): number {
  const stage = Math.min(Math.max(1, Math.floor(stageAttempt)), 2 ** (53 - ATTEMPT_BITS - EPOCH_BITS) - 1);
  return (stage * 2 ** EPOCH_BITS + cap(fromEpoch, EPOCH_BITS)) * 2 ** ATTEMPT_BITS + cap(attempt, ATTEMPT_BITS);
}

/** The segment attempt a claim's order names. */
export function segmentAttemptOf(order: number): SegmentAttempt {
  const attempt = order % 2 ** ATTEMPT_BITS;
  const rest = Math.floor(order / 2 ** ATTEMPT_BITS);
  return { stageAttempt: Math.floor(rest / 2 ** EPOCH_BITS), fromEpoch: rest % 2 ** EPOCH_BITS, attempt };
}

function describe(trialId: number, { stageAttempt, fromEpoch, attempt }: SegmentAttempt): string {
  const retried = stageAttempt > 1 ? ` of sweep attempt ${stageAttempt}` : '';
  return `trial ${trialId} segment from epoch ${fromEpoch}, attempt ${attempt}${retried}`;
}

/** The log line of a write a superseded segment attempt did not make. */
export function supersededSegmentWords(
  trialId: number,
  own: SegmentAttempt,
  what: string,
  ownedBy: number | undefined,
): string {
  const owner =
    ownedBy !== undefined
      ? `${describe(trialId, segmentAttemptOf(ownedBy))} owns the trial's outputs now`
      : 'Temporal no longer waits for it';
  return `${describe(trialId, own)} did not ${what}: ${owner} (Temporal gave up on it while it ran on)`;
}

/**
 * Claim the trial's prefix for this segment attempt and return the claim the training child fences its writes with;
 * a CancelledError (logged once by `log`) when a newer segment attempt holds it already.
 */
export async function claimTrialSegment(
  store: ObjectStore,
  input: Pick<SweepTrialSegmentInput, 'context' | 'trialId' | 'fromEpoch'>,
  attempt: number,
  log: (line: string) => void,
): Promise<OutputsClaim> {
  const prefix = trialPrefix(input.context.outputPrefix, input.trialId);
  const own: SegmentAttempt = { stageAttempt: input.context.attempt, fromEpoch: input.fromEpoch, attempt };
  const order = segmentClaimOrder(own);
  const fence = attemptFence(store, prefix, order, claimStageOutputs(store, prefix, order), {
    log,
    words: (what, ownedBy) => supersededSegmentWords(input.trialId, own, what, ownedBy),
  });
  return { ...(await fence.claim('start training')), trialId: input.trialId };
}

/** The refusal's words for a claim handed to the training child: a trial segment's own, else the stage's. */
export function claimWords(claim: OutputsClaim): ((what: string, ownedBy: number | undefined) => string) | undefined {
  const { trialId } = claim;
  if (trialId === undefined) return undefined;
  return (what, ownedBy) => supersededSegmentWords(trialId, segmentAttemptOf(claim.attempt), what, ownedBy);
}

/** A refusal of the trial fence (for callers that tell it from other cancellations). */
export function isSupersededSegment(error: unknown): boolean {
  return error instanceof CancelledError && error.details.code === 'superseded-attempt';
}
