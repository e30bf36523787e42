/**
 * `fineflow schedule apply|list|describe|pause|unpause|trigger|backfill|delete`: periodic
 * retraining (a Temporal Schedule per pipeline) and retraining on new data (a durable watcher
 * per `newData` trigger). See docs/scheduling.md.
 */
import type * as TextTableModule from '../../client/text-table';
import {
  EXIT,
  STAGE_MODULE_OPTION,
  UsageError,
  requirePipelineName,
  stageModulePaths,
  subcommandError,
  type CliCommand,
  type CliIo,
  type ParsedArgs,
} from '../command';
import type * as ConfigModule from '../../config';
import type * as ScheduleClientModule from '../../schedules/schedule-client';
import type { ApplyResult, ScheduleDetails, ScheduleListing, ScheduleService } from '../../schedules/schedule-client';
import type * as TemporalConnectionModule from '../../client/temporal-connection';
import type * as CompileModule from '../../spec/compile';
import type * as DiagnosticsModule from '../../spec/diagnostics';
import { formatHumanDuration } from '../../core/spec/durations';
import {
  lookText,
  staleLookText,
  triggerReach,
  type TriggerReach,
  type TriggeredWatcher,
} from '../../core/schedules/watch-look';
import type * as ScheduleWordsModule from '../../schedules/schedule-words';
import type { WatcherRow } from '../../schedules/data-watch-client';
import type { Plan } from '../../core/spec/plan-types';
import type * as StageTypesModule from '../../spec/stage-types';
import type * as PipelineFilesModule from '../../spec/pipeline-files';
import type * as PipelineArgumentModule from '../pipeline-argument';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../config') as typeof ConfigModule;
  const m1 = require('../../schedules/schedule-client') as typeof ScheduleClientModule;
  const m2 = require('../../client/temporal-connection') as typeof TemporalConnectionModule;
  const m3 = require('../../spec/compile') as typeof CompileModule;
  const m4 = require('../../spec/diagnostics') as typeof DiagnosticsModule;
  const m5 = require('../../spec/stage-types') as typeof StageTypesModule;
  const mt = require('../../client/text-table') as typeof TextTableModule;
  const m7 = require('../../spec/pipeline-files') as typeof PipelineFilesModule;
  const m8 = require('../pipeline-argument') as typeof PipelineArgumentModule;
  const m9 = require('../../schedules/schedule-words') as typeof ScheduleWordsModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    renderTable: mt.renderTable,
    loadConfig: m0.loadConfig,
    ScheduleService: m1.ScheduleService,
    parseOverlapName: m1.parseOverlapName,
    connectClient: m2.connectClient,
    compilePlan: m3.compilePlan,
    formatDiagnostics: m4.formatDiagnostics,
    loadStageTypeModules: m5.loadStageTypeModules,
    pipelineFileSource: m7.pipelineFileSource,
    readPipelineArgument: m8.readPipelineArgument,
    scheduleInWords: m9.scheduleInWords,
    startTimeInWords: m9.startTimeInWords,
  };
}

/** How long `trigger` waits for a watcher's status (its last look) before naming it by its id. */
const WATCHER_STATUS_TIMEOUT_MS = 5000;

const SUBCOMMANDS = ['apply', 'list', 'describe', 'pause', 'unpause', 'trigger', 'backfill', 'delete'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

function isSubcommand(name: string | undefined): name is Subcommand {
  return (SUBCOMMANDS as readonly (string | undefined)[]).includes(name);
}

function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Validate FILE like `fineflow validate`; diagnostics go to stderr (or stdout with --json). */
async function compileFile(args: ParsedArgs, io: CliIo, file: string): Promise<Plan | number> {
  const { compilePlan, formatDiagnostics, loadStageTypeModules, pipelineFileSource, readPipelineArgument } = load();
  const modules = stageModulePaths(args, io.cwd);
  if (modules.length > 0) loadStageTypeModules(modules);
  const parsed = readPipelineArgument(file, io.cwd);
  const text = parsed.text;
  const compiled = compilePlan(parsed, file, {
    set: args.multi.set ?? [],
    pipelineFiles: pipelineFileSource(file, io.cwd),
  });
  const texts = compiled.validation.texts ? { texts: compiled.validation.texts } : {};
  const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
  if (!compiled.plan || errors.length > 0) {
    if (args.flags.json) writeJson(io, { applied: false, diagnostics: compiled.diagnostics });
    else
      io.stderr.write(
        `${formatDiagnostics(compiled.diagnostics, text, texts)}\nnothing applied: ${errors.length} error(s)\n`,
      );
    return EXIT.failure;
  }
  if (compiled.diagnostics.length > 0 && !args.flags.json)
    io.stderr.write(`${formatDiagnostics(compiled.diagnostics, text, texts)}\n`);
  return compiled.plan;
}

function parseInstant(text: string | undefined, flag: string): Date {
  if (!text) throw new UsageError(`backfill needs --${flag} ISO-TIME`);
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new UsageError(`--${flag} ${text} is not a time; write ISO 8601, e.g. 2026-01-31T03:00:00Z`);
  return new Date(ms);
}

function applyText(result: ApplyResult): string {
  const lines: string[] = [];
  if (result.schedule !== 'absent') lines.push(`schedule ${result.scheduleId}: ${result.schedule}`);
  for (const w of result.watchers) lines.push(`watcher ${w.watcherId} (${w.path}): ${w.outcome}`);
  lines.push(`plan ${result.planDigest.slice(0, 12)} params ${JSON.stringify(result.params)}`);
  if (result.unchanged) lines.push('unchanged');
  return `${lines.join('\n')}\n`;
}

function short(version: string | undefined): string {
  return version ? version.slice(0, 12) : 'none';
}

/** How a run was started, in `describe` and `list`: by hand, or by the schedule (said by its times instead). */
export const TRIGGERED_BY_HAND = 'triggered by hand';

function lastRunText(
  run:
    | { readonly runId: string; readonly result?: string; readonly status?: string; readonly trigger?: string }
    | undefined,
): string {
  if (!run) return 'no run yet';
  const by = run.trigger === 'manual' ? ` (${TRIGGERED_BY_HAND})` : '';
  return `last run ${run.runId} ${run.result ?? run.status ?? ''}`.trimEnd() + by;
}

/**
 * A watcher whose state did not answer: why and what to do; with --verbose, Temporal's own words on the next line.
 */
function unavailableText(
  w: { readonly watcherId: string; readonly path?: string; readonly error: string; readonly detail?: string },
  verbose: boolean,
): string {
  const line = `watcher ${w.watcherId}${w.path ? ` (${w.path})` : ''}: state unavailable: ${w.error}`;
  return verbose && w.detail ? `${line}\n  Temporal said: ${w.detail}` : line;
}

function watcherLine(w: WatcherRow): string {
  if ('error' in w) return unavailableText(w, false);
  const stale = staleLookText(w, Date.now());
  const look = w.lastObservation
    ? `last look ${w.lastObservation.observedAt} (${lookText(w.lastObservation)}${stale ? `; ${stale}` : ''})`
    : 'no look yet';
  const paused = w.paused ? 'paused ' : 'active ';
  const lastRun = lastRunText(w.recentRuns[w.recentRuns.length - 1]);
  const queued = short(w.state.queuedVersion);
  return `${paused}watcher ${w.path}  applied ${w.appliedAt ?? 'unknown'}  ${look}  queued ${queued}  ${lastRun}`;
}

function listText(
  schedules: readonly ScheduleListing[],
  watchers: readonly { readonly pipeline: string; readonly row: WatcherRow }[],
  verbose = false,
): string {
  if (schedules.length === 0 && watchers.length === 0) return 'no schedules or data watchers\n';
  const rows = schedules.map((s) => {
    const next = s.paused
      ? `paused${s.note ? ` (${s.note})` : ''}, no next run`
      : `active  next ${s.nextRuns[0] ?? 'none'}`;
    return [s.pipeline, `${next}  applied ${s.appliedAt ?? 'unknown'}  ${lastRunText(s.lastRun)}`];
  });
  for (const w of watchers) rows.push([w.pipeline, watcherLine(w.row)]);
  const columns = [
    { title: 'pipeline', minWidth: 24 },
    { title: '', separator: ' ' },
  ];
  const table = load().renderTable(columns, rows, { header: false });
  // Temporal's words under the table: a second line inside a row would break its columns.
  const said = verbose
    ? watchers.flatMap(({ row }) =>
        'error' in row && row.detail ? [`watcher ${row.watcherId}: Temporal said: ${row.detail}`] : [],
      )
    : [];
  return `${[...table, ...said].join('\n')}\n`;
}

/** `describe`'s lines about the Temporal Schedule. */
function scheduleLines(scheduleId: string, s: NonNullable<ScheduleDetails['schedule']>): string[] {
  const lines = [`schedule ${scheduleId}: ${s.paused ? 'PAUSED' : 'active'}${s.note ? ` — ${s.note}` : ''}`];
  // As the file says it; Temporal's compiled spec (cron as structured calendars) only when the plan is unreadable.
  if (s.written)
    lines.push(
      ...load()
        .scheduleInWords(s.written)
        .map((line) => `  ${line}`),
    );
  else lines.push(`  spec ${JSON.stringify(s.spec)}`);
  lines.push(
    `  overlap ${s.overlap ?? 'default'}, catch-up window ${formatHumanDuration(s.catchupWindowMs)}, ` +
      `pause on failure ${s.pauseOnFailure ? 'yes' : 'no'}`,
  );
  lines.push(`  applied ${s.lastUpdatedAt ?? s.createdAt}`);
  if (s.planDigest)
    lines.push(`  plan ${s.planDigest.slice(0, 12)} from ${s.source ?? '?'} params ${JSON.stringify(s.params ?? {})}`);
  lines.push(
    `  runs started ${s.runsTaken}, missed (catch-up window) ${s.missedCatchupWindow}, ` +
      `skipped (overlap) ${s.skippedOverlap}`,
  );
  if (s.paused) lines.push('  next: none while paused');
  else
    for (const time of s.nextRuns.slice(0, 3))
      lines.push(`  next ${load().startTimeInWords(time, s.written?.timezone)}`);
  for (const r of s.recentRuns) {
    if (r.scheduledAt === undefined || r.delayMs === undefined)
      lines.push(`  run ${r.runId}: ${TRIGGERED_BY_HAND}, started ${r.startedAt}`);
    else {
      const delay = formatHumanDuration(r.delayMs);
      lines.push(`  run ${r.runId}: scheduled ${r.scheduledAt}, started ${r.startedAt} (${delay} after its time)`);
    }
  }
  if (s.recentRuns.length === 0) lines.push('  recent runs: none yet');
  for (const id of s.runningRuns) lines.push(`  running ${id}`);
  return lines;
}

/** `describe`'s lines about one data watcher. */
function watcherLines(w: ScheduleDetails['watchers'][number], verbose: boolean): string[] {
  if ('error' in w) return unavailableText(w, verbose).split('\n');
  const every = `every ${formatHumanDuration(w.pollIntervalMs)}, debounce ${formatHumanDuration(w.debounceMs)}`;
  const lines = [
    `watcher ${w.watcherId}: ${w.path} ${every}, overlap ${w.overlap}${w.appliedAt ? `, applied ${w.appliedAt}` : ''}`,
  ];
  const look = w.lastObservation;
  if (look) lines.push(`  last look ${look.observedAt}: ${lookText(look, { bytes: true })}`);
  const stale = staleLookText(w, Date.now());
  if (stale) lines.push(`  ${stale}`);
  const candidate = w.state.candidate;
  if (candidate) {
    const since = new Date(candidate.sinceMs).toISOString();
    lines.push(`  new version ${candidate.version.slice(0, 12)} waiting out the debounce since ${since}`);
  }
  if (w.paused) lines.push(`  PAUSED${w.paused.note ? ` — ${w.paused.note}` : ''}: looking, starting no run`);
  lines.push(
    `  runs started ${w.state.runsStarted}, returns to an earlier version ${w.state.reverts ?? 0} ` +
      `(on revert: ${w.onRevert ?? 'ignore'})`,
  );
  const revert = w.state.lastRevert;
  if (revert) {
    const outcome = revert.retrained ? 'retrained' : 'not retrained';
    const from = revert.from ? ` from ${revert.from.slice(0, 12)}` : '';
    const at = new Date(revert.atMs).toISOString();
    lines.push(
      `  data returned to version ${revert.version.slice(0, 12)}${from} (objects deleted) at ${at}: ${outcome}`,
    );
  }
  if (w.state.queuedVersion)
    lines.push(
      `  queued version ${w.state.queuedVersion.slice(0, 12)}${w.state.queuedManual ? ' (manual trigger)' : ''}`,
    );
  for (const r of w.recentRuns) {
    const kind = r.kind ? ` (${r.kind})` : '';
    lines.push(
      `  run ${r.runId}: ${r.status}, version ${r.datasetVersion.slice(0, 12)}, started ${r.startedAt}${kind}`,
    );
  }
  return lines;
}

export function describeText(details: ScheduleDetails, verbose = false): string {
  const lines = [
    `pipeline ${details.pipeline}`,
    ...(details.schedule ? scheduleLines(details.scheduleId, details.schedule) : []),
    ...details.watchers.flatMap((w) => watcherLines(w, verbose)),
  ];
  return `${lines.join('\n')}\n`;
}

/** Each triggered watcher's prefix and last look; one whose status could not be read is named by its id. */
async function triggeredWatchers(service: ScheduleService, watcherIds: readonly string[]): Promise<TriggeredWatcher[]> {
  return Promise.all(
    watcherIds.map((watcherId) =>
      service.watchers.status(watcherId, WATCHER_STATUS_TIMEOUT_MS).then(
        (status): TriggeredWatcher => ({
          path: status.path,
          ...(status.lastObservation ? { lastObservation: status.lastObservation } : {}),
        }),
        (): TriggeredWatcher => ({ path: watcherId }),
      ),
    ),
  );
}

/** What `schedule trigger` prints after asking a pipeline's data watchers: what each will do, in the UI's words. */
export function watcherTriggerText(name: string, watcherIds: readonly string[], reach: TriggerReach): string {
  return [
    `asked ${watcherIds.length} data watcher(s) of ${name}: ${watcherIds.join(', ')}`,
    ...reach.lines,
    `(see \`fineflow schedule describe ${name}\`)`,
    '',
  ].join('\n');
}

/** `trigger NAME`: a run of the schedule, or the watchers asked, with what each does (the UI's words). */
async function triggerSubcommand(args: ParsedArgs, io: CliIo, service: ScheduleService, name: string): Promise<number> {
  const { parseOverlapName } = load();
  const json = Boolean(args.flags.json);
  const overlap = args.values.overlap ? parseOverlapName(args.values.overlap) : undefined;
  const started = await service.trigger(name, overlap);
  if (started.runIds.length > 0) {
    if (json) writeJson(io, { pipeline: name, triggered: true, ...started });
    else io.stdout.write(`started manual run ${started.runIds.join(', ')} of ${name}\n`);
    return EXIT.ok;
  }
  // Asked the watchers: what each does with it is what its last look found (the UI's confirmation says the same).
  const reach = triggerReach(name, false, await triggeredWatchers(service, started.watcherIds));
  if (json)
    writeJson(io, {
      pipeline: name,
      triggered: true,
      ...started,
      startsNothing: reach.startsNothing,
      emptyPrefixes: reach.emptyPaths,
    });
  else io.stdout.write(watcherTriggerText(name, started.watcherIds, reach));
  return reach.startsNothing ? EXIT.nothingStarted : EXIT.ok;
}

async function runSubcommand(
  sub: Subcommand,
  args: ParsedArgs,
  io: CliIo,
  service: ScheduleService,
  plan: Plan | undefined,
): Promise<number> {
  const { parseOverlapName } = load();
  const json = Boolean(args.flags.json);
  const name = args.positionals[1] as string;
  switch (sub) {
    case 'apply': {
      const result = await service.apply(plan as Plan);
      if (json) writeJson(io, result);
      else io.stdout.write(applyText(result));
      return EXIT.ok;
    }
    case 'list': {
      const [schedules, watchers] = await Promise.all([service.list(), service.watchers.listWithState(3000)]);
      if (json) writeJson(io, { schedules, watchers: watchers.map((w) => ({ pipeline: w.pipeline, ...w.row })) });
      else io.stdout.write(listText(schedules, watchers, Boolean(args.flags.verbose)));
      return EXIT.ok;
    }
    case 'describe': {
      const details = await service.describe(name);
      if (json) writeJson(io, details);
      else io.stdout.write(describeText(details, Boolean(args.flags.verbose)));
      return EXIT.ok;
    }
    case 'pause':
    case 'unpause': {
      const note = args.values.note;
      await (sub === 'pause' ? service.pause(name, note) : service.unpause(name, note));
      if (json) writeJson(io, { pipeline: name, paused: sub === 'pause', ...(note ? { note } : {}) });
      else io.stdout.write(`${sub}d ${name}\n`);
      return EXIT.ok;
    }
    case 'trigger':
      return triggerSubcommand(args, io, service, name);
    case 'backfill': {
      const from = parseInstant(args.values.from, 'from');
      const to = parseInstant(args.values.to, 'to');
      const overlap = args.values.overlap ? parseOverlapName(args.values.overlap) : undefined;
      await service.backfill(name, from, to, overlap);
      if (json)
        writeJson(io, {
          pipeline: name,
          from: from.toISOString(),
          to: to.toISOString(),
          overlap: overlap ?? 'allow-all',
        });
      else io.stdout.write(`backfilling ${name} from ${from.toISOString()} to ${to.toISOString()}\n`);
      return EXIT.ok;
    }
    case 'delete': {
      const result = await service.delete(name);
      if (json) writeJson(io, { pipeline: name, ...result });
      else
        io.stdout.write(
          `${result.schedule === 'deleted' ? `deleted schedule of ${name}` : `no schedule for ${name}`}; ` +
            `stopped ${result.watchers.length} watcher(s)\n`,
        );
      return EXIT.ok;
    }
  }
}

export const command: CliCommand = {
  name: 'schedule',
  summary: 'retrain on a schedule or when new data lands (Temporal Schedules + data watchers)',
  usage:
    'schedule apply FILE [--set NAME=VALUE]… | list | describe NAME | pause NAME [--note T] | unpause NAME | trigger ' +
    'NAME | backfill NAME --from ISO --to ISO [--overlap P] | delete NAME',
  description: [
    'apply FILE     validate FILE, then create or update in place the schedule of its `schedule:` block',
    '               (id fineflow-<pipeline>) and the data watchers of its `newData` triggers. Applying the',
    '               same file again changes nothing ("unchanged"); a changed plan or --set value is what',
    '               the next run executes. A paused schedule stays paused. What the file no longer has is removed.',
    'list           schedules (applied, next run, last run and its result) and data watchers (applied, last look,',
    '               queued version, last run and its result)',
    'describe NAME  when it starts runs, as the file says it (next starts in UTC and its timezone), policies, plan',
    '               digest and params, recent runs (scheduled vs. actual start, or triggered by hand), watchers',
    "               (--json: also Temporal's compiled spec)",
    'pause NAME     stop starting runs, schedule and data watchers alike (--note says why); unpause NAME resumes',
    '               without catching up the pause (a watcher then runs the newest version if it changed)',
    'trigger NAME   start one run now, named and labelled manual (<schedule id>-manual-<time>); refused while a',
    '               scheduled run is going unless --overlap allow-all. Without a schedule, each data watcher runs',
    '               the version its prefix holds now (after the going run, if any); one whose last look found',
    '               nothing starts no run until data arrives, and says so (--json: startsNothing, emptyPrefixes);',
    '               when no watcher starts one, the exit code is 4',
    'backfill NAME  start the runs the schedule would have started between --from and --to (overlap allow-all',
    '               unless --overlap says otherwise)',
    'delete NAME    delete the schedule and stop the watchers; runs already started go on',
    '',
    'NAME is the pipeline name (metadata.name). Connection settings come from TEMPORAL_ADDRESS etc.',
    'exit codes: 0 ok, 1 invalid pipeline or unknown schedule, 2 usage error, 3 Temporal unreachable, 4 trigger',
    '            started no run (each data watcher last saw an empty prefix; the output and --json say which)',
  ].join('\n'),
  subcommands: ['apply', 'list', 'describe', 'pause', 'unpause', 'trigger', 'backfill', 'delete'],
  examples: [
    {
      command: 'fineflow schedule apply pipelines/scheduled-retrain.yaml',
      explanation: 'create or update the schedule and data watchers of a file',
    },
    { command: 'fineflow schedule list', explanation: 'schedules and watchers: next run, last run and its result' },
    {
      command: "fineflow schedule pause defect-detector --note 'label fix in progress'",
      explanation: 'stop starting runs, saying why',
    },
    {
      command: 'fineflow schedule trigger defect-detector || [ $? -eq 4 ]',
      explanation: 'start a run now; exit code 4 says no run started (nothing under the watched prefix yet)',
    },
    {
      command: 'fineflow schedule backfill defect-detector --from 2026-12-01T00:00:00Z --to 2026-12-04T00:00:00Z',
      explanation: 'start the runs a window would have started',
    },
  ],
  json: true,
  options: [
    { name: 'set', kind: 'multi', valueName: 'NAME=VALUE', description: 'apply: override a param (type-checked)' },
    { ...STAGE_MODULE_OPTION, description: `apply: ${STAGE_MODULE_OPTION.description}` },
    { name: 'note', kind: 'string', valueName: 'TEXT', description: 'pause/unpause: why' },
    {
      name: 'verbose',
      kind: 'boolean',
      description: 'list/describe: under a watcher whose state did not answer, what Temporal said (--json has it)',
    },
    { name: 'from', kind: 'string', valueName: 'ISO', description: 'backfill: start of the window' },
    { name: 'to', kind: 'string', valueName: 'ISO', description: 'backfill: end of the window' },
    {
      name: 'overlap',
      kind: 'string',
      valueName: 'POLICY',
      description: 'backfill/trigger: skip, buffer-one, buffer-all, cancel-other, terminate-other, allow-all',
    },
  ],
  async run(args, io) {
    const { loadConfig, ScheduleService, connectClient } = load();
    const sub = args.positionals[0];
    if (!isSubcommand(sub)) throw subcommandError(sub, SUBCOMMANDS);
    const expected = sub === 'list' ? 1 : 2;
    if (args.positionals.length !== expected)
      throw new UsageError(
        sub === 'list' ? 'list takes no arguments' : `${sub} takes exactly one ${sub === 'apply' ? 'FILE' : 'NAME'}`,
      );
    if (sub !== 'apply' && sub !== 'list') {
      const name = args.positionals[1] as string;
      requirePipelineName(name, {
        label: 'NAME',
        what: 'schedule',
        example: `fineflow schedule ${sub} defect-detector`,
      });
    }
    let plan: Plan | undefined;
    if (sub === 'apply') {
      const compiled = await compileFile(args, io, args.positionals[1] as string);
      if (typeof compiled === 'number') return compiled;
      plan = compiled;
    }
    let close: (() => Promise<void>) | undefined;
    try {
      const config = loadConfig(io.env);
      const client = await connectClient(config.temporal);
      close = () => client.connection.close();
      return await runSubcommand(
        sub,
        args,
        io,
        new ScheduleService(client, { bucket: config.s3.bucket, ...(config.ui.url ? { uiUrl: config.ui.url } : {}) }),
        plan,
      );
    } finally {
      await close?.().catch(() => undefined);
    }
  },
};
