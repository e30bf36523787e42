/**
 * The way back from the Temporal UI to `fineflow ui` (FINEFLOW_UI_URL): every run's workflow carries
 * its Fineflow page in its memo (`fineflowUi`) and, where the starter knows the run id, in the
 * details the Temporal UI shows (markdown). Workflow-safe: the data watcher and the run use it too.
 */

/** Memo key of a run's page in `fineflow ui`. */
export const RUN_PAGE_MEMO = 'fineflowUi';

/** The run's page in `fineflow ui`. */
export function runPageUrl(uiUrl: string, runId: string): string {
  return `${uiUrl.replace(/\/+$/, '')}/#/runs/${encodeURIComponent(runId)}`;
}

/** The workflow details (markdown) that link the run's Temporal page to its Fineflow page. */
export function runPageDetails(uiUrl: string, runId: string): string {
  return `[Open run ${runId} in Fineflow](${runPageUrl(uiUrl, runId)})`;
}
