/**
 * Live progress of a running stage, kept out of the run's workflow history. A stage activity
 * heartbeats a {@link StageHeartbeat} (its progress plus who sent it); Temporal keeps only the
 * latest heartbeat of each pending activity, outside the history, so a 48-hour stage that reports
 * every few seconds adds no events. The client reads it with DescribeWorkflowExecution
 * (src/client/live-stages.ts) and merges it into the `runState` query's answer.
 *
 * A sweep stage is a child workflow: it still reports to the run with the `stageProgress` signal,
 * at most a few times per trial, so those events are bounded by the sweep's `maxTrials`.
 * Pure types and functions: importable from workflow code.
 */
import type { JsonObject } from '../spec/plan-types';
import type { StageProgress } from './run-types';

/** Argument of the `stageProgress` signal (sweeps; stage activities of older workers). */
export interface StageProgressSignal {
  readonly stageId: string;
  /** Attempt within the run that reported it; stale attempts are ignored. */
  readonly attempt: number;
  readonly progress: StageProgress;
}

/**
 * Heartbeat details of a stage activity: the progress fields (older readers such as the
 * fine-tune resume read `detail` from here) and the sender, so the client can tell which stage
 * and attempt a pending activity is and when its heartbeat is overdue.
 */
export interface StageHeartbeat extends StageProgress {
  readonly stageId: string;
  /** Attempt within the run. */
  readonly attempt: number;
  /** How often the worker sends heartbeats to Temporal; a heartbeat older than a few of these is stale. */
  readonly everyMs: number;
}

export function stageHeartbeat(
  sender: { readonly stageId: string; readonly attempt: number; readonly everyMs: number },
  progress: StageProgress | undefined,
): StageHeartbeat {
  return { ...progress, stageId: sender.stageId, attempt: sender.attempt, everyMs: sender.everyMs };
}

const MAX_MESSAGE_CHARS = 500;

/** The heartbeat a pending activity last sent, or undefined when it is not a stage heartbeat. */
export function readStageHeartbeat(details: unknown): StageHeartbeat | undefined {
  if (typeof details !== 'object' || details === null || Array.isArray(details)) return undefined;
  const d = details as { [key: string]: unknown };
  if (typeof d.stageId !== 'string' || typeof d.attempt !== 'number' || typeof d.everyMs !== 'number') return undefined;
  return {
    stageId: d.stageId,
    attempt: d.attempt,
    everyMs: d.everyMs,
    ...(typeof d.message === 'string' ? { message: d.message.slice(0, MAX_MESSAGE_CHARS) } : {}),
    ...(typeof d.fraction === 'number' && Number.isFinite(d.fraction) ? { fraction: d.fraction } : {}),
    ...(typeof d.detail === 'object' && d.detail !== null && !Array.isArray(d.detail)
      ? { detail: d.detail as JsonObject }
      : {}),
  };
}

/** The progress part of a heartbeat, as the run state shows it; undefined when the stage reported none. */
export function progressOf(heartbeat: StageHeartbeat): StageProgress | undefined {
  const { message, fraction, detail } = heartbeat;
  if (message === undefined && fraction === undefined && detail === undefined) return undefined;
  return {
    ...(message !== undefined ? { message } : {}),
    ...(fraction !== undefined ? { fraction } : {}),
    ...(detail !== undefined ? { detail } : {}),
  };
}
