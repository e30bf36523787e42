/**
 * A sweep trial's activity tells its sweep that a worker took it (`sweepTrialStarted`), so the sweep can tell a trial
 * queued behind a full pool ("waiting for a worker") from one that runs. One signal per attempt, sent as the attempt
 * starts: nothing polls for it. Best effort: a signal that cannot be sent leaves the trial counted as waiting until it
 * ends, never fails the trial. The attempt's result waits for the signal (bounded), so the sweep hears of the start
 * before the end.
 */
import type { Context } from '@temporalio/activity';
import { SWEEP_SIGNALS, type TrialStartedSignal } from '../src/core/sweep/sweep-types';

/** Longer than this and the attempt's result goes out without waiting for its start signal any more. */
const SIGNAL_WAIT_MS = 10_000;

export interface TrialStartNotice {
  /** Resolves once the signal went out, failed, or {@link SIGNAL_WAIT_MS} passed; never rejects. */
  readonly sent: Promise<void>;
}

/** Sends the start signal of this attempt of trial `trialId` (a segment from `fromEpoch`) to the calling sweep. */
export function announceTrialStart(context: Context, signal: TrialStartedSignal): TrialStartNotice {
  let client: Context['client'] | undefined;
  try {
    client = context.client;
  } catch {
    client = undefined; // no client (MockActivityEnvironment): nothing to tell
  }
  // The execution that scheduled this attempt, not a later one it continued as.
  const execution = context.info.workflowExecution;
  if (!client || !execution?.workflowId) return { sent: Promise.resolve() };
  const delivery = client.workflow
    .getHandle(execution.workflowId, execution.runId)
    .signal(SWEEP_SIGNALS.trialStarted, signal)
    .catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const cutOff = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, SIGNAL_WAIT_MS);
    timer.unref();
  });
  return { sent: Promise.race([delivery, cutOff]).finally(() => clearTimeout(timer)) };
}
