/**
 * The trial tables of a run's sweep stages, one copy for the whole run page: the DAG's node and the stage panel count
 * a running sweep's trials from the same tables (src/core/sweep/trials-waiting.ts `sweepStageProgress`: a trial whose
 * worker died reads `retrying`, not the `running` the sweep sent its run), as `fineflow status` does. A live sweep's
 * trials come from its workflow's query (`/api/runs/RUN/sweeps`), asked again at most every 2 s while it runs.
 */
import { sweepStageProgress } from '../../../core/sweep/trials-waiting';
import type { StageState, SweepTable } from '../types';
import { getJson } from '../util';

/** How often a running sweep's trials are read again, at most. */
export const SWEEP_REFRESH_MS = 2_000;

export class RunSweeps {
  private fetchedAt = 0;
  private timer: number | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly runId: string,
    private tables: readonly SweepTable[],
  ) {}

  /** Every sweep stage's table, as last read. */
  get all(): readonly SweepTable[] {
    return this.tables;
  }

  /** The table of one sweep stage, as last read. */
  of(stageId: string): SweepTable | undefined {
    return this.tables.find((table) => table.stageId === stageId);
  }

  /** The stage's progress as a person reads it: a running sweep's line counted from its trial table. */
  progressOf(stage: StageState): StageState['progress'] {
    if (stage.status !== 'running' || !stage.progress) return stage.progress;
    return sweepStageProgress(stage.progress, this.of(stage.id));
  }

  /**
   * Read the tables again: `running` (a sweep stage runs), in SWEEP_REFRESH_MS unless read less than that ago; else
   * (one ended) at once, for its final trials. Listeners hear of tables that changed.
   */
  refresh(running: boolean): void {
    if (running && Date.now() - this.fetchedAt <= SWEEP_REFRESH_MS) return;
    this.fetchedAt = Date.now();
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(
      () => {
        getJson<{ sweeps: SweepTable[] }>(`/api/runs/${encodeURIComponent(this.runId)}/sweeps`)
          .then((body) => {
            // The same trials again (an ended sweep's one refresh): left as drawn, where the reader scrolled it.
            if (JSON.stringify(body.sweeps) === JSON.stringify(this.tables)) return;
            this.tables = body.sweeps;
            for (const listener of this.listeners) listener();
          })
          .catch(() => undefined);
      },
      running ? SWEEP_REFRESH_MS : 0,
    );
  }

  /** `listener` is called after the tables changed; the returned function stops that. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dispose(): void {
    window.clearTimeout(this.timer);
    this.listeners.clear();
  }
}
