/**
 * What a sweep trial segment's heartbeats carry (activities/sweep-trial.ts), and what one attempt hands the next.
 *
 * Temporal keeps only the last heartbeat an attempt sent, and a retry reads it as `Info.heartbeatDetails`. An attempt
 * that dies during set-up (before it has pinned the base model again) still heartbeats, so its beats must carry what
 * the previous attempt recorded, or the next retry finds nothing and pins a `registry://name@alias` base anew: after
 * the alias moved, a different model than the checkpoints it resumes were trained from.
 */
import type { TrialEpochReport } from '../src/core/sweep/sweep-types';

/** A segment's heartbeat details; a retry of the same segment resumes from them. */
export interface SegmentHeartbeat {
  readonly trialId: number;
  readonly fromEpoch: number;
  readonly untilEpoch: number;
  readonly epochsDone: number;
  /** The newest checkpoint the attempt wrote (a hint for `describe`: the store is the record). */
  readonly checkpoint?: string;
  /** The base model pinned to a version (`registry://name@3`): every attempt of the trial trains on this one. */
  readonly baseModel?: string;
  readonly reports: readonly TrialEpochReport[];
  /** What trained the segment's newest epoch: a segment that stops at its end has no training result to say so. */
  readonly trainedOn?: TrainedOn;
}

/** The backend and engine that trained a segment, and why `auto` chose the eager engine when it did. */
export interface TrainedOn {
  readonly backend: string;
  readonly engine: string;
  readonly engineFallbackReason?: string;
}

/** A fallback reason carried from one attempt to the next is at most this long (it is log text, not data). */
const MAX_REASON_LENGTH = 1_000;

/** `details.trainedOn` of a previous attempt's heartbeat, when it has the shape this module writes. */
function previousTrainedOn(value: unknown): TrainedOn | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { backend, engine, engineFallbackReason } = value as Partial<Record<keyof TrainedOn, unknown>>;
  if (typeof backend !== 'string' || typeof engine !== 'string') return undefined;
  return {
    backend: backend.slice(0, 100),
    engine: engine.slice(0, 100),
    ...(typeof engineFallbackReason === 'string'
      ? { engineFallbackReason: engineFallbackReason.slice(0, MAX_REASON_LENGTH) }
      : {}),
  };
}

/** The segment a sweep trial attempt runs. */
export interface SegmentIdentity {
  readonly trialId: number;
  readonly fromEpoch: number;
  readonly untilEpoch: number;
}

/**
 * The heartbeat an attempt starts with: its own segment at `fromEpoch`, carrying the pinned base model and the
 * checkpoint hint of a previous attempt of the same trial (`previousDetails`, untrusted shape: anything else is
 * ignored). Every beat the attempt sends before it pins (the first one, at start) then still names the pin. What
 * trained the previous attempt's epochs rides along too: an attempt that finds its segment done trains nothing.
 */
export function firstSegmentHeartbeat(segment: SegmentIdentity, previousDetails: unknown): SegmentHeartbeat {
  const { trialId, fromEpoch, untilEpoch } = segment;
  const fresh: SegmentHeartbeat = { trialId, fromEpoch, untilEpoch, epochsDone: fromEpoch, reports: [] };
  if (previousDetails === null || typeof previousDetails !== 'object') return fresh;
  const previous = previousDetails as Partial<Record<keyof SegmentHeartbeat, unknown>>;
  if (previous.trialId !== trialId) return fresh;
  return {
    ...fresh,
    ...(typeof previous.baseModel === 'string' ? { baseModel: previous.baseModel } : {}),
    ...(typeof previous.checkpoint === 'string' ? { checkpoint: previous.checkpoint } : {}),
    ...(previousTrainedOn(previous.trainedOn) ? { trainedOn: previousTrainedOn(previous.trainedOn) } : {}),
  };
}
