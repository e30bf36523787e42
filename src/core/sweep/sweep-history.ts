/**
 * Sweep history: what a `hyperparameter-sweep` stage leaves behind for the next sweep of the same pipeline stage
 * (warm start), and how a sweep reads it back.
 *
 * Writing: when a sweep ends (completed, failed, or cancelled with partial results), the `writeSweepResults`
 * activity writes one record, `s3://<bucket>/sweeps/<pipeline>/<stageId>/<endedAt>_<runId>_<attempt>.json`
 * (src/core/storage/layout.ts), never updated afterwards. It holds the objective, the trial budget, the space and
 * every finished trial (completed, or stopped early with the value it had), within {@link SWEEP_HISTORY_LIMITS}.
 *
 * Reading: the objects are untrusted data (anyone with write access to the bucket may have put them there, and
 * an older or newer Fineflow may have written them), so {@link warmStartFromHistory} checks every record and every
 * trial against the sweep being started and drops what does not fit, saying why: a record of another objective,
 * goal, trial budget, pipeline or stage, of an unknown format, not JSON or too large; a trial whose parameters no
 * longer fit the space (./warm-start.ts `priorTrialProblem`). Nothing it reads can fail the sweep.
 *
 * Pure (no Node built-ins): the workflow imports the summary line; the activities do the I/O.
 */
import type { JsonObject } from '../spec/plan-types';
import { bestCompletedTrial, type Goal } from './searcher';
import type { ParameterValues, SearchSpace } from './space';
import type { RecordedResultsTable, SweepHistorySubject, SweepOutcome, WarmStartSummary } from './sweep-types';
import { priorTrialProblem, type PriorTrial } from './warm-start';

export type { SweepHistorySubject, WarmStartSummary } from './sweep-types';

export const SWEEP_HISTORY_FORMAT = 'fineflow-sweep-history/v1';

/** Caps of the sweep history; the README's sweep section and docs/pipeline-reference.md repeat them. */
export const SWEEP_HISTORY_LIMITS = {
  /** Finished trials one record keeps: the newest (highest ids), the most informed by the search. */
  trialsPerRecord: 1_000,
  /** Bytes of one record: the writer leaves out older trials until it fits, the reader skips a larger object. */
  recordBytes: 1024 * 1024,
  /** Records one warm start reads: `warmStart.sweeps` is 1…this. */
  sweeps: 20,
  /** Prior trials one warm start passes to the search: `warmStart.maxTrials` is 1…this. */
  trials: 500,
  /** Reasons for ignored records and trials kept in the summary (it is recorded in workflow history). */
  reasons: 10,
  /** Characters of one reason. */
  reasonLength: 200,
  /** Objects one listing of a stage's history returns at most (activities/sweep-history.ts `newestRecords`). */
  listedKeys: 1_000,
} as const;

/**
 * Records `fineflow gc` keeps per pipeline stage (`--keep-sweeps`, src/retention/gc-plan.ts): by default the most
 * one warm start may read, so a collection never takes what the next sweep would use; an operator may keep fewer
 * (a warm start then reads what is left) or more (to keep a longer record of earlier searches in the bucket).
 */
export const SWEEP_HISTORY_RETENTION = { default: SWEEP_HISTORY_LIMITS.sweeps, min: 1, max: 100_000 } as const;

/** `warmStart` of the stage when it is on: how many of the newest records to read, and how many trials to take. */
export interface WarmStartSettings {
  readonly sweeps: number;
  readonly maxTrials: number;
}

export const WARM_START_DEFAULTS: WarmStartSettings = { sweeps: 5, maxTrials: 200 };

/** One finished trial of a recorded sweep. */
export interface SweepHistoryTrial extends PriorTrial {
  /** Its id in the sweep that ran it. */
  readonly trialId: number;
}

/** `sweeps/<pipeline>/<stageId>/<endedAt>_<runId>_<attempt>.json`. */
export interface SweepHistoryRecord extends SweepHistorySubject {
  readonly format: typeof SWEEP_HISTORY_FORMAT;
  readonly pipeline: string;
  readonly stage: string;
  readonly runId: string;
  readonly attempt: number;
  /** ISO 8601 (UTC, milliseconds); also the start of the key. */
  readonly endedAt: string;
  readonly outcome: SweepOutcome;
  readonly trials: readonly SweepHistoryTrial[];
  /** Finished trials left out to stay within the caps (the oldest go first). */
  readonly omittedTrials: number;
}

export interface WarmStart {
  readonly priorTrials: readonly PriorTrial[];
  readonly summary: WarmStartSummary;
}

/** One history object as the reading activity got it, newest first: its text, or why it could not be read. */
export type SweepHistoryObject =
  { readonly name: string; readonly text: string } | { readonly name: string; readonly unreadable: string };

/**
 * The record of a sweep that ended: its finished trials from the results table. Trials still running, cancelled
 * or failed taught the search nothing it could reuse and are not kept; neither are the prior trials a warm-started
 * sweep was seeded with (they are not rows of its table), so records never repeat each other.
 */
export function sweepHistoryRecord(
  ended: Pick<SweepHistoryRecord, 'pipeline' | 'stage' | 'runId' | 'attempt' | 'endedAt' | 'outcome'>,
  subject: SweepHistorySubject,
  table: RecordedResultsTable,
): SweepHistoryRecord {
  const finished = table.rows.flatMap((row): SweepHistoryTrial[] => {
    if ((row.status !== 'completed' && row.status !== 'stopped') || !isFiniteNumber(row.value)) return [];
    const epochs = row.epochs !== undefined && row.epochs >= 1 ? row.epochs : subject.epochsPerTrial;
    return [{ trialId: row.trialId, params: row.params, status: row.status, value: row.value, epochs }];
  });
  const base = {
    format: SWEEP_HISTORY_FORMAT,
    ...ended,
    objective: { metric: subject.objective.metric, goal: subject.objective.goal },
    epochsPerTrial: subject.epochsPerTrial,
    space: subject.space,
  } as const;
  let kept = finished.slice(-SWEEP_HISTORY_LIMITS.trialsPerRecord);
  for (;;) {
    const record: SweepHistoryRecord = { ...base, trials: kept, omittedTrials: finished.length - kept.length };
    if (kept.length === 0 || utf8Length(JSON.stringify(record)) <= SWEEP_HISTORY_LIMITS.recordBytes) return record;
    kept = kept.slice(Math.ceil(kept.length / 2));
  }
}

/**
 * The prior trials of a warm start from history objects (newest first): every record checked against `subject`
 * (and the pipeline stage it was listed under), every trial against the current space; at most
 * `settings.maxTrials` trials, newest records and newest trials first.
 */
export function warmStartFromHistory(
  objects: readonly SweepHistoryObject[],
  expected: SweepHistorySubject & { readonly pipeline: string; readonly stage: string },
  settings: WarmStartSettings,
): WarmStart {
  const priorTrials: PriorTrial[] = [];
  const reasons = new Map<string, number>();
  const ignore = (reason: string, count = 1): void => {
    if (count > 0) reasons.set(reason, (reasons.get(reason) ?? 0) + count);
  };
  let sweeps = 0;
  for (const object of objects.slice(0, settings.sweeps)) {
    const read = 'text' in object ? readRecord(object.text, expected) : { problem: object.unreadable };
    if ('problem' in read) {
      ignore(`sweep ${shorten(object.name, 80)}: ${read.problem}`);
      continue;
    }
    let used = 0;
    for (const candidate of [...read.trials].reverse()) {
      const checked = priorTrialOf(candidate, expected.space);
      if (typeof checked === 'string') ignore(`trial ${checked}`);
      else if (priorTrials.length >= settings.maxTrials) ignore(`over warmStart.maxTrials (${settings.maxTrials})`);
      else {
        priorTrials.push(checked);
        used += 1;
      }
    }
    if (used > 0) sweeps += 1;
  }
  const ignored = [...reasons.values()].reduce((sum, count) => sum + count, 0);
  const ranked = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, SWEEP_HISTORY_LIMITS.reasons);
  return {
    priorTrials,
    summary: {
      sweeps,
      trials: priorTrials.length,
      ignored,
      reasons: ranked.map(([reason, count]) => shorten(`${reason} (${count})`, SWEEP_HISTORY_LIMITS.reasonLength)),
    },
  };
}

/** The stage log's and results.json's line: `warm start: 37 trials from 2 earlier sweeps, 3 ignored: …`. */
export function warmStartLine(summary: WarmStartSummary): string {
  const found =
    summary.trials === 0
      ? 'no usable trials in earlier sweeps of this stage, the search starts cold'
      : `${summary.trials} trial${summary.trials === 1 ? '' : 's'} from ${summary.sweeps} earlier ` +
        `sweep${summary.sweeps === 1 ? '' : 's'}`;
  const ignored = summary.ignored === 0 ? '' : `, ${summary.ignored} ignored: ${summary.reasons.join('; ')}`;
  const overflow = summary.overflow === undefined ? '' : ` (${summary.overflow})`;
  return `warm start: ${found}${ignored}${overflow}`;
}

/** One record as `fineflow sweep-history` lists it, or why it could not be read. */
export type SweepHistoryEntry =
  | {
      readonly name: string;
      readonly endedAt: string;
      readonly runId: string;
      readonly outcome: string;
      /** `validation.accuracy (maximize)` */
      readonly objective: string;
      readonly epochsPerTrial?: number;
      readonly trials: number;
      readonly omittedTrials: number;
      /** The best completed trial by the record's goal; none when no trial completed. */
      readonly best?: { readonly trialId?: number; readonly value: number; readonly params: string };
      /**
       * What differs from the newest readable record ({@link describeHistoryRecords}): its objective, trial budget,
       * or the parameters of its space that differ. Empty when nothing does; absent on the newest itself.
       */
      readonly differsFromNewest?: readonly string[];
    }
  | { readonly name: string; readonly problem: string };

/**
 * What one history object says, for a person looking at a stage's history: read as untrusted with the same
 * checks of format, place and size a warm start makes, but without a sweep to compare its objective, budget or
 * space with (a warm start still checks those, and each trial, when it reads the record). Strings are shortened.
 */
export function describeHistoryRecord(object: SweepHistoryObject, where: HistoryPlace): SweepHistoryEntry {
  if (!('text' in object)) return { name: object.name, problem: object.unreadable };
  const checked = checkedRecord(object.text, (parsed) => placeProblem(parsed, where) ?? trialsProblem(parsed));
  if ('problem' in checked) return { name: object.name, problem: checked.problem };
  const { record } = checked;
  const objective = isPlainObject(record.objective) ? record.objective : {};
  const trials = record.trials as readonly unknown[];
  const best = bestCompleted(trials, objective.goal === 'minimize' ? 'minimize' : 'maximize');
  return {
    name: object.name,
    endedAt: describe(record.endedAt),
    runId: describe(record.runId),
    outcome: describe(record.outcome),
    objective: `${describe(objective.metric)} (${describe(objective.goal)})`,
    ...(isFiniteNumber(record.epochsPerTrial) ? { epochsPerTrial: record.epochsPerTrial } : {}),
    trials: trials.length,
    omittedTrials: isFiniteNumber(record.omittedTrials) ? record.omittedTrials : 0,
    ...(best ? { best } : {}),
  };
}

/**
 * {@link describeHistoryRecord} for a stage's records (newest first), each readable one after the newest readable
 * one marked with what differs from it. A warm start of a sweep like the newest leaves out whole records of another
 * objective or trial budget, and the trials that fall outside its space; the mark says which rows those are.
 */
export function describeHistoryRecords(
  objects: readonly SweepHistoryObject[],
  where: HistoryPlace,
): SweepHistoryEntry[] {
  let newest: Record<string, unknown> | undefined;
  return objects.map((object) => {
    const entry = describeHistoryRecord(object, where);
    if ('problem' in entry || !('text' in object)) return entry;
    const record = JSON.parse(object.text) as Record<string, unknown>; // readable: describeHistoryRecord parsed it
    if (newest === undefined) {
      newest = record;
      return entry;
    }
    return { ...entry, differsFromNewest: differencesFrom(newest, record) };
  });
}

/** What of `record`'s objective, trial budget and space differs from `newest`'s, as short phrases. */
function differencesFrom(newest: Record<string, unknown>, record: Record<string, unknown>): string[] {
  const differences: string[] = [];
  const objectiveOf = (r: Record<string, unknown>) => (isPlainObject(r.objective) ? r.objective : {});
  const [mine, theirs] = [objectiveOf(record), objectiveOf(newest)];
  if (mine.metric !== theirs.metric || mine.goal !== theirs.goal)
    differences.push(`objective ${describe(mine.metric)} (${describe(mine.goal)})`);
  if (record.epochsPerTrial !== newest.epochsPerTrial)
    differences.push(`trial budget ${describe(record.epochsPerTrial)} epochs`);
  const space = spaceDifference(newest.space, record.space);
  if (space !== undefined) differences.push(shorten(`space: ${space}`, SWEEP_HISTORY_LIMITS.reasonLength));
  return differences;
}

/** The names of the parameters whose domain differs (or that only one space has), in order; undefined if none. */
function spaceDifference(newest: unknown, space: unknown): string | undefined {
  const parametersOf = (value: unknown): Map<string, string> | undefined => {
    const list = isPlainObject(value) ? value.parameters : undefined;
    if (!Array.isArray(list)) return undefined;
    const byName = new Map<string, string>();
    for (const parameter of list)
      if (isPlainObject(parameter) && typeof parameter.name === 'string')
        byName.set(parameter.name, safeJson(parameter.domain));
    return byName;
  };
  const [theirs, mine] = [parametersOf(newest), parametersOf(space)];
  if (mine === undefined) return 'not a list of parameters';
  if (theirs === undefined) return undefined; // the newest's own problem, not this record's
  const names = [...new Set([...mine.keys(), ...theirs.keys()])].filter((name) => mine.get(name) !== theirs.get(name));
  return names.length > 0 ? names.map((name) => describe(name)).join(', ') : undefined;
}

/** JSON of an untrusted value, or a marker when it is too deeply nested to encode. */
function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch {
    return '(unreadable)';
  }
}

function bestCompleted(
  trials: readonly unknown[],
  goal: Goal,
): { readonly trialId?: number; readonly value: number; readonly params: string } | undefined {
  const best = bestCompletedTrial(trials.filter(isPlainObject), goal);
  if (best === undefined) return undefined;
  return {
    ...(isFiniteNumber(best.trialId) ? { trialId: best.trialId } : {}),
    value: best.value,
    params: shorten(JSON.stringify(isPlainObject(best.params) ? best.params : {}), SWEEP_HISTORY_LIMITS.reasonLength),
  };
}

/** Where a record was listed: the pipeline stage it must belong to. */
interface HistoryPlace {
  readonly pipeline: string;
  readonly stage: string;
}

/** A record's trials, or why the whole record does not apply to this sweep. */
function readRecord(
  text: string,
  expected: SweepHistorySubject & HistoryPlace,
): { readonly trials: readonly unknown[] } | { readonly problem: string } {
  const checked = checkedRecord(text, (parsed) => recordProblem(parsed, expected));
  return 'problem' in checked ? checked : { trials: checked.record.trials as readonly unknown[] };
}

/** A record parsed from untrusted text and passed through `problemOf`, or the first reason it is not usable. */
function checkedRecord(
  text: string,
  problemOf: (record: Record<string, unknown>) => string | undefined,
): { readonly record: Record<string, unknown> } | { readonly problem: string } {
  if (utf8Length(text) > SWEEP_HISTORY_LIMITS.recordBytes)
    return { problem: `larger than ${SWEEP_HISTORY_LIMITS.recordBytes} bytes` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problem: 'not JSON' };
  }
  if (!isPlainObject(parsed)) return { problem: 'not a JSON object' };
  let problem: string | undefined;
  try {
    problem = problemOf(parsed);
  } catch {
    problem = 'fields too deeply nested to read'; // JSON.stringify of a hostile value overflowed the stack
  }
  return problem === undefined ? { record: parsed } : { problem };
}

/** The first reason a parsed record does not describe an earlier run of this sweep, or undefined. */
function recordProblem(
  record: Record<string, unknown>,
  expected: SweepHistorySubject & HistoryPlace,
): string | undefined {
  return placeProblem(record, expected) ?? subjectProblem(record, expected) ?? trialsProblem(record);
}

/** Not a record of this format, or one listed under another pipeline stage than it names. */
function placeProblem(record: Record<string, unknown>, where: HistoryPlace): string | undefined {
  if (record.format !== SWEEP_HISTORY_FORMAT)
    return `format ${describe(record.format)} is not one this version reads (${SWEEP_HISTORY_FORMAT})`;
  if (record.pipeline !== where.pipeline || record.stage !== where.stage)
    return `recorded for ${describe(record.pipeline)}/${describe(record.stage)}, not ${where.pipeline}/${where.stage}`;
  return undefined;
}

/** Another objective, goal or trial budget than the sweep being started. */
function subjectProblem(record: Record<string, unknown>, expected: SweepHistorySubject): string | undefined {
  const objective = isPlainObject(record.objective) ? record.objective : {};
  const { metric, goal } = expected.objective;
  if (objective.metric !== metric || objective.goal !== goal)
    return (
      `objective ${describe(objective.metric)} (${describe(objective.goal)}) ` +
      `is not this sweep's ${metric} (${goal})`
    );
  if (record.epochsPerTrial !== expected.epochsPerTrial)
    return `trial budget ${describe(record.epochsPerTrial)} epochs is not this sweep's ${expected.epochsPerTrial}`;
  return undefined;
}

function trialsProblem(record: Record<string, unknown>): string | undefined {
  if (!Array.isArray(record.trials)) return 'trials is not a list';
  if (record.trials.length > SWEEP_HISTORY_LIMITS.trialsPerRecord)
    return `${record.trials.length} trials, more than a record holds (${SWEEP_HISTORY_LIMITS.trialsPerRecord})`;
  return undefined;
}

/** A clean prior trial (only the space's parameters, own properties only), or why the trial does not fit. */
function priorTrialOf(candidate: unknown, space: SearchSpace): PriorTrial | string {
  if (!isPlainObject(candidate)) return 'is not an object';
  const { params, status, value, epochs } = candidate;
  const trial = { params, status, value, epochs } as PriorTrial;
  let problem: string | undefined;
  try {
    problem = priorTrialProblem(space, trial);
  } catch {
    // A value too deeply nested to compare, say: hostile, not ours.
    problem = 'params cannot be compared with the space';
  }
  if (problem !== undefined) return problem.replace(/ = .* is outside its domain$/s, ' is outside its domain');
  const own = params as JsonObject;
  // fromEntries defines properties: a parameter named __proto__ stays a plain key.
  const clean: ParameterValues = Object.fromEntries(space.parameters.map(({ name }) => [name, own[name] ?? null]));
  return { params: clean, status: trial.status, value: trial.value, epochs: trial.epochs };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return shorten(text, 60);
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}
