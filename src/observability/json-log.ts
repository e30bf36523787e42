/**
 * Structured logs of `fineflow worker` (FINEFLOW_LOG_FORMAT=json): one JSON object a line on
 * stdout, for Loki, Elasticsearch or Cloud Logging. Every line has `time`, `level`, `msg` and the
 * worker's `pool`; lines about a run carry its Fineflow `runId`, lines from a stage its `stageId`,
 * `stageType` and `attempt`. Sources: the Temporal SDK's logger (workflow and activity `log`
 * calls, worker warnings) and every line a stage writes to its own log (already scrubbed of
 * secrets and URI credentials by the stage runner).
 */
import { DefaultLogger, type LogEntry, type Logger, type LogLevel } from '@temporalio/worker';
import { WORKFLOW_TYPES } from '../core/run/run-types';

export type LogFormat = 'text' | 'json';

/** One line of a stage's own log, with the ids that say where it came from. */
export interface StageLogRecord {
  readonly runId: string;
  readonly stageId: string;
  readonly stageType: string;
  readonly attempt: number;
  readonly message: string;
}

/** A longer message is cut, so one log line cannot grow without bound (a stage printing a file). */
const MAX_MESSAGE_CHARS = 16 * 1024;

type Fields = Record<string, unknown>;

export function jsonLogLine(level: string, message: string, fields: Fields, time = new Date()): string {
  const msg = message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}… (cut)` : message;
  return `${JSON.stringify({ time: time.toISOString(), level: level.toLowerCase(), msg, ...fields })}\n`;
}

/**
 * The SDK's log metadata in Fineflow's words: a pipeline run's workflow id is the Fineflow run id;
 * Temporal's own run id (one execution of it) becomes `temporalRunId`; an activity's type is the
 * stage type.
 */
export function fieldsFromSdkMeta(meta: Fields | undefined): Fields {
  if (!meta) return {};
  const { workflowId, runId, workflowRunId, workflowType, activityType, ...rest } = meta;
  const isRun = workflowType === WORKFLOW_TYPES.pipelineRun;
  return {
    ...(isRun && workflowId !== undefined ? { runId: workflowId } : {}),
    ...(!isRun && workflowId !== undefined ? { workflowId } : {}),
    ...(workflowType !== undefined ? { workflowType } : {}),
    ...((runId ?? workflowRunId) !== undefined ? { temporalRunId: runId ?? workflowRunId } : {}),
    ...(activityType !== undefined ? { stageType: activityType } : {}),
    ...rest,
  };
}

/** The Temporal runtime's logger writing JSON lines (Runtime.install({ logger })). */
export function jsonSdkLogger(level: LogLevel, pool: string, write: (line: string) => void): Logger {
  return new DefaultLogger(level, (entry: LogEntry) => {
    const time = new Date(Number(entry.timestampNanos / 1_000_000n));
    write(jsonLogLine(entry.level, entry.message, { pool, source: 'sdk', ...fieldsFromSdkMeta(entry.meta) }, time));
  });
}

/** Echo each stage log line as a JSON line (StageRunnerDeps.logEcho). */
export function jsonStageLogEcho(pool: string, write: (line: string) => void): (record: StageLogRecord) => void {
  return ({ message, ...ids }) => write(jsonLogLine('info', message, { pool, source: 'stage', ...ids }));
}
