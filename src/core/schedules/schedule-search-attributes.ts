/**
 * Search attributes of the runs that schedules and data watchers start, so they are labelled
 * and searchable: `FineflowTrigger = 'schedule'` or `'new-data'` (the schedule or watcher id is
 * in the run's input and memo). Pure: workflow code imports it.
 */
import type { SearchAttributePair } from '@temporalio/common';
import { searchAttributeKeys } from '../run/run-definitions';
import { SEARCH_ATTRIBUTES, WORKFLOW_TYPES, type RunTrigger } from '../run/run-types';

export function searchAttributesForRun(pipeline: string, trigger: RunTrigger['kind']): SearchAttributePair[] {
  return [
    { key: searchAttributeKeys.pipeline, value: pipeline },
    // The run updates it as it goes; `running` from the start so `fineflow runs --status running` finds it.
    { key: searchAttributeKeys.status, value: 'running' },
    { key: searchAttributeKeys.trigger, value: trigger },
  ];
}

/** The watcher itself is labelled with its pipeline only: it is not a run. */
export function searchAttributesForWatcher(pipeline: string): SearchAttributePair[] {
  return [{ key: searchAttributeKeys.pipeline, value: pipeline }];
}

export function quoteQueryValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Visibility query for the runs of one pipeline started by one kind of trigger. */
export function runsQuery(pipeline: string, trigger: RunTrigger['kind']): string {
  return (
    `WorkflowType = ${quoteQueryValue(WORKFLOW_TYPES.pipelineRun)} AND ${SEARCH_ATTRIBUTES.pipeline} = ` +
    `${quoteQueryValue(pipeline)} AND ${SEARCH_ATTRIBUTES.trigger} = ${quoteQueryValue(trigger)}`
  );
}

/** Visibility query for the running data watchers of one pipeline. */
export function runningWatchersQuery(pipeline: string): string {
  return (
    `WorkflowType = ${quoteQueryValue(WORKFLOW_TYPES.dataWatcher)} AND ${SEARCH_ATTRIBUTES.pipeline} = ` +
    `${quoteQueryValue(pipeline)} AND ExecutionStatus = 'Running'`
  );
}
