/**
 * Typed handles on the `pipelineRun` workflow's query, update and signal, and its search
 * attribute keys: one definition shared by the workflow, the client and the activities.
 * Pure (the define* helpers only name things): importable from workflow code.
 */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { StageProgressSignal } from './progress';
import type { RunStatePage, RunStatePageRequest } from './run-result';
import {
  RUN_QUERIES,
  RUN_SIGNALS,
  RUN_UPDATES,
  SEARCH_ATTRIBUTES,
  type RetryStageRequest,
  type RunState,
} from './run-types';

/** What the `retryStage` update returns once the stages are queued again. */
export interface RetryStageResult {
  /** Stages set back to pending. */
  readonly retried: readonly string[];
  /** Params the run continues with, overrides applied. */
  readonly params: RunState['params'];
}

/** A page of the run's state (src/core/run/run-result.ts); read every page with the run client's `state`. */
export const runStateQuery = defineQuery<RunStatePage, [RunStatePageRequest?]>(RUN_QUERIES.state);
export const retryStageUpdate = defineUpdate<RetryStageResult, [RetryStageRequest]>(RUN_UPDATES.retryStage);
export const stageProgressSignal = defineSignal<[StageProgressSignal]>(RUN_SIGNALS.stageProgress);

export const searchAttributeKeys = {
  pipeline: defineSearchAttributeKey(SEARCH_ATTRIBUTES.pipeline, SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey(SEARCH_ATTRIBUTES.status, SearchAttributeType.KEYWORD),
  trigger: defineSearchAttributeKey(SEARCH_ATTRIBUTES.trigger, SearchAttributeType.KEYWORD),
} as const;
