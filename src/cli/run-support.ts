/**
 * What the run commands of the CLI share: opening a RunClient from the environment, mapping
 * errors onto exit codes, and following a run in the terminal (redrawn table on a TTY, one
 * line per change otherwise).
 */
import { LiveRegion, type LiveStream } from './live-region';
import type { CliIo } from './command';
import { EXIT } from './command';
import { loadConfig, type FineflowConfig } from '../config';
import type { RunState, StageState } from '../core/run/run-types';
import { connectClient } from '../client/temporal-connection';
import { renderRunState } from '../client/render';
import { RunClient, type WatchOptions } from '../client/run-client';
import { createObjectStoreFromConfig } from '../storage/minio-store';

export interface OpenedRunClient {
  readonly config: FineflowConfig;
  readonly runs: RunClient;
  close(): Promise<void>;
}

export async function openRunClient(io: CliIo): Promise<OpenedRunClient> {
  const config = loadConfig(io.env);
  const client = await connectClient(config.temporal);
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
export async function withRunClient(io: CliIo, body: (opened: OpenedRunClient) => Promise<number>): Promise<number> {
  const opened = await openRunClient(io);
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

function stageLine(stage: StageState): string {
  const progress =
    stage.status === 'running' && stage.progress
      ? ` ${stage.progress.message ?? ''}${stage.progress.fraction !== undefined ? ` (${Math.round(stage.progress.fraction * 100)}%)` : ''}`
      : '';
  const error =
    stage.error && (stage.status === 'failed' || stage.status === 'waiting')
      ? ` ${stage.error.type}: ${stage.error.message}`
      : '';
  const reason =
    stage.reason && (stage.status === 'skipped' || stage.status === 'cached' || stage.live !== undefined)
      ? ` (${stage.reason})`
      : '';
  return `${stage.id} ${stage.status}${stage.attempts > 1 ? ` after ${stage.attempts} attempts` : ''}${progress}${error}${reason}`;
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
        `fineflow: ${message}, retrying in ${(retryInMs / 1000).toFixed(1)} s… (run ${runId} goes on; this watch waits)\n`,
      );
      printed();
    },
    onResumed({ downForMs }) {
      io.stderr.write(`fineflow: reconnected after ${Math.round(downForMs / 1000)} s; watching run ${runId} again\n`);
      printed();
    },
  };
}

export interface FollowOptions {
  /**
   * Extra sections drawn under the stage table on a TTY (e.g. sweep trial tables), fetched at
   * most once per `sectionsEveryMs` while the run is live, and once more when it ends.
   */
  readonly sections?: (state: RunState, width: number) => Promise<readonly string[]>;
  readonly sectionsEveryMs?: number;
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
  const tty = Boolean(io.stdout.isTTY);
  const region = tty ? new LiveRegion(io.stdout as LiveStream) : undefined;
  const width = (): number => Number((io.stdout as { columns?: number }).columns ?? 120);
  let shown: RunState | undefined;
  let sections: readonly string[] = [];
  let sectionsFetchedAt = 0;
  let fetching: Promise<void> | undefined;
  const draw = (state: RunState): void =>
    region?.draw((columns) => [renderRunState(state, new Date(), columns), ...sections].join('\n\n'));
  /** Refreshes the extra sections in the background; a failed fetch keeps the last ones. */
  const refreshSections = (state: RunState, force = false): Promise<void> | undefined => {
    if (
      !options.sections ||
      fetching ||
      (!force && Date.now() - sectionsFetchedAt < (options.sectionsEveryMs ?? 2_000))
    )
      return fetching;
    sectionsFetchedAt = Date.now();
    fetching = options
      .sections(state, width())
      .then((fetched) => {
        sections = fetched;
        if (shown) draw(shown);
      })
      .catch(() => undefined)
      .finally(() => {
        fetching = undefined;
      });
    return fetching;
  };
  // Between changes, redraw once a second so elapsed times keep counting.
  const ticker = tty ? setInterval(() => shown && shown.endedAt === undefined && draw(shown), 1_000) : undefined;
  const seen = new Map<string, string>();
  let lastRunStatus = '';
  const final = await runs
    .watch(
      runId,
      (state) => {
        if (tty) {
          shown = state;
          draw(state);
          void refreshSections(state);
          return;
        }
        const at = new Date().toISOString().slice(11, 19);
        for (const stage of state.stages) {
          const line = stageLine(stage);
          if (seen.get(stage.id) !== line) {
            seen.set(stage.id, line);
            if (stage.status !== 'pending') io.stdout.write(`${at} ${line}\n`);
          }
        }
        if (state.status !== lastRunStatus) {
          lastRunStatus = state.status;
          io.stdout.write(`${at} run ${state.status}\n`);
        }
      },
      {
        intervalMs: tty ? 250 : 500,
        until: (state) => state.status === 'waiting',
        ...watchNotices(io, runId, () => region?.keepFrame()),
      },
    )
    .finally(() => {
      clearInterval(ticker);
      region?.done();
    });
  if (tty && options.sections) {
    // The final view: trials as the run ended (a fetch in flight may predate the end).
    await fetching;
    shown = final;
    await refreshSections(final, true);
  }
  if (final.status === 'waiting') {
    const waiting = final.stages.filter((s) => s.status === 'waiting').map((s) => s.id);
    io.stderr.write(
      `run ${runId} is waiting: stage ${waiting.join(', ')} failed. Fix the cause, then \`fineflow retry ${runId}\` (add --set k=v to change params), or \`fineflow cancel ${runId}\`.\n`,
    );
  }
  return final;
}
