/**
 * The selected stage of a run: state, attempts, progress, error; actions (retry a waiting stage
 * with changed params, rerun from it); its log following live; resolved inputs; outputs;
 * artifacts with presigned download links; epoch curves for training stages; trials and charts
 * for sweeps; the report of an evaluate stage.
 */
import { readableJson } from '../readable-json';
import type uPlot from 'uplot';
import { reusedFromOf, reusedReason } from '../../../core/run/reused-stage';
import { NOT_RUN, notRunStages, type NotRunReason } from '../../../core/run/not-run';
import { givenUpAttempt } from '../../../core/run/unfinished-attempt';
import { epochMarkers, type EpochMarkerKind } from '../../../ml/eval/epoch-markers';
import { lineChart, type Marker } from '../charts';
import type { RerunPreviewInfo, RunState, StageCacheInfo, StageCheckpoints, StageState, SweepTable } from '../types';
import {
  confirmAction,
  formatDuration,
  formatTime,
  getJson,
  getText,
  h,
  labelledStatusBadge,
  loadFailure,
  postJson,
  replace,
  settings,
  toast,
} from '../util';
import { sweepView } from './sweep-view';
import { RunSweeps } from './run-sweeps';
import { cacheSection, checkpointsSection, rerunPlanDetail } from './stage-store-sections';

const RUN_ENDED = ['succeeded', 'failed', 'cancelled', 'terminated', 'timed-out'];

interface EpochRecord {
  readonly epoch: number;
  readonly phase?: string;
  readonly trainLoss?: number;
  readonly trainAccuracy?: number;
  readonly validationLoss?: number;
  readonly validationAccuracy?: number;
}

function epochRecords(outputs: StageState['outputs']): EpochRecord[] {
  const history = outputs?.history;
  if (!Array.isArray(history)) return [];
  return history.filter(
    (e): e is Record<string, never> =>
      e !== null && typeof e === 'object' && !Array.isArray(e) && typeof (e as { epoch?: unknown }).epoch === 'number',
  ) as unknown as EpochRecord[];
}

function bestEpochOf(outputs: StageState['outputs']): number | undefined {
  const metrics = outputs?.metrics;
  const best =
    metrics && typeof metrics === 'object' && !Array.isArray(metrics)
      ? (metrics as { bestEpoch?: unknown }).bestEpoch
      : undefined;
  return typeof best === 'number' ? best : undefined;
}

/** The theme colour of each kind of epoch marker: the hues of the report's (grey phase, green best epoch). */
const MARKER_COLOUR_VARS: Readonly<Record<EpochMarkerKind, string>> = { phase: '--muted', best: '--succeeded' };

/** Markers for the epoch charts: the report's (`epochMarkers`), in the theme's colours. */
function chartMarkers(records: readonly EpochRecord[], bestEpoch: number | undefined): Marker[] {
  return epochMarkers(records, bestEpoch).map((marker) => ({ ...marker, colorVar: MARKER_COLOUR_VARS[marker.kind] }));
}

/**
 * What the log box says while a stage has no log in this run: a cached stage, or one a rerun reused, ran elsewhere
 * ("no log yet" read as a log still to come).
 */
/**
 * Which training engine a training stage ran on (its `engine` output, as `fineflow status` says it): `auto` falls back
 * to the slow eager engine when the graph addon is missing, so that one is marked. Only Fineflow's two values: a
 * pipeline's own stage may output anything under that name.
 */
function engineFact(stage: StageState): HTMLElement[] | undefined {
  const engine = stage.outputs?.engine;
  if (engine !== 'graph' && engine !== 'eager') return undefined;
  const eager = engine === 'eager';
  return [
    h('dt', {}, 'Engine'),
    h(
      'dd',
      {
        id: 'stage-engine',
        class: eager ? 'warning' : undefined,
        title: eager
          ? "the graph addon was not used: see the stage log's 'warning: trained on the eager engine …' line"
          : undefined,
      },
      `${engine} engine`,
    ),
  ];
}

function emptyLogNote(stage: StageState): string {
  const elsewhere = 'nothing ran in this run; the Cache section links the run that produced it';
  if (stage.status === 'cached') return `(served from the cache: ${elsewhere})`;
  const reused = reusedFromOf(stage);
  if (stage.attempts === 0 && reused) return `(${reusedReason(reused.runId)}: ${elsewhere})`;
  return '(no log yet)';
}

function json(value: unknown): HTMLElement {
  return h('pre', { class: 'json' }, readableJson(value));
}

/**
 * A JSON report (prepare-data's data-report.json) indented; one that is not valid JSON (cut off while written, or a
 * command stage's own) as written, under a note that says so and where it breaks (read as JSON it showed `{}`).
 */
function jsonReport(uri: string, text: string): HTMLElement[] {
  try {
    return [json(JSON.parse(text))];
  } catch (error) {
    const name = uri.slice(uri.lastIndexOf('/') + 1);
    const reason = error instanceof Error ? error.message : String(error);
    return [
      h(
        'p',
        { class: 'report-note' },
        `${name} is not valid JSON: ${reason.replace(/\.?$/, '.')} It is shown as written.`,
      ),
      h('pre', { class: 'json' }, text),
    ];
  }
}

/**
 * The data report a prepare-data stage wrote before its quality checks stopped it: its error's last line names it
 * (src/ml/data/prepare.ts), and /report serves it from the stage's own prefix (stageReportOf).
 */
function stoppedDataReport(stage: StageState): string | undefined {
  if (stage.status !== 'failed' || stage.uses !== 'prepare-data') return undefined;
  return /\ndata report: (s3:\/\/\S+\.json)$/.exec(stage.error?.message ?? '')?.[1];
}

export class StagePanel {
  private stageId: string | undefined;
  private shownJson = '';
  private shownStage: StageState | undefined;
  /** The run state the panel last drew, so a refreshed trial table can redraw the stage's progress line. */
  private shownState: RunState | undefined;
  private logEvents: EventSource | undefined;
  private logAttempt: number | undefined;
  private charts: uPlot[] = [];
  /** The run's sweep tables, shared with the run page's DAG (./run-sweeps.ts), and the section drawing them. */
  private readonly sweeps: RunSweeps;
  private redrawSweep: (() => void) | undefined;
  private readonly info = h('div', { class: 'stage-info' });
  private readonly logBox = h('pre', {
    class: 'log',
    id: 'stage-log',
    tabindex: 0,
    'aria-label': 'Stage log',
    'aria-live': 'off',
  });
  private readonly logHeader = h('div', { class: 'log-header' });
  /** The line `fineflow logs` ends an attempt's log with when the run gave up after Temporal timed it out. */
  private readonly givenUpLine = h('span', { class: 'give-up', id: 'stage-log-given-up' });
  private givenUp: { readonly attempt: number; readonly line: string } | undefined;
  private readonly extras = h('div', { class: 'stage-extras' });

  constructor(
    private readonly runId: string,
    private readonly root: HTMLElement,
    sweeps: RunSweeps | readonly SweepTable[],
    /** Stages whose type writes training checkpoints. */
    private readonly checkpointStages: ReadonlySet<string> = new Set(),
    /** A stage's direct upstreams (the DAG's edges): which one kept a stage of an ended run from running. */
    private readonly needsOf?: (stageId: string) => readonly string[],
  ) {
    this.sweeps = sweeps instanceof RunSweeps ? sweeps : new RunSweeps(runId, sweeps);
    // Tables read again (by this panel or by the page): the shown sweep's trials and its progress line follow.
    this.sweeps.onChange(() => {
      this.redrawSweep?.();
      const [shown, stage] = [this.shownState, this.shownStage];
      if (shown && stage?.uses === 'hyperparameter-sweep')
        this.drawInfo(shown, stage, notRunStages(shown, this.needsOf).get(stage.id));
    });
  }

  private get base(): string {
    return `/api/runs/${encodeURIComponent(this.runId)}/stages/${encodeURIComponent(this.stageId ?? '')}`;
  }

  show(state: RunState, stageId: string): void {
    if (stageId !== this.stageId) {
      this.dispose();
      this.stageId = stageId;
      this.shownJson = '';
      this.shownStage = undefined;
      this.logAttempt = undefined;
      this.logBox.textContent = '';
      this.root.replaceChildren(
        h(
          'section',
          { class: 'stage-panel', 'aria-labelledby': 'stage-title', 'data-stage': stageId },
          this.info,
          h('h3', {}, 'Log'),
          this.logHeader,
          this.logBox,
          this.extras,
        ),
      );
    }
    this.update(state);
  }

  update(state: RunState): void {
    const stage = state.stages.find((s) => s.id === this.stageId);
    if (!stage) return;
    const text = `${state.status} ${JSON.stringify(stage)}`;
    if (text === this.shownJson) return;
    const before = this.shownStage;
    this.shownJson = text;
    this.shownStage = stage;
    this.shownState = state;
    const never = notRunStages(state, this.needsOf).get(stage.id);
    this.drawInfo(state, stage, never);
    this.givenUp = givenUpAttempt(stage);
    this.placeGivenUp();
    // A stage that never ran has no log to wait for: "(no log yet)", or nothing, read as one still to come.
    if (never) this.logBox.textContent = '(none: the stage never ran)';
    else if (
      stage.status !== 'pending' &&
      stage.status !== 'skipped' &&
      (this.logAttempt === undefined || before?.attempts !== stage.attempts || before?.status !== stage.status)
    )
      void this.followLog(emptyLogNote(stage));
    if (!before || before.status !== stage.status || stage.uses === 'hyperparameter-sweep')
      this.drawExtras(state, stage);
  }

  private drawInfo(state: RunState, stage: StageState, never: NotRunReason | undefined): void {
    // A sweep's line counts its trials as their table does: a trial whose worker died reads `retrying`, not running.
    const progress = stage.status === 'running' ? this.sweeps.progressOf(stage) : undefined;
    const status = never ? 'not-run' : stage.status;
    replace(
      this.info,
      h(
        'h2',
        { id: 'stage-title' },
        `Stage ${stage.id} `,
        h('span', { id: 'stage-status', 'data-status': status }, labelledStatusBadge(status, never ? NOT_RUN : status)),
      ),
      never ? h('p', { class: 'not-run-note', id: 'stage-not-run' }, `Not run: ${never.text}.`) : undefined,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Type'),
        h('dd', {}, stage.uses),
        h('dt', {}, 'Pool'),
        h('dd', {}, stage.pool),
        h('dt', {}, 'Attempts'),
        // `attempts` counts ended attempts; a running stage is on the next one.
        h(
          'dd',
          { id: 'stage-attempts' },
          stage.status === 'running' ? `${stage.attempts + 1} (running)` : String(stage.attempts),
        ),
        h('dt', {}, 'Started (UTC)'),
        h('dd', {}, formatTime(stage.startedAt)),
        h('dt', {}, 'Duration'),
        h('dd', {}, formatDuration(stage.startedAt, stage.endedAt)),
        stage.reason ? [h('dt', {}, 'Note'), h('dd', {}, stage.reason)] : undefined,
        engineFact(stage),
      ),
      progress
        ? h(
            'div',
            { class: 'progress' },
            h('progress', { max: 1, value: progress.fraction ?? 0, 'aria-label': 'stage progress' }),
            ' ',
            progress.message ?? '',
          )
        : undefined,
      stage.error
        ? h('p', { class: 'error', role: 'alert' }, `${stage.error.type}: ${stage.error.message}`)
        : undefined,
      this.actions(state, stage),
    );
  }

  private actions(state: RunState, stage: StageState): HTMLElement | undefined {
    if (settings.readOnly) return undefined;
    if (stage.status === 'waiting' && state.status === 'waiting') return this.retryForm(state, stage);
    if (RUN_ENDED.includes(state.status)) {
      const button = h('button', { type: 'button', id: 'rerun-stage' }, `Rerun from ${stage.id}`);
      button.addEventListener('click', () => void this.rerun(stage.id, button));
      return h('div', { class: 'actions' }, button);
    }
    return undefined;
  }

  private retryForm(state: RunState, stage: StageState): HTMLElement {
    const inputs = Object.entries(state.params).map(([name, value]) => {
      const id = `param-${name}`;
      return h(
        'label',
        { for: id },
        name,
        h('input', {
          id,
          name,
          'data-param': name,
          value: typeof value === 'string' ? value : JSON.stringify(value),
          autocomplete: 'off',
        }),
      );
    });
    const form = h(
      'form',
      { class: 'retry', 'aria-label': `Retry ${stage.id}` },
      h('h3', {}, 'Retry with params'),
      ...inputs,
      h('button', { type: 'submit', class: 'primary', id: 'retry-stage' }, `Retry ${stage.id}`),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const changed: Record<string, string> = {};
      for (const input of form.querySelectorAll<HTMLInputElement>('input[data-param]')) {
        const name = input.dataset.param ?? '';
        const old = state.params[name];
        if (input.value !== (typeof old === 'string' ? old : JSON.stringify(old))) changed[name] = input.value;
      }
      void this.retry(stage.id, changed);
    });
    return form;
  }

  private async retry(stageId: string, params: Record<string, string>): Promise<void> {
    const detail = Object.keys(params).length
      ? Object.entries(params).map(([k, v]) => h('div', {}, h('code', {}, `${k} = ${v}`)))
      : ['No param changes.'];
    if (!(await confirmAction(`Retry stage ${stageId}?`, detail, 'Retry'))) return;
    try {
      const result = await postJson<{ retried: string[] }>(`/api/runs/${encodeURIComponent(this.runId)}/retry`, {
        stageId,
        params,
      });
      toast(`retrying ${result.retried.join(', ')}`);
    } catch (error) {
      toast(error instanceof Error ? error.message : String(error), 'error');
    }
  }

  /** Confirm a rerun after showing what it would do (`previewRerun`, the decision the server starts with). */
  private async rerun(stageId: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    const run = encodeURIComponent(this.runId);
    const preview = await getJson<RerunPreviewInfo>(
      `/api/runs/${run}/stages/${encodeURIComponent(stageId)}/rerun-preview`,
    )
      .catch((error: unknown) => ({ unavailable: error instanceof Error ? error.message : String(error) }))
      .finally(() => (button.disabled = false));
    if ('unavailable' in preview) {
      await confirmAction(`Cannot rerun from ${stageId}`, h('p', { role: 'alert' }, preview.unavailable), null);
      return;
    }
    if (!(await confirmAction(`Rerun from ${stageId}?`, rerunPlanDetail(preview), 'Start rerun'))) return;
    try {
      const started = await postJson<{ runId: string }>(`/api/runs/${run}/rerun`, { fromStage: stageId });
      toast(`started ${started.runId}`);
      location.hash = `#/runs/${encodeURIComponent(started.runId)}`;
    } catch (error) {
      toast(error instanceof Error ? error.message : String(error), 'error');
    }
  }

  /** Show the newest attempt's log and follow it (server-sent events carry what was appended); `empty` until one exists. */
  private async followLog(empty: string): Promise<void> {
    const stageId = this.stageId;
    const listed = await getJson<{ logs: { attempt: number; size: number }[] }>(`${this.base}/logs`).catch(
      (error: unknown) => ({ unread: error instanceof Error ? error.message : String(error) }),
    );
    if (stageId !== this.stageId) return;
    // A failed read is not an empty log: "(no log yet)" read as a stage that had written nothing.
    if ('unread' in listed) {
      if (this.logAttempt === undefined)
        this.logBox.textContent = `(log not read: ${listed.unread}. Reload the page to try again.)`;
      return;
    }
    const { logs } = listed;
    const newest = logs[logs.length - 1];
    if (!newest) {
      // As `fineflow logs` says it: an attempt Temporal timed out before the store took a line left no log.
      const none = this.givenUp
        ? "(no log in the store for this attempt: its worker stopped before the store took any line; see the worker's own output)"
        : empty;
      if (this.logAttempt === undefined) this.logBox.textContent = none;
      this.placeGivenUp();
      return;
    }
    this.drawLogHeader(
      logs.map((l) => l.attempt),
      newest.attempt,
    );
    if (newest.attempt === this.logAttempt && this.logEvents) return;
    this.openLog(newest.attempt);
  }

  private drawLogHeader(attempts: readonly number[], current: number): void {
    if (attempts.length < 2) {
      this.logHeader.replaceChildren(h('span', { class: 'muted' }, `attempt ${current}`));
      return;
    }
    const chooser = h(
      'select',
      { id: 'log-attempt', 'aria-label': 'Attempt' },
      ...attempts.map((a) => h('option', { value: a, selected: a === current }, `attempt ${a}`)),
    );
    chooser.addEventListener('change', () => this.openLog(Number(chooser.value)));
    this.logHeader.replaceChildren(chooser);
  }

  private openLog(attempt: number): void {
    this.logEvents?.close();
    this.logAttempt = attempt;
    this.logBox.textContent = '';
    this.logBox.dataset.attempt = String(attempt);
    this.placeGivenUp();
    this.logEvents = new EventSource(`${this.base}/logs/${attempt}/events?from=0`);
    this.logEvents.addEventListener('log', (event) => {
      const chunk = JSON.parse((event as MessageEvent<string>).data) as { text: string };
      const atBottom = this.logBox.scrollTop + this.logBox.clientHeight >= this.logBox.scrollHeight - 8;
      // Before the give-up line, which stays last.
      const last = this.givenUpLine.parentNode === this.logBox ? this.givenUpLine : null;
      this.logBox.insertBefore(document.createTextNode(chunk.text), last);
      if (atBottom) this.logBox.scrollTop = this.logBox.scrollHeight;
    });
  }

  /**
   * End the shown attempt's log with the give-up line when the run gave up on the stage after Temporal timed that
   * attempt out (a stage with no log at all gets it after its note), as `fineflow logs` does; else no such line.
   */
  private placeGivenUp(): void {
    const shown = this.logAttempt ?? this.givenUp?.attempt;
    if (!this.givenUp || shown !== this.givenUp.attempt) {
      this.givenUpLine.remove();
      return;
    }
    // A block of its own (styles.css): on its own line whether or not the log's last line ended.
    this.givenUpLine.textContent = `[fineflow] ${this.givenUp.line}`;
    if (this.givenUpLine.parentNode !== this.logBox || this.logBox.lastChild !== this.givenUpLine)
      this.logBox.appendChild(this.givenUpLine);
  }

  private drawExtras(state: RunState, stage: StageState): void {
    for (const chart of this.charts) chart.destroy();
    this.charts = [];
    const sections: HTMLElement[] = [];
    if (stage.uses === 'hyperparameter-sweep') sections.push(this.sweepSection(stage));
    const records = epochRecords(stage.outputs);
    if (records.length > 0) sections.push(this.curves(records, bestEpochOf(stage.outputs)));
    const report = stage.outputs?.report ?? stoppedDataReport(stage);
    if (typeof report === 'string') sections.push(this.reportSection(stage.id, report));
    if (stage.outputs)
      sections.push(h('details', { open: records.length === 0 }, h('summary', {}, 'Outputs'), json(stage.outputs)));
    if (this.checkpointStages.has(stage.id) && stage.status !== 'pending' && stage.status !== 'skipped')
      sections.push(
        this.lazySection('Checkpoints', 'checkpoints', (body: StageCheckpoints) => checkpointsSection(body), {
          open: stage.status === 'cached' || stage.status === 'succeeded',
        }),
      );
    if (stage.status !== 'pending')
      sections.push(
        this.lazySection('Cache', 'cache', (body: StageCacheInfo) => cacheSection(body, stage.id), {
          open: stage.status === 'cached',
        }),
      );
    sections.push(
      this.lazySection(
        'Resolved inputs',
        'inputs',
        (body: { attempts: { attempt: number; inputs: unknown }[]; note?: string }) => [
          ...body.attempts.map((a) => h('div', {}, h('h4', {}, `attempt ${a.attempt}`), json(a.inputs))),
          body.note ? h('p', { class: 'muted' }, body.note) : undefined,
        ],
      ),
    );
    if (stage.status !== 'pending' && stage.status !== 'skipped') {
      sections.push(
        this.lazySection(
          'Artifacts',
          'artifacts',
          (body: { artifacts: { path: string; size: number; url?: string }[] }) => [
            body.artifacts.length === 0
              ? h('p', { class: 'muted' }, 'No objects under this stage yet.')
              : h(
                  'table',
                  { class: 'grid compact artifacts' },
                  h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Object'), h('th', { scope: 'col' }, 'Size'))),
                  h(
                    'tbody',
                    {},
                    ...body.artifacts.map((a) =>
                      h(
                        'tr',
                        {},
                        h(
                          'td',
                          {},
                          a.url ? h('a', { href: a.url, download: '', rel: 'noopener noreferrer' }, a.path) : a.path,
                        ),
                        h('td', { class: 'num' }, `${a.size} B`),
                      ),
                    ),
                  ),
                ),
          ],
        ),
      );
    }
    this.extras.replaceChildren(...sections);
    void state;
  }

  /** A collapsed section whose content is fetched when it is opened. */
  /**
   * A stage's report: an HTML one (evaluate's report.html) in a sandboxed frame; a JSON one (prepare-data's
   * data-report.json) indented, since the frame drew it as one run of text.
   */
  private reportSection(stageId: string, uri: string): HTMLElement {
    if (/\.json$/i.test(uri))
      return this.lazySection('Report', 'report', (text: string) => jsonReport(uri, text), {
        open: true,
        read: getText,
      });
    return h(
      'section',
      {},
      h('h3', {}, 'Report'),
      h('iframe', { class: 'report', title: `Report of ${stageId}`, sandbox: '', src: `${this.base}/report` }),
    );
  }

  private lazySection<T>(
    title: string,
    path: string,
    render: (body: T) => (HTMLElement | undefined)[],
    options: { readonly open?: boolean; readonly read?: (path: string) => Promise<T> } = {},
  ): HTMLElement {
    const content = h('div', {}, 'Loading…');
    const details = h('details', { 'data-section': path }, h('summary', {}, title), content);
    let loaded = false;
    const load = (): void => {
      if (!details.open || loaded) return;
      loaded = true;
      (options.read ?? getJson<T>)(`${this.base}/${path}`).then(
        (body) => {
          replace(content, ...render(body));
          details.dataset.loaded = 'true';
        },
        // What failed, what to check, and Retry (it showed the bare message until the page was reloaded).
        (error: unknown) =>
          content.replaceChildren(
            loadFailure(`the ${title} section`, error, () => {
              loaded = false;
              content.replaceChildren('Loading…');
              load();
            }),
          ),
      );
    };
    details.addEventListener('toggle', load);
    details.open = options.open ?? false;
    load();
    return details;
  }

  private curves(records: readonly EpochRecord[], bestEpoch: number | undefined): HTMLElement {
    const section = h('section', { class: 'curves' }, h('h3', {}, 'Epoch curves'));
    const lossBox = h('div', { class: 'chart', 'data-chart': 'loss' });
    const accuracyBox = h('div', { class: 'chart', 'data-chart': 'accuracy' });
    section.append(h('div', { class: 'charts' }, lossBox, accuracyBox));
    const xs = records.map((r) => r.epoch);
    const markers = chartMarkers(records, bestEpoch);
    const values = (pick: (r: EpochRecord) => number | undefined): (number | null)[] =>
      records.map((r) => pick(r) ?? null);
    // Charts need their box in the document to measure it.
    requestAnimationFrame(() => {
      this.charts.push(
        lineChart(
          lossBox,
          'Loss',
          'epoch',
          xs,
          [
            { label: 'train', values: values((r) => r.trainLoss) },
            { label: 'validation', values: values((r) => r.validationLoss) },
          ],
          markers,
        ),
        lineChart(
          accuracyBox,
          'Accuracy',
          'epoch',
          xs,
          [
            { label: 'train', values: values((r) => r.trainAccuracy) },
            { label: 'validation', values: values((r) => r.validationAccuracy) },
          ],
          markers,
        ),
      );
    });
    return section;
  }

  private sweepSection(stage: StageState): HTMLElement {
    const box = h('section', { class: 'sweep', 'data-sweep': stage.id });
    const draw = (): void => {
      for (const chart of this.charts) chart.destroy();
      this.charts = [];
      const table = this.sweeps.of(stage.id);
      replace(box, ...(table ? sweepView(table, this.charts) : [h('p', { class: 'muted' }, 'No trials yet.')]));
    };
    draw();
    this.redrawSweep = draw;
    this.sweeps.refresh(stage.status === 'running');
    return box;
  }

  dispose(): void {
    this.logEvents?.close();
    this.logEvents = undefined;
    this.redrawSweep = undefined;
    for (const chart of this.charts) chart.destroy();
    this.charts = [];
  }
}
