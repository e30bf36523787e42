/**
 * Which run produced a stage's outputs, and so where its report may be read from. A stage that ran wrote under
 * its own run's prefix; a stage served from the cache or reused by a rerun carries outputs naming the objects of
 * the run that computed them (`runs/<that run>/<its stage>/…`). Readers (the UI's report frame and stage panel,
 * `fineflow report`) follow a stage's outputs only into that one producer's stage prefix, never elsewhere in the
 * bucket: outputs pass through pipeline code and the cache, both writable by pipeline authors. Pure.
 */
import type { StageState } from './run-types';
import { reusedFromOf } from './reused-stage';
import { runPrefix, runStageOfUri } from '../storage/layout';

type ProducedStage = Pick<StageState, 'id' | 'status' | 'attempts' | 'outputs' | 'reason' | 'reusedFrom'> &
  Partial<Pick<StageState, 'uses'>>;

/**
 * Where a prepare-data stage stopped by its quality checks wrote its data report (src/ml/data/prepare.ts): where a
 * finished one writes it, under its own stage prefix. A failed stage has no outputs to name it.
 */
export function failedDataReportUri(bucket: string, runId: string, stageId: string): string {
  return `${runPrefix(bucket, runId, stageId)}dataset/data-report.json`;
}

/** The run and stage that produced a stage's outputs: itself, or for a cached/reused stage the run its outputs name. */
export function producerOf(bucket: string, runId: string, stage: ProducedStage): { runId: string; stageId: string } {
  if (stage.status !== 'cached' && !reusedFromOf(stage)) return { runId, stageId: stage.id };
  for (const value of Object.values(stage.outputs ?? {})) {
    const found = typeof value === 'string' ? runStageOfUri(bucket, value) : undefined;
    if (found && found.runId !== runId) return found;
  }
  return { runId, stageId: stage.id };
}

/**
 * The stage's `report` output when it lies under the producer's stage prefix (its own for a stage that ran, the
 * computing run's for a cached or reused one), with the run that holds it; for a failed prepare-data stage, where the
 * report its quality checks left would be (it may not exist: the stage failed otherwise); else undefined.
 */
export function stageReportOf(
  bucket: string,
  runId: string,
  stage: ProducedStage,
): { readonly uri: string; readonly fromRunId: string } | undefined {
  if (stage.status === 'failed' && stage.uses === 'prepare-data' && stage.outputs?.report === undefined)
    return { uri: failedDataReportUri(bucket, runId, stage.id), fromRunId: runId };
  const uri = stage.outputs?.report;
  if (typeof uri !== 'string' || uri.includes('/../') || uri.includes('/./')) return undefined;
  const producer = producerOf(bucket, runId, stage);
  return uri.startsWith(runPrefix(bucket, producer.runId, producer.stageId))
    ? { uri, fromRunId: producer.runId }
    : undefined;
}
