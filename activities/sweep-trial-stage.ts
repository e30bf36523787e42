/**
 * `sweepTrialStage`: one whole trial of a sweep whose trials are stages of another type
 * (`trialStage: {uses: command, …}`). The trial runs as that stage type's own activity would —
 * same implementation, same stage runner (log, heartbeats, secrets, cancellation) — with the
 * sweep's context narrowed to the trial: outputs under `<sweep outputPrefix>trials/trial-NNNN/`,
 * log as stage `<sweepStage>.trial-NNNN`.
 *
 * Early stopping needs the trial's intermediate values while it runs. A program cannot pause at a
 * rung and resume elsewhere the way a fine-tune resumes from a checkpoint, so instead each report
 * the stopper judges (a `::fineflow::` line with `step` and the objective metric, at or past the
 * next step in `reportSteps`) is signalled to the sweep workflow at once; the workflow decides and,
 * to prune, cancels this activity, which ends the program's process group. Reports are bounded by
 * `reportSteps` (ASHA rungs, at most 100 median steps), so a chatty program cannot flood the history.
 */
import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { InvalidInputError } from '../src/core/errors';
import type { StageActivityInput, StageActivityResult, StageProgress } from '../src/core/run/run-types';
import { trialPrefix } from '../src/core/sweep/sweep-plan';
import {
  SWEEP_SIGNALS,
  type SweepTrialStageInput,
  type SweepTrialStageResult,
  type TrialReportSignal,
} from '../src/core/sweep/sweep-types';
import { toActivityFailure } from './stage-runner';
import { announceTrialStart } from './trial-started';

type StageActivity = (input: StageActivityInput) => Promise<StageActivityResult>;

/** The stage activity of `uses` whose progress reports also go to `onProgress`; undefined when this worker lacks the type. */
export type TrialStageActivityFor = (
  uses: string,
  onProgress: (progress: StageProgress) => void,
) => StageActivity | undefined;

/** `<stageId>.trial-0007`: a stage id no pipeline stage can have (ids have no dots), so logs never mix. */
export function trialStageId(stageId: string, trialId: number): string {
  return `${stageId}.trial-${String(trialId).padStart(4, '0')}`;
}

/** Forwards the reports the stopper needs to the sweep workflow, in order, best effort. */
function trialReporter(context: Context, input: SweepTrialStageInput) {
  let client: Context['client'] | undefined;
  try {
    client = context.client;
  } catch {
    client = undefined; // no client (MockActivityEnvironment): nothing to tell
  }
  const workflowId = context.info.workflowExecution?.workflowId;
  const steps = input.reportSteps;
  let next = 0;
  let lastStep: number | undefined;
  let sent: Promise<void> = Promise.resolve();
  return {
    onProgress(progress: StageProgress): void {
      const detail = progress.detail as { step?: unknown; metrics?: Record<string, unknown> } | undefined;
      const step = detail?.step;
      if (typeof step !== 'number') return;
      lastStep = Math.max(lastStep ?? 0, step);
      const value = detail?.metrics?.[input.metric];
      if (typeof value !== 'number' || next >= steps.length || step < (steps[next] as number)) return;
      while (next < steps.length && (steps[next] as number) <= step) next += 1;
      if (!client || !workflowId) return;
      const signal: TrialReportSignal = { trialId: input.trialId, step, value };
      const handle = client.workflow.getHandle(workflowId);
      sent = sent.then(() => handle.signal(SWEEP_SIGNALS.trialReport, signal)).catch(() => undefined);
    },
    /** Reports go out before the trial's result, so the workflow sees them first. */
    flushed: (): Promise<void> => sent,
    get lastStep(): number | undefined {
      return lastStep;
    },
  };
}

export function createSweepTrialStageActivities(activityFor: TrialStageActivityFor, workerIdentity?: string) {
  const worker = workerIdentity ?? `${process.pid}@${hostname()}`;

  async function sweepTrialStage(input: SweepTrialStageInput): Promise<SweepTrialStageResult> {
    const context = Context.current();
    const startedAtMs = Date.now();
    const started = announceTrialStart(context, { trialId: input.trialId, fromEpoch: 0 });
    const reporter = trialReporter(context, input);
    const activity = activityFor(input.uses, reporter.onProgress);
    if (!activity)
      throw toActivityFailure(
        new InvalidInputError(`this worker runs no ${input.uses} stages, so it cannot run the sweep's trials`, {
          field: 'trialStage.uses',
        }),
        context,
        context.info.attempt,
      );
    const result = await activity({
      context: {
        ...input.context,
        stageId: trialStageId(input.context.stageId, input.trialId),
        outputPrefix: trialPrefix(input.context.outputPrefix, input.trialId),
        attempt: 1,
      },
      inputs: input.inputs,
      ...(input.resources ? { resources: input.resources } : {}),
    });
    await Promise.all([started.sent, reporter.flushed()]);
    return {
      trialId: input.trialId,
      outputs: result.outputs,
      artifacts: result.artifacts ?? [],
      ...(reporter.lastStep !== undefined ? { lastStep: reporter.lastStep } : {}),
      worker,
      startedAtMs,
      endedAtMs: Date.now(),
      attempt: context.info.attempt,
    };
  }

  return { sweepTrialStage };
}

export type SweepTrialStageActivities = ReturnType<typeof createSweepTrialStageActivities>;
