/**
 * The JSON API behind `fineflow ui`. Every answer comes from the modules the CLI uses — the run
 * client, `startRerun`, the stage logs, the sweep trial tables, the model registry, the schedule
 * service and the spec compiler — so the UI holds no rule of its own. Handlers return data; the
 * server (server.ts) applies access checks, redaction and the wire format.
 */
import { InvalidInputError, ResourceLimitError } from '../core/errors';
import type { RunClient } from '../client/run-client';
import { listStageLogs, readStageLog } from '../client/run-logs';
import { startRerun } from '../client/rerun';
import { listModels, promoteModel, readVersionTags, showModel } from '../ml/models/registry';
import type { ScheduleService } from '../schedules/schedule-client';
import type { WatcherRow } from '../schedules/data-watch-client';
import type { RunState } from '../core/run/run-types';
import { sweepTrialTables } from '../client/sweep-trials-lookup';
import { compilePlan } from '../spec';
import type { JsonValue, Plan } from '../core/spec/plan-types';
import { runPrefix, STAGE_OWNER_FILE } from '../core/storage/layout';
import { stageReportOf } from '../core/run/stage-producer';
import { MAX_HTML_REPORT_BYTES, type ObjectStore } from '../storage/object-store';
import { datasetVersion, listDatasets, runEndedIn } from './datasets';
import { modelMeasures } from './model-measures';
import { planGraph, readRunInput, readStageInputs, type PlanGraph } from './run-plan';
import { rerunPreviewOf, stageCache, stageCheckpoints } from './stage-store-info';
import type { VersionTagsView } from './web/store-info-types';

export interface UiServices {
  readonly runs: RunClient;
  readonly store: ObjectStore;
  readonly bucket: string;
  readonly schedules: ScheduleService;
  readonly namespace: string;
  /** Base URL of the Temporal UI, for links to a run's workflow; absent = no links. */
  readonly temporalUiUrl?: string;
  /** The operator's log (`fineflow ui`: stderr): what the pages leave out, such as Temporal's words for a query. */
  readonly log?: (line: string) => void;
}

/** Bounds on what a request may ask for. */
export const LIMITS = {
  runs: 500,
  yamlBytes: 256 * 1024,
  bodyBytes: 512 * 1024,
  logBytes: 4 * 1024 * 1024,
  artifacts: 500,
  presignSeconds: 15 * 60,
  /** Tags of one model version sent to the page (the rest counted; `fineflow models show NAME@VERSION` has all). */
  tagsPerVersion: 24,
  /** Characters of a tag's key or value sent to the page (a longer one is cut, ending in …). */
  tagChars: 200,
} as const;

const cutText = (text: string): string =>
  text.length > LIMITS.tagChars ? `${text.slice(0, LIMITS.tagChars - 1)}…` : text;

/** A report's content type by its name: a JSON report was served as text/html. */
function reportContentType(uri: string): string {
  if (/\.html?$/i.test(uri)) return 'text/html; charset=utf-8';
  if (/\.json$/i.test(uri)) return 'application/json; charset=utf-8';
  return 'text/plain; charset=utf-8';
}

/** tags.json of a version through the registry's one reader (≤ 1 MiB, string values only), bounded for the page. */
export async function versionTagsView(
  store: ObjectStore,
  bucket: string,
  name: string,
  version: number,
): Promise<VersionTagsView> {
  let tags: Readonly<Record<string, string>>;
  try {
    tags = await readVersionTags(store, bucket, name, version);
  } catch (error) {
    if (!(error instanceof InvalidInputError || error instanceof ResourceLimitError)) throw error;
    return { tags: [], error: `tags.json not read: ${error.message}` };
  }
  const sorted = Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const shown = sorted.slice(0, LIMITS.tagsPerVersion).map(([k, v]) => [cutText(k), cutText(v)] as const);
  const omitted = sorted.length - shown.length;
  return { tags: shown, ...(omitted > 0 ? { omitted } : {}) };
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

export function checkId(value: string | undefined, what: string): string {
  if (!value || !ID_PATTERN.test(value))
    throw new InvalidInputError(`${what} ${JSON.stringify(value ?? '')} is not a valid id`, { what });
  return value;
}

function stringRecord(value: unknown, what: string): Record<string, string> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InvalidInputError(`${what} must be an object of name → text`, { what });
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 100) throw new InvalidInputError(`${what}: at most 100 entries`, { what });
  return Object.fromEntries(
    entries.map(([key, item]) => [key, typeof item === 'string' ? item : JSON.stringify(item)]),
  );
}

export function temporalWorkflowUrl(
  services: Pick<UiServices, 'temporalUiUrl' | 'namespace'>,
  workflowId: string,
): string | undefined {
  if (!services.temporalUiUrl) return undefined;
  const namespace = encodeURIComponent(services.namespace);
  const base = services.temporalUiUrl.replace(/\/$/, '');
  return `${base}/namespaces/${namespace}/workflows/${encodeURIComponent(workflowId)}`;
}

export class UiApi {
  /** Plans never change during a run; the DAG of a run page is read once. */
  private readonly graphs = new Map<string, PlanGraph>();
  /** Why each unanswered watcher's query last failed, as logged: a refreshing page logs a change only. */
  private readonly loggedWatcherFailures = new Map<string, string>();

  constructor(readonly services: UiServices) {}

  /** Readiness: Temporal answers and the bucket can be listed (the probes of a deployment). */
  async ready(): Promise<{ ok: boolean; temporal: string; store: string }> {
    const check = (work: Promise<unknown>): Promise<string> =>
      work.then(
        () => 'ok',
        (thrown: unknown) => (thrown instanceof Error ? thrown.message : String(thrown)),
      );
    const [temporal, store] = await Promise.all([
      check(this.services.runs.client.workflowService.getSystemInfo({})),
      check(this.services.store.list(`s3://${this.services.bucket}/models/`)),
    ]);
    return { ok: temporal === 'ok' && store === 'ok', temporal, store };
  }

  async listRuns(query: URLSearchParams): Promise<unknown> {
    const limit = Math.min(Number(query.get('limit') ?? 100) || 100, LIMITS.runs);
    const pipeline = query.get('pipeline') || undefined;
    const status = query.get('status') || undefined;
    const trigger = query.get('trigger') || undefined;
    const runs = await this.services.runs.list({
      ...(pipeline ? { pipeline } : {}),
      ...(status ? { status } : {}),
      ...(trigger ? { trigger } : {}),
      limit,
    });
    return { runs };
  }

  async graph(runId: string): Promise<PlanGraph> {
    const known = this.graphs.get(runId);
    if (known) return known;
    const graph = planGraph((await readRunInput(this.services.runs.client, runId)).plan);
    if (this.graphs.size > 1000) this.graphs.clear();
    this.graphs.set(runId, graph);
    return graph;
  }

  async run(runId: string): Promise<unknown> {
    const state = await this.services.runs.state(checkId(runId, 'run'));
    return {
      state,
      graph: await this.graph(runId),
      sweeps: await this.sweeps(state),
      temporalUrl: temporalWorkflowUrl(this.services, runId),
    };
  }

  state(runId: string): Promise<RunState> {
    return this.services.runs.state(checkId(runId, 'run'));
  }

  async sweeps(state: RunState): Promise<unknown> {
    if (!state.stages.some((stage) => stage.uses === 'hyperparameter-sweep')) return [];
    return sweepTrialTables(this.services.runs.client, this.services.store, this.services.bucket, state, {
      queryTimeoutMs: 3_000,
    });
  }

  async logs(runId: string, stageId: string): Promise<unknown> {
    const logs = await listStageLogs(
      this.services.store,
      this.services.bucket,
      checkId(runId, 'run'),
      checkId(stageId, 'stage'),
    );
    return { logs: logs.map(({ attempt, size }) => ({ attempt, size })) };
  }

  /** The log of one attempt from byte `from` on (the page follows it by asking again). */
  async logText(
    runId: string,
    stageId: string,
    attempt: number,
    from: number,
  ): Promise<{ text: string; size: number }> {
    const logs = await listStageLogs(
      this.services.store,
      this.services.bucket,
      checkId(runId, 'run'),
      checkId(stageId, 'stage'),
    );
    const log = logs.find((entry) => entry.attempt === attempt);
    if (!log || log.size <= from) return { text: '', size: log?.size ?? 0 };
    return readStageLog(this.services.store, log, from, LIMITS.logBytes);
  }

  async inputs(runId: string, stageId: string): Promise<unknown> {
    const attempts = await readStageInputs(this.services.runs.client, checkId(runId, 'run'), checkId(stageId, 'stage'));
    return {
      attempts,
      ...(attempts.length === 0
        ? { note: 'not scheduled yet, served from the cache, or skipped: nothing was resolved for an attempt' }
        : {}),
    };
  }

  /** Checkpoints in the store of a training stage (of the run that produced it, when cached), resume points. */
  checkpoints(runId: string, stageId: string): Promise<unknown> {
    return stageCheckpoints(this.services, checkId(runId, 'run'), checkId(stageId, 'stage'));
  }

  /** The stage's cache key, lookups (hit/miss and why), whether its entry is reusable now, what a rerun reuses. */
  cache(runId: string, stageId: string): Promise<unknown> {
    return stageCache(this.services, checkId(runId, 'run'), checkId(stageId, 'stage'));
  }

  /** What a rerun from the stage would run again and reuse, and why (shown before the user confirms it). */
  rerunPreview(runId: string, stageId: string): Promise<unknown> {
    return rerunPreviewOf(this.services, checkId(runId, 'run'), checkId(stageId, 'stage'));
  }

  async artifacts(runId: string, stageId: string): Promise<unknown> {
    const prefix = runPrefix(this.services.bucket, checkId(runId, 'run'), checkId(stageId, 'stage'));
    // The attempt fence's claim is bookkeeping, not something the stage made.
    const objects = (await this.services.store.list(prefix))
      .filter((object) => !object.key.endsWith(`/${STAGE_OWNER_FILE}`))
      .slice(0, LIMITS.artifacts);
    const presign = this.services.store.presignGet?.bind(this.services.store);
    const artifacts = await Promise.all(
      objects.map(async (object) => {
        const uri = `s3://${object.bucket}/${object.key}`;
        return {
          path: object.key.slice(prefix.length - `s3://${object.bucket}/`.length),
          size: object.size,
          ...(presign ? { url: await presign(uri, LIMITS.presignSeconds) } : {}),
        };
      }),
    );
    return { artifacts };
  }

  /**
   * A stage's report (evaluate's report.html, prepare-data's data-report.json), only from the prefix of the stage that
   * produced it (its own, or for a cache hit or a rerun's reused stage the computing run's: stageReportOf), with
   * the content type its name gives: HTML, JSON, or else plain text (never the type stored with the object, which
   * pipeline code sets).
   */
  async report(runId: string, stageId: string): Promise<{ readonly body: string; readonly type: string }> {
    const state = await this.state(runId);
    const stage = state.stages.find((s) => s.id === stageId);
    const found = stage ? stageReportOf(this.services.bucket, runId, stage) : undefined;
    if (!found) throw new InvalidInputError(`stage ${stageId} of run ${runId} has no report`, { code: 'not-found' });
    const uri = found.uri;
    const body = (await this.services.store.getBytes(uri, { maxBytes: MAX_HTML_REPORT_BYTES })).toString('utf8');
    return { body, type: reportContentType(uri) };
  }

  async retry(runId: string, body: Record<string, unknown>): Promise<unknown> {
    const params = stringRecord(body.params, 'params');
    const stageId = typeof body.stageId === 'string' ? checkId(body.stageId, 'stage') : undefined;
    return this.services.runs.retry(checkId(runId, 'run'), {
      ...(stageId ? { stageId } : {}),
      ...(Object.keys(params).length > 0 ? { params } : {}),
    });
  }

  async cancel(runId: string): Promise<unknown> {
    await this.services.runs.cancel(checkId(runId, 'run'));
    return { cancelled: runId };
  }

  async rerun(runId: string, body: Record<string, unknown>): Promise<unknown> {
    const fromStage = checkId(typeof body.fromStage === 'string' ? body.fromStage : undefined, 'stage');
    const started = await startRerun(this.services.runs, this.services.store, {
      runId: checkId(runId, 'run'),
      fromStage,
      set: stringRecord(body.set, 'set'),
    });
    return {
      runId: started.runId,
      rerun: started.selection.rerun,
      reused: started.selection.reuse.map((r) => r.stageId),
      notes: started.selection.notes,
    };
  }

  async models(): Promise<unknown> {
    const { store, bucket } = this.services;
    const models = await listModels(store, bucket);
    return {
      models: await Promise.all(
        models.map(async (m) => ({ ...m, latestTags: await versionTagsView(store, bucket, m.name, m.latest) })),
      ),
    };
  }

  /** A model's versions, aliases and each version's tags (by version; tags.json is not part of the card). */
  async model(name: string): Promise<unknown> {
    const { store, bucket } = this.services;
    const details = await showModel(store, bucket, name);
    const tags = await Promise.all(
      details.versions.map(async (card) => [card.version, await versionTagsView(store, bucket, name, card.version)]),
    );
    return { ...details, tags: Object.fromEntries(tags) };
  }

  /** What a version's numbers measure and which stage of which run measured them; where its lineage leads. */
  measures(name: string, version: string): Promise<unknown> {
    if (!/^\d{1,9}$/.test(version)) throw new InvalidInputError(`version ${version.slice(0, 20)} is not a number`);
    return modelMeasures(this.services, name, Number(version));
  }

  async promote(name: string, body: Record<string, unknown>): Promise<unknown> {
    const version = body.version;
    if (typeof version !== 'number' && typeof version !== 'string')
      throw new InvalidInputError('promote needs a version (number, alias or latest)', { field: 'version' });
    if (typeof body.alias !== 'string') throw new InvalidInputError('promote needs an alias', { field: 'alias' });
    return promoteModel(this.services.store, this.services.bucket, name, version, body.alias);
  }

  /** Every dataset prefix with versions, newest first (src/ui/datasets.ts bounds what is read). */
  datasets(): Promise<unknown> {
    return listDatasets(this.services.store, this.services.bucket, runEndedIn(this.services.runs));
  }

  /** One version (`?prefix=s3://…/&id=<version>&offset=N`): a page of its objects, its readers, its diff. */
  datasetVersion(query: URLSearchParams): Promise<unknown> {
    const { store, bucket } = this.services;
    const ended = runEndedIn(this.services.runs);
    return datasetVersion(store, bucket, query.get('prefix'), query.get('id'), query.get('offset'), ended);
  }

  async schedules(): Promise<unknown> {
    const [schedules, watchers] = await Promise.all([
      this.services.schedules.list(),
      this.services.schedules.watchers.listWithState(3_000),
    ]);
    return { schedules, watchers: watchers.map((w) => ({ ...this.withoutDetail(w.row), pipeline: w.pipeline })) };
  }

  /**
   * A watcher row as the page gets it: an unanswered one says why in plain words; Temporal's own text goes to the
   * operator's log (`fineflow schedule describe --verbose` prints it too), not to every viewer of the page.
   */
  private withoutDetail(row: WatcherRow): WatcherRow {
    if (!('error' in row)) {
      this.loggedWatcherFailures.delete(row.watcherId);
      return row;
    }
    const { detail, ...shown } = row;
    // Keyed on the plain reason: Temporal's text for the same cause varies (a deadline is CANCELLED or EXCEEDED).
    if (detail !== undefined && this.loggedWatcherFailures.get(row.watcherId) !== row.error) {
      this.loggedWatcherFailures.set(row.watcherId, row.error);
      this.services.log?.(`watcher ${row.watcherId}: state unavailable: ${row.error}; Temporal said: ${detail}`);
    }
    return shown;
  }

  async scheduleAction(pipeline: string, action: string): Promise<unknown> {
    checkId(pipeline, 'pipeline');
    if (action === 'pause') await this.services.schedules.pause(pipeline, 'paused from fineflow ui');
    else if (action === 'unpause') await this.services.schedules.unpause(pipeline, 'unpaused from fineflow ui');
    else if (action === 'trigger') await this.services.schedules.trigger(pipeline);
    else
      throw new InvalidInputError(`unknown schedule action ${action}; expected pause, unpause or trigger`, { action });
    return { pipeline, action };
  }

  /** `fineflow validate` + `fineflow plan` on pasted text: every diagnostic, and the DAG when valid. */
  compile(body: Record<string, unknown>): { plan?: Plan; result: unknown } {
    const yaml = body.yaml;
    if (typeof yaml !== 'string') throw new InvalidInputError('validate needs {"yaml": "…"}', { field: 'yaml' });
    if (Buffer.byteLength(yaml) > LIMITS.yamlBytes)
      throw new InvalidInputError(`the pipeline is larger than ${LIMITS.yamlBytes / 1024} KiB`, { field: 'yaml' });
    const compiled = compilePlan(yaml, typeof body.file === 'string' ? body.file.slice(0, 200) : 'pipeline.yaml', {
      set: stringRecord(body.set, 'set'),
    });
    const plan = compiled.plan;
    return {
      ...(plan ? { plan } : {}),
      result: {
        valid: plan !== undefined,
        diagnostics: compiled.diagnostics,
        ...(plan
          ? {
              graph: planGraph(plan),
              params: Object.fromEntries(Object.entries(plan.params).map(([k, p]) => [k, p.value as JsonValue])),
            }
          : {}),
      },
    };
  }

  async submit(body: Record<string, unknown>): Promise<unknown> {
    const { plan, result } = this.compile(body);
    if (!plan) return { submitted: false, ...(result as object) };
    return { submitted: true, runId: await this.services.runs.submit(plan) };
  }
}
