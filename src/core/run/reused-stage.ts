/**
 * A stage a rerun did not run but took from an earlier run: the one rule every reader (the run page, `submit/rerun
 * --watch`, `status`) asks. Pure; bundled into the workflow and the UI's frontend, so no Node built-ins.
 */
import type { ReusedFrom, StageState } from './run-types';

/** The words the tracker gives such a stage's `reason` (and runs before `reusedFrom` gave it alone). */
export function reusedReason(runId: string): string {
  return `reused from run ${runId}`;
}

const OLD_REUSED_REASON = /^reused from run (\S+)$/;

/**
 * Where the stage's outputs came from when a rerun reused them, else undefined. Runs started before the tracker
 * recorded `reusedFrom` said it only in their reason, so for a stage without the field the reason is read (such a
 * stage succeeded without an attempt in its run).
 */
export function reusedFromOf(
  stage: Pick<StageState, 'id' | 'status' | 'attempts' | 'reason' | 'reusedFrom'>,
): ReusedFrom | undefined {
  if (stage.reusedFrom) return stage.reusedFrom;
  if (stage.status !== 'succeeded' || stage.attempts !== 0) return undefined;
  const runId = OLD_REUSED_REASON.exec(stage.reason ?? '')?.[1];
  return runId !== undefined ? { runId, stage: stage.id } : undefined;
}
