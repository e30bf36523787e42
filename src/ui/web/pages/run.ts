/**
 * A run: header with actions, the DAG recoloured live from server-sent events, and the panel of
 * the selected stage (stage-panel.ts). Every action asks for confirmation first.
 */
import { drawDag, type DagView } from '../dag';
import type { RunDetails, RunState } from '../types';
import {
  confirmAction,
  errorBox,
  formatDuration,
  formatTime,
  getJson,
  h,
  loadInto,
  postJson,
  settings,
  statusBadge,
  temporalLink,
  toast,
  type LoadText,
  type Page,
  scrollHint,
} from '../util';
import { StagePanel } from './stage-panel';
import { RunSweeps } from './run-sweeps';
import { defaultStage } from '../default-stage';
import { quotedInput } from '../../../core/shown-input';
import { NOT_RUN, needsFromEdges, notRunStages } from '../../../core/run/not-run';

const ENDED = ['succeeded', 'failed', 'cancelled', 'terminated', 'timed-out'];

function triggerText(state: RunState): string {
  const trigger = state.trigger;
  if (trigger.kind === 'rerun') return `rerun of ${trigger.fromRunId} from ${trigger.fromStage}`;
  if (trigger.kind === 'schedule') return `schedule ${trigger.scheduleId}`;
  if (trigger.kind === 'new-data') return `new data at ${trigger.path}`;
  return 'manual';
}

/**
 * The address names a stage the run lacks (a typo, a link to another pipeline's run): say so, with the name bounded
 * and escaped (an address is anyone's), instead of an empty panel.
 */
function addressStageNote(
  named: string,
  runId: string,
  stages: readonly string[],
  shown: string | undefined,
): HTMLElement {
  const listed = stages.length > 12 ? `${stages.slice(0, 12).join(', ')}, … (${stages.length})` : stages.join(', ');
  return h(
    'p',
    { class: 'warning address-stage', role: 'status' },
    `This address names stage ${quotedInput(named)}, which run ${runId} does not have` +
      (shown ? `: showing stage ${shown}.` : '.') +
      (stages.length > 0 ? ` Its stages: ${listed}.` : ''),
  );
}

/**
 * What the run page says until the run's state arrives: an ended run is asked through a control worker, and with
 * none running the server reads the run's history only after its query times out (15 s): a blank page meanwhile
 * read as a broken one.
 */
function runLoadText(runId: string): LoadText {
  return {
    loading: `Loading run ${runId}…`,
    slow: [
      `Still loading run ${runId}: no control worker has answered its state query yet. Without one, an ended run's ` +
        'recorded history is read after 15 s; start one with ',
      h('code', {}, 'fineflow worker --pool control'),
      '.',
    ],
    what: `run ${runId}`,
  };
}

/**
 * A run's params as `name=value` items (a string value as written with --set, others as JSON), so a line breaks
 * between params: the one-line JSON broke inside names ("epoc" / "hs") on a phone.
 */
function paramItems(params: RunState['params']): HTMLElement[] {
  const entries = Object.entries(params);
  if (entries.length === 0) return [h('span', { class: 'muted' }, 'none')];
  return entries.map(([name, value]) =>
    h('code', { class: 'param' }, `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`),
  );
}

export function runPage(runId: string, params: URLSearchParams): Page {
  const status = h('div');
  const header = h('div', { class: 'run-header' });
  const dagBox = h('div', { class: 'dag-box', 'aria-live': 'off' });
  const panelBox = h('div', { class: 'panel-box' });
  const problem = h('div');
  let dag: DagView | undefined;
  let panel: StagePanel | undefined;
  let selected = params.get('stage') || undefined;
  let events: EventSource | undefined;
  let latest: RunState | undefined;
  let sweeps: RunSweeps | undefined;

  const select = (stageId: string): void => {
    selected = stageId;
    dag?.select(stageId);
    history.replaceState(null, '', `#/runs/${encodeURIComponent(runId)}?stage=${encodeURIComponent(stageId)}`);
    if (latest) panel?.show(latest, stageId);
  };

  const cancel = async (): Promise<void> => {
    if (
      !(await confirmAction(
        'Cancel this run?',
        [`Run ${runId} stops its running stages and ends cancelled.`],
        'Cancel run',
      ))
    )
      return;
    try {
      await postJson(`/api/runs/${encodeURIComponent(runId)}/cancel`, {});
      toast(`cancelling ${runId}`);
    } catch (error) {
      toast(error instanceof Error ? error.message : String(error), 'error');
    }
  };

  const drawHeader = (state: RunState): void => {
    const ended = ENDED.includes(state.status);
    header.replaceChildren(
      h(
        'h1',
        {},
        h('span', { class: 'run-id' }, state.runId),
        ' ',
        h('span', { id: 'run-status', 'data-status': state.status }, statusBadge(state.status)),
      ),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Pipeline'),
        h('dd', {}, h('a', { href: `#/runs?pipeline=${encodeURIComponent(state.pipeline)}` }, state.pipeline)),
        h('dt', {}, 'Trigger'),
        h('dd', {}, triggerText(state)),
        h('dt', {}, 'Started (UTC)'),
        h('dd', {}, formatTime(state.startedAt)),
        h('dt', {}, 'Duration'),
        h('dd', {}, formatDuration(state.startedAt, state.endedAt)),
        h('dt', {}, 'Params'),
        h('dd', { class: 'params' }, ...paramItems(state.params)),
      ),
      h(
        'div',
        { class: 'actions' },
        temporalLink(runId),
        h('a', { href: `#/compare?runs=${encodeURIComponent(runId)}` }, 'Compare…'),
        !ended && !settings.readOnly
          ? h('button', { type: 'button', class: 'danger', onclick: () => void cancel() }, 'Cancel run')
          : undefined,
      ),
    );
  };

  let needsOf: ((stageId: string) => readonly string[]) | undefined;

  const drawNodes = (state: RunState): void => {
    // An ended run's stages that never ran are drawn as such, with why, not as `pending` (still to come).
    const notRun = notRunStages(state, needsOf);
    dag?.update(
      new Map<string, { status: string; label?: string; detail?: string }>(
        state.stages.map((s) => {
          const never = notRun.get(s.id);
          if (never) return [s.id, { status: 'not-run', label: NOT_RUN, detail: never.text }];
          // A sweep's line as the stage panel and `fineflow status` count it: from its trial table.
          const message = sweeps?.progressOf(s)?.message;
          return [s.id, { status: s.status, ...(message ? { detail: message } : {}) }];
        }),
      ),
    );
  };

  const apply = (state: RunState): void => {
    latest = state;
    drawHeader(state);
    drawNodes(state);
    // The nodes count a running sweep's trials whichever stage the panel shows: its table is read again meanwhile.
    if (state.stages.some((s) => s.uses === 'hyperparameter-sweep' && s.status === 'running')) sweeps?.refresh(true);
    if (selected) panel?.update(state);
  };

  // The state then comes live from server-sent events while the run goes on.
  const start = (details: RunDetails): void => {
    dag = drawDag(details.graph, select);
    dagBox.replaceChildren(dag.element);
    needsOf = needsFromEdges(details.graph.edges);
    sweeps = new RunSweeps(runId, details.sweeps);
    sweeps.onChange(() => {
      if (latest) drawNodes(latest);
    });
    panel = new StagePanel(
      runId,
      panelBox,
      sweeps,
      new Set(details.graph.nodes.filter((node) => node.checkpoints).map((node) => node.id)),
      needsOf,
    );
    if (selected !== undefined && !details.graph.nodes.some((node) => node.id === selected)) {
      problem.replaceChildren(
        addressStageNote(
          selected,
          runId,
          details.graph.nodes.map((node) => node.id),
          defaultStage(details.state),
        ),
      );
      selected = undefined;
    }
    selected ??= defaultStage(details.state);
    apply(details.state);
    if (selected) select(selected);
    if (ENDED.includes(details.state.status)) return;
    events = new EventSource(`/api/runs/${encodeURIComponent(runId)}/events`);
    events.addEventListener('state', (event) => {
      const state = JSON.parse((event as MessageEvent<string>).data) as RunState;
      apply(state);
      if (ENDED.includes(state.status)) events?.close();
    });
    events.addEventListener('problem', (event) =>
      problem.replaceChildren(errorBox(JSON.parse((event as MessageEvent<string>).data).message)),
    );
  };
  const reading = loadInto(
    status,
    runLoadText(runId),
    () => getJson<RunDetails>(`/api/runs/${encodeURIComponent(runId)}`),
    start,
  );

  return {
    element: h(
      'section',
      { class: 'page run' },
      status,
      header,
      problem,
      h('h2', { class: 'sr-only' }, 'Stages'),
      scrollHint(dagBox, 'Pipeline stages'),
      panelBox,
    ),
    dispose() {
      reading.dispose();
      events?.close();
      panel?.dispose();
      sweeps?.dispose();
    },
  };
}
