/**
 * Text rendering of a run for the CLI: the stage table with progress bars (`status`,
 * `submit --watch`) and the run list (`runs`). Pure string functions, so they are unit-tested.
 */
import { NOT_RUN, notRunStages, type NotRunReason } from '../core/run/not-run';
import { reusedFromOf } from '../core/run/reused-stage';
import { describeTrigger } from '../core/run/run-trigger';
import type { RunState, StageState } from '../core/run/run-types';
import { formatElapsed, formatHumanDuration } from '../core/spec/durations';
import type { RunSummary } from './run-client';
import { wrapAtSpaces } from '../core/wrap-text';
import { displayWidth, renderTable, type TableColumn, type TableLine } from './text-table';

const SYMBOL: { readonly [status: string]: string } = {
  pending: '·',
  running: '▶',
  succeeded: '✓',
  cached: '≡',
  skipped: '↷',
  failed: '✗',
  waiting: '⏸',
  cancelled: '⊘',
  [NOT_RUN]: '-',
};

/** The status word a person reads: a stage a rerun reused is "reused", though its state says succeeded. */
export function shownStatus(stage: Pick<StageState, 'id' | 'status' | 'attempts' | 'reason' | 'reusedFrom'>): string {
  return reusedFromOf(stage) !== undefined ? 'reused' : stage.status;
}

/** `[#######-------]  50%`; width counts the characters between the brackets. */
export function progressBar(fraction: number, width = 16): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(clamped * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(clamped * 100)).padStart(3)}%`;
}

/** What the client learned about a running stage with progress, in a few words (src/client/live-stages.ts). */
function livenessNote(stage: StageState): string {
  const notes: string[] = [];
  if (stage.live?.staleForMs !== undefined)
    notes.push(`stale: no heartbeat for ${formatHumanDuration(stage.live.staleForMs)}`);
  if (stage.live?.waitingForWorker === true) notes.push(`waiting for a worker on pool ${stage.pool}`);
  return notes.length > 0 ? ` (${notes.join('; ')})` : '';
}

/** A running stage's progress: its bar (when it reports a fraction) and its message with what the client learned. */
function progressParts(stage: StageState): { readonly bar: string; readonly message: string } | undefined {
  if (stage.status !== 'running' || !stage.progress) return undefined;
  const bar = stage.progress.fraction !== undefined ? progressBar(stage.progress.fraction) : '';
  return { bar, message: `${stage.progress.message ?? ''}${livenessNote(stage)}`.trim() };
}

function stageDetail(stage: StageState): string {
  const progress = progressParts(stage);
  if (progress) return `${progress.bar} ${progress.message}`.trim();
  if (stage.error) return `${stage.error.type}: ${stage.error.message}`;
  return [stage.reason, trainedOnNote(stage)].filter((part) => part !== undefined && part !== '').join('; ');
}

/**
 * `eager engine` for a stage whose outputs say it trained on the eager engine (`auto` falls back to it without the
 * graph addon), `graph engine` for the fast one; nothing for other stages.
 */
function trainedOnNote(stage: StageState): string | undefined {
  const engine = stage.outputs?.engine;
  return engine === 'graph' || engine === 'eager' ? `${engine} engine` : undefined;
}

/** Instance rows shown in full; beyond this a fan-out shows its unfinished ones and a count line. */
const MAX_INSTANCE_ROWS = 8;

/**
 * A fan-out's instances: every row when there are few; else the ones not yet succeeded (running,
 * failed …, up to MAX_INSTANCE_ROWS) and one line counting the instances by status.
 */
function compactInstances(
  instances: readonly StageState[],
  row: (stage: StageState) => TableLine,
  statusOf: (stage: StageState) => string,
): TableLine[] {
  if (instances.length <= MAX_INSTANCE_ROWS) return instances.map(row);
  const notable = instances.filter((s) => s.status !== 'succeeded' && s.status !== 'cached' && s.status !== 'pending');
  const counts = new Map<string, number>();
  for (const s of instances) counts.set(statusOf(s), (counts.get(statusOf(s)) ?? 0) + 1);
  const summary = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  const hidden = instances.length - Math.min(notable.length, MAX_INSTANCE_ROWS);
  return [
    ...notable.slice(0, MAX_INSTANCE_ROWS).map(row),
    { text: `  … ${hidden} more of ${instances.length} instances (${summary})` },
  ];
}

const STAGE_COLUMNS: readonly TableColumn[] = [
  { title: '  stage' },
  { title: 'uses' },
  { title: 'status', minWidth: 9 },
  { title: 'try', align: 'right' },
  { title: 'time', align: 'right', minWidth: 7 },
  { title: 'detail' },
];

/**
 * The stage table of one run. `needsOf` (the plan's `needs`) lets a failed or cancelled run say which upstream kept a
 * stage from running ("not run: upstream stage prepare failed"); without it such a stage is put down to the run's end.
 */
export function renderRunState(
  state: RunState,
  now: Date = new Date(),
  maxWidth = 120,
  needsOf?: (stageId: string) => readonly string[] | undefined,
): string {
  const header =
    `run ${state.runId}  pipeline ${state.pipeline}  ${state.status.toUpperCase()}  ` +
    `${formatElapsed(state.startedAt, state.endedAt, now.getTime())}`;
  const notRun: ReadonlyMap<string, NotRunReason> = notRunStages(state, needsOf);
  // Rows whose progress message may go on lines of its own, when the row would not fit.
  const withProgress = new Map<TableLine, StageState>();
  const row = (stage: StageState, detail?: string): TableLine => {
    const never = notRun.get(stage.id);
    const status = never ? NOT_RUN : shownStatus(stage);
    const shown = detail ?? (never ? never.text : stageDetail(stage));
    const line = [
      `${SYMBOL[never ? NOT_RUN : stage.status] ?? '?'} ${stage.id}`,
      stage.uses,
      status,
      String(stage.attempts || ''),
      formatElapsed(stage.startedAt, stage.endedAt, now.getTime()),
      stage.instanceOf !== undefined ? `item ${JSON.stringify(stage.item ?? null)} ${shown}`.trim() : shown,
    ];
    if (detail === undefined && !never && progressParts(stage)?.message) withProgress.set(line, stage);
    return line;
  };
  // A stage, its fan-out instances, then the stages of its sub-pipeline run (src/client/child-runs.ts).
  const rowsOf = (stage: StageState): TableLine[] => {
    const instances = state.stages.filter((s) => s.instanceOf === stage.id);
    const nested = [stage, ...instances].flatMap((parent) =>
      state.stages.filter((s) => s.parentStage === parent.id && s.instanceOf === undefined),
    );
    const statusOf = (s: StageState): string => (notRun.has(s.id) ? NOT_RUN : s.status);
    return [row(stage), ...compactInstances(instances, (s) => row(s), statusOf), ...nested.flatMap(rowsOf)];
  };
  const lines = state.stages
    .filter((s) => s.instanceOf === undefined && s.parentStage === undefined)
    .flatMap((stage, index, top): TableLine[] => {
      // `finally:` stages come last; a divider says why they run after a failure or cancel too.
      const divider = stage.finally && !top[index - 1]?.finally ? [{ text: 'finally (runs whatever happened):' }] : [];
      return [...divider, ...rowsOf(stage)];
    });
  return [
    header,
    ...renderTable(STAGE_COLUMNS, progressUnderRows(lines, withProgress, row, maxWidth), { maxWidth }),
    `trigger: ${describeTrigger(state.trigger)}`,
  ].join('\n');
}

/** Where a progress message that does not fit its row goes: indented under it, under the stage's name. */
const PROGRESS_INDENT = '    ';

/**
 * The table's lines with every progress message that would be cut at `maxWidth` moved under its row: the row keeps the
 * bar (when that fits, else the bar leads the message), the message follows whole, broken at spaces into indented
 * lines that fit (a sweep's trial counts, a training stage's epoch and loss). The other columns are as wide on every
 * row, so one unclipped rendering tells how wide each row's detail may be.
 */
function progressUnderRows(
  lines: readonly TableLine[],
  withProgress: ReadonlyMap<TableLine, StageState>,
  row: (stage: StageState, detail: string) => TableLine,
  maxWidth: number,
): TableLine[] {
  if (withProgress.size === 0) return [...lines];
  const whole = renderTable(STAGE_COLUMNS, lines, { header: false });
  const detailOf = (line: TableLine): string => (Array.isArray(line) ? (line.at(-1) ?? '') : '');
  return lines.flatMap((line, index): TableLine[] => {
    const stage = withProgress.get(line);
    const progress = stage && progressParts(stage);
    const width = displayWidth(whole[index] ?? '');
    if (!stage || !progress || width <= maxWidth) return [line];
    const before = width - displayWidth(detailOf(line));
    const withBar = row(stage, progress.bar);
    const barFits = before + displayWidth(detailOf(withBar)) <= maxWidth;
    const indent = stage.instanceOf !== undefined ? `${PROGRESS_INDENT}  ` : PROGRESS_INDENT;
    const under = barFits ? progress.message : `${progress.bar} ${progress.message}`.trim();
    return [
      barFits ? withBar : row(stage, ''),
      ...wrapAtSpaces(`${indent}${under}`, maxWidth, indent).map((text) => ({ text })),
    ];
  });
}

const RUN_COLUMNS: readonly TableColumn[] = [
  { title: 'run id' },
  { title: 'pipeline' },
  { title: 'status', minWidth: 10 },
  { title: 'started', minWidth: 24 },
  { title: 'trigger' },
];

/** The run list of `fineflow runs`. */
export function renderRunList(runs: readonly RunSummary[]): string {
  if (runs.length === 0) return 'no runs';
  return renderTable(
    RUN_COLUMNS,
    runs.map((run) => [run.runId, run.pipeline, run.status, formatUtcTime(run.startedAt), run.trigger]),
  ).join('\n');
}

/**
 * A stored ISO 8601 time as the CLI's text output writes it, its zone said: `2026-12-08 00:41:38 UTC` (the web app's
 * headings say `(UTC)` instead). JSON output keeps the stored ISO text; a value that is no time is shown as it is.
 */
export function formatUtcTime(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const text = at.toISOString();
  return `${text.slice(0, 10)} ${text.slice(11, 19)} UTC`;
}

/** `1.5 MiB`: sizes for people. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
