/**
 * A logger for MockActivityEnvironment that keeps what the SDK logs instead of printing it. Without one the
 * environment logs every failed activity at WARN with its stack trace, so a test that makes a stage fail on purpose
 * printed a screenful of expected failures into the unit log, where a reader looks for real ones. Tests pass
 * `{ logger: logs.logger }` and may assert on what was logged (`logs.failures()`).
 */
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';

/** The message the SDK logs when an activity attempt throws (its `error` metadata holds the failure). */
export const ACTIVITY_FAILED = 'Activity failed';

export interface CapturedActivityLogs {
  /** Give it to the environment: `new MockActivityEnvironment(info, { logger: logs.logger })`. */
  readonly logger: DefaultLogger;
  /** Every entry, in order, at any level (TRACE and up). */
  readonly entries: readonly LogEntry[];
  /** The messages logged at `level`, in order. */
  messages(level: LogLevel): string[];
  /** The messages of the errors the SDK reported as failed attempts, in order. */
  failures(): string[];
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function captureActivityLogs(): CapturedActivityLogs {
  const entries: LogEntry[] = [];
  return {
    logger: new DefaultLogger('TRACE', (entry) => entries.push(entry)),
    entries,
    messages: (level) => entries.filter((entry) => entry.level === level).map((entry) => entry.message),
    failures: () =>
      entries.filter((entry) => entry.message === ACTIVITY_FAILED).map((entry) => errorMessage(entry.meta?.error)),
  };
}
