/**
 * The log line of a training that fell back to the eager engine (`FINEFLOW_TRAIN_ENGINE=auto` without the graph
 * addon): fine-tune's and evaluate's stage logs and a sweep trial's lines in the sweep log say it in the same words.
 * Pure text, so the sweep workflow's log lines can use it.
 */
export function engineFallbackWarning(reason: string): string {
  return `warning: trained on the eager engine, not the faster graph engine: ${reason}`;
}
