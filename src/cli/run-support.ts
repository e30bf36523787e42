/**
 * What the run commands of the CLI share: opening a RunClient from the environment, mapping
 * errors onto exit codes, and following a run in the terminal (redrawn table on a TTY, one
 * line per change otherwise).
 */
import { LiveRegion, type LiveStream } from './live-region';
import type { CliIo } from './command';
import { EXIT } from './command';
import type { ClientOptions } from '@temporalio/client';
import { loadConfig, type FineflowConfig } from '../config';
import { ERROR_TYPES } from '../core/errors';
import type { RunState, StageState } from '../core/run/run-types';
import type { Plan } from '../core/spec/plan-types';
import { connectClient } from '../client/temporal-connection';
import { renderRunState } from '../client/render';
import { withoutStaleAge } from '../client/live-stages';
import { reusedFromOf, reusedReason } from '../core/run/reused-stage';
import { RunClient, type WatchOptions } from '../client/run-client';
import { createObjectStoreFromConfig } from '../storage/minio-store';
import { formatHumanDuration } from '../core/spec/durations';

export interface OpenedRunClient {
  readonly config: FineflowConfig;
  readonly runs: RunClient;
  close(): Promise<void>;
}

/** What a command adds to the client it opens, decided from the loaded config (e.g. tracing interceptors). */
export interface RunClientOptions {
  readonly interceptors?: (config: FineflowConfig) => ClientOptions['interceptors'] | undefined;
}

export async function openRunClient(io: CliIo, options: RunClientOptions = {}): Promise<OpenedRunClient> {
  const config = loadConfig(io.env);
  const interceptors = options.interceptors?.(config);
  const client = await connectClient(config.temporal, interceptors ? { interceptors } : {});
  return {
    config,
    // The store: results too large to hold their stages, and the state of a continued run with no worker.
    runs: new RunClient(client, {
      bucket: config.s3.bucket,
      store: createObjectStoreFromConfig(config),
      ...(config.ui.url ? { uiUrl: config.ui.url } : {}),
    }),
    close: () => client.connection.close(),
  };
}

/**
 * Run a command body with a RunClient, closed afterwards. Errors propagate to `main`, which turns
 * them into a message and an exit code (src/cli/main.ts `reportError`).
 */
export async function withRunClient(
  io: CliIo,
  body: (opened: OpenedRunClient) => Promise<number>,
  options: RunClientOptions = {},
): Promise<number> {
  const opened = await openRunClient(io, options);
  try {
    return await body(opened);
  } finally {
    await opened.close().catch(() => undefined);
  }
}

/** Exit code for a run's final (or waiting) status. */
export function exitCodeForRun(state: RunState): number {
  return state.status === 'succeeded' ? EXIT.ok : EXIT.failure;
}

/** ` (42%)`, or nothing without a fraction. */
function percent(fraction: number | undefined): string {
  return fraction !== undefined ? ` (${Math.round(fraction * 100)}%)` : '';
}

function stageLine(stage: StageState): string {
  // Not run in this run: a rerun reused it (the rerun's header, `status` and the UI say "reused from run R").
  const reused = reusedFromOf(stage);
  if (reused) return `${stage.id} ${reusedReason(reused.runId)}`;
  const progress =
    stage.status === 'running' && stage.progress
      ? ` ${stage.progress.message ?? ''}${percent(stage.progress.fraction)}`
      : '';
  const error =
    stage.error && (stage.status === 'failed' || stage.status === 'waiting')
      ? ` ${stage.error.type}: ${stage.error.message}`
      : '';
  const reason =
    stage.reason && (stage.status === 'skipped' || stage.status === 'cached' || stage.live !== undefined)
      ? ` (${stage.reason})`
      : '';
  const attempts = stage.attempts > 1 ? ` after ${stage.attempts} attempts` : '';
  return `${stage.id} ${stage.status}${attempts}${progress}${error}${reason}`;
}

/**
 * What a watch says on stderr while it cannot read the run (Temporal restarting, no control worker
 * answering) and when it can again; `printed` lets a redrawing table start below the notice.
 */
export function watchNotices(
  io: CliIo,
  runId: string,
  printed: () => void = () => undefined,
): Pick<WatchOptions, 'onInterrupted' | 'onResumed'> {
  return {
    onInterrupted({ message, retryInMs }) {
      io.stderr.write(
        `fineflow: ${message}, retrying in ${formatHumanDuration(retryInMs)}… ` +
          `(run ${runId} goes on; this watch waits)\n`,
      );
      printed();
    },
    onResumed({ downForMs }) {
      io.stderr.write(`fineflow: reconnected after ${formatHumanDuration(downForMs)}; watching run ${runId} again\n`);
      printed();
    },
  };
}

export interface FollowOptions {
  /**
   * Extra sections drawn under the stage table on a TTY (e.g. sweep trial tables), fetched at
   * most once per `sectionsEveryMs` while the run is live, and once more when it ends. Without a TTY their lines are
   * not printed, but what they know better of the stages (`restate`) still goes into each stage's line.
   */
  readonly sections?: (state: RunState, width: number) => Promise<FollowSections>;
  readonly sectionsEveryMs?: number;
  /**
   * The run's plan, when the caller has it (`submit`); else it is read from the run's history. The waiting-run advice
   * tells a file's value from a param with it.
   */
  readonly plan?: Plan;
}

/** What the extra sections of a followed run found. */
export interface FollowSections {
  readonly lines: readonly string[];
  /**
   * The run's state as the sections read it: a sweep stage's progress line counts a trial whose worker died as
   * `retrying`, as its trial table does (src/client/sweep-trials-lookup.ts `withTrialCounts`).
   */
  readonly restate?: (state: RunState) => RunState;
}

/**
 * The last sections fetched for a followed run, refreshed in the background at most once per `sectionsEveryMs`; a
 * failed fetch keeps the last ones. `fetched` is told of each new set.
 */
class FollowedSections {
  private last: FollowSections = { lines: [] };
  private fetchedAt = 0;
  private fetching: Promise<void> | undefined;

  constructor(
    private readonly options: FollowOptions,
    private readonly width: () => number,
    private readonly fetched: () => void,
  ) {}

  get lines(): readonly string[] {
    return this.last.lines;
  }

  restate(state: RunState): RunState {
    return this.last.restate ? this.last.restate(state) : state;
  }

  refresh(state: RunState, force = false): Promise<void> | undefined {
    const { sections, sectionsEveryMs = 2_000 } = this.options;
    if (!sections || this.fetching || (!force && Date.now() - this.fetchedAt < sectionsEveryMs)) return this.fetching;
    this.fetchedAt = Date.now();
    this.fetching = sections(state, this.width())
      .then((fetched) => {
        this.last = fetched;
        this.fetched();
      })
      .catch(() => undefined)
      .finally(() => {
        this.fetching = undefined;
      });
    return this.fetching;
  }

  /** The final view: sections as the run ended (a fetch in flight may predate the end). */
  async final(state: RunState): Promise<void> {
    if (!this.options.sections) return;
    await this.fetching;
    await this.refresh(state, true);
  }
}

/** How a followed run is shown: redrawn in place on a TTY, one line per change otherwise. */
interface RunView {
  /** How often the run is polled. */
  readonly intervalMs: number;
  show(state: RunState): void;
  /** A notice went to stderr: a redrawing view starts below it. */
  keepFrame(): void;
  /** The watch ended (or failed): stop redrawing. */
  stop(): void;
  /** Draw what only the end shows (the final sections). */
  showFinal(final: RunState): Promise<void>;
}

/** The stage table redrawn in place, with the extra sections of `FollowOptions` under it. */
class LiveRunView implements RunView {
  readonly intervalMs = 250;
  private readonly region: LiveRegion;
  private shown: RunState | undefined;
  private readonly sections: FollowedSections;
  private readonly ticker: NodeJS.Timeout;

  constructor(
    io: CliIo,
    private readonly options: FollowOptions,
  ) {
    this.region = new LiveRegion(io.stdout as LiveStream);
    this.sections = new FollowedSections(
      options,
      () => Number((io.stdout as { columns?: number }).columns ?? 120),
      () => this.shown && this.draw(this.shown),
    );
    // Between changes, redraw once a second so elapsed times keep counting, and read the sections again when due: a
    // sweep's trials change (a worker lost, a retry waiting) while the run's own state does not.
    this.ticker = setInterval(() => {
      if (!this.shown || this.shown.endedAt !== undefined) return;
      this.draw(this.shown);
      void this.sections.refresh(this.shown);
    }, 1_000);
  }

  show(state: RunState): void {
    this.shown = state;
    this.draw(state);
    void this.sections.refresh(state);
  }

  keepFrame(): void {
    this.region.keepFrame();
  }

  stop(): void {
    clearInterval(this.ticker);
    this.region.done();
  }

  async showFinal(final: RunState): Promise<void> {
    this.shown = final;
    await this.sections.final(final);
  }

  private draw(state: RunState): void {
    const needs = planNeeds(this.options.plan);
    const shown = this.sections.restate(state);
    this.region.draw((columns) =>
      [renderRunState(shown, new Date(), columns, needs), ...this.sections.lines].join('\n\n'),
    );
  }
}

/**
 * One timestamped line per stage change and per run status change (logs stay readable). The sections' lines are not
 * printed, but each stage's line reads the state as they know it (a sweep's trials retrying after a lost worker).
 */
class LineRunView implements RunView {
  readonly intervalMs = 500;
  private readonly seen = new Map<string, string>();
  private lastRunStatus = '';
  private shown: RunState | undefined;
  private readonly sections: FollowedSections;
  private readonly ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly io: CliIo,
    options: FollowOptions,
  ) {
    this.sections = new FollowedSections(
      options,
      () => 120,
      () => this.shown && this.print(this.shown),
    );
    // The sections are read again when due, changed run state or not: a sweep's trials change (a worker lost, a retry
    // waiting) while the run's own state does not.
    if (options.sections)
      this.ticker = setInterval(() => {
        if (this.shown && this.live(this.shown)) void this.sections.refresh(this.shown);
      }, 1_000);
  }

  show(state: RunState): void {
    this.shown = state;
    this.print(state);
    if (this.live(state)) void this.sections.refresh(state);
  }

  keepFrame(): void {}

  stop(): void {
    clearInterval(this.ticker);
  }

  /** A stage runs: what the sections know better of it may change. */
  private live(state: RunState): boolean {
    return state.endedAt === undefined && state.stages.some((stage) => stage.status === 'running');
  }

  async showFinal(): Promise<void> {}

  private print(state: RunState): void {
    const at = new Date().toISOString().slice(11, 19);
    for (const stage of this.sections.restate(state).stages) {
      const line = stageLine(stage);
      // A stale heartbeat's age grows every second: the line is printed once it goes stale, not once a second.
      const unchanged = withoutStaleAge(line);
      if (this.seen.get(stage.id) !== unchanged) {
        this.seen.set(stage.id, unchanged);
        if (stage.status !== 'pending') this.io.stdout.write(`${at} ${line}\n`);
      }
    }
    if (state.status !== this.lastRunStatus) {
      this.lastRunStatus = state.status;
      this.io.stdout.write(`${at} run ${state.status}\n`);
    }
  }
}

/**
 * Follow a run until it ends or waits for a retry. On a TTY the stage table is redrawn in
 * place; otherwise every change prints one timestamped line (logs stay readable).
 */
export async function followRun(
  runs: RunClient,
  runId: string,
  io: CliIo,
  options: FollowOptions = {},
): Promise<RunState> {
  const view: RunView = io.stdout.isTTY ? new LiveRunView(io, options) : new LineRunView(io, options);
  const final = await runs
    .watch(runId, (state) => view.show(state), {
      intervalMs: view.intervalMs,
      until: (state) => state.status === 'waiting',
      ...watchNotices(io, runId, () => view.keepFrame()),
    })
    .finally(() => view.stop());
  await view.showFinal(final);
  if (final.status === 'waiting')
    io.stderr.write(`${waitingRunAdvice(final, runId, options.plan ?? (await recordedPlan(runs, runId)))}\n`);
  return final;
}

/** A stage's `needs` in a plan, for the stage table's "not run: upstream stage X failed"; none without a plan. */
export function planNeeds(plan: Plan | undefined): ((stageId: string) => readonly string[] | undefined) | undefined {
  if (!plan) return undefined;
  const needs = new Map(plan.stages.map((stage) => [stage.id, stage.needs]));
  return (stageId) => needs.get(stageId);
}

/**
 * The plan a run was started with, read from its history (`status`, `status --watch`, `rerun`: the caller has no
 * file), or undefined when it cannot be read: the advice then falls back to retry, as it did without a plan.
 */
export async function recordedPlan(runs: Pick<RunClient, 'plan'>, runId: string): Promise<Plan | undefined> {
  try {
    return await runs.plan(runId);
  } catch {
    return undefined;
  }
}

/** `${{ params.NAME }}` anywhere in a stage's inputs: a value a retry's `--set` can change. */
const PARAM_REFERENCE = /\$\{\{[^}]*\bparams\./;

/**
 * A stage that failed on invalid input (not retried) and whose inputs take no param: the value at fault is written in
 * the pipeline file, or came from an earlier stage, and a retry runs the same inputs again.
 */
function failedOnFileValue(stage: StageState, plan: Plan): boolean {
  if (stage.error?.type !== ERROR_TYPES.invalidInput) return false;
  const planned = plan.stages.find((s) => s.id === stage.id);
  return planned !== undefined && !PARAM_REFERENCE.test(JSON.stringify(planned.with));
}

/**
 * What to do about a run that waits on failed stages: retry, or (for a value in the file, known from `plan`) edit the
 * file and submit again.
 */
export function waitingRunAdvice(state: RunState, runId: string, plan?: Plan): string {
  const waiting = state.stages.filter((s) => s.status === 'waiting');
  const head = `run ${runId} is waiting: stage ${waiting.map((s) => s.id).join(', ')} failed. `;
  const cancel = `\`fineflow cancel ${runId}\``;
  if (plan && waiting.length > 0 && waiting.every((stage) => failedOnFileValue(stage, plan))) {
    const file = plan.source ?? 'the pipeline file';
    const where = waiting
      .map((stage) => plan.stages.find((s) => s.id === stage.id))
      .map((planned) => `${planned?.id ?? '?'}${planned?.line !== undefined ? ` (line ${planned.line})` : ''}`)
      .join(', ');
    return (
      head +
      `Its input is invalid (not retried) and takes no param, so \`fineflow retry\` would fail the same way: ` +
      `fix ${where} in ${file}, ${cancel}, then submit the file again (the stages before it are cache hits).`
    );
  }
  return (
    head + `Fix the cause, then \`fineflow retry ${runId}\` (add --set NAME=VALUE to change params), or ${cancel}.`
  );
}
