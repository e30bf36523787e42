/**
 * Where Fineflow keeps things in the object store (DESIGN.md, "Storage layout"):
 *
 * ```
 * s3://<bucket>/runs/<runId>/<stageId>/…               stage outputs
 * s3://<bucket>/runs/<runId>/<stageId>/logs/attempt-<n>/<first line>.log   log chunks, appended
 * s3://<bucket>/runs/<runId>/<stageId>/checkpoints/…
 * s3://<bucket>/cache/<sha256 of stage key>/…          reusable stage outputs
 * s3://<bucket>/models/<name>/<version>/…              registry: model.json, weights, card.json
 * s3://<bucket>/models/<name>/_aliases/<alias>.json    alias → version pointer
 * s3://<bucket>/sweeps/<pipeline>/<stageId>/<endedAt>_<runId>_<attempt>.json   sweep history (warm start)
 * ```
 *
 * Every function validates its path segments, so an id can never smuggle a `/` or `..` into a
 * key. Pure (no Node built-ins): workflow code may import it.
 */
import { InvalidInputError } from '../errors';
import { formatS3Uri, parseS3Uri } from './uri';

/**
 * A path segment: letters, digits, `.`, `_`, `-`, `@`, `=`, `:` (Temporal names scheduled runs
 * `…-2026-11-27T02:00:00Z`); not `.`/`..`; at most 200 characters.
 */
const SEGMENT = /^[A-Za-z0-9_@=][A-Za-z0-9._@=:-]{0,199}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

function segment(value: string, what: string): string {
  if (!SEGMENT.test(value) || value === '..') {
    throw new InvalidInputError(
      `${what} '${value}' cannot be used in a storage key: use letters, digits, '.', '_', '-', '@', '=' (no '/')`,
      {
        code: 'invalid-key-segment',
        what,
        value,
      },
    );
  }
  return value;
}

function uri(bucket: string, key: string): string {
  // Parsing validates the bucket name.
  return formatS3Uri(parseS3Uri(formatS3Uri({ bucket, key })));
}

/** `s3://bucket/runs/<runId>/` or, with a stage, `s3://bucket/runs/<runId>/<stageId>/`. */
export function runPrefix(bucket: string, runId: string, stageId?: string): string {
  const stagePart = stageId === undefined ? '' : `${segment(stageId, 'stage id')}/`;
  return uri(bucket, `runs/${segment(runId, 'run id')}/${stagePart}`);
}

/**
 * The run and stage whose prefix holds `uri` (`s3://<bucket>/runs/<runId>/<stageId>/…`), or undefined for
 * any other object (another bucket, a run's `@state/`, a malformed id). A cached or reused stage's outputs
 * name objects of the run that produced them: this finds that run.
 */
export function runStageOfUri(bucket: string, value: string): { runId: string; stageId: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/runs\/([^/]+)\/([^/]+)\//.exec(value);
  const [, inBucket, runId, stageId] = match ?? [];
  if (inBucket !== bucket || runId === undefined || stageId === undefined || stageId.startsWith('@')) return undefined;
  return SEGMENT.test(runId) && SEGMENT.test(stageId) ? { runId, stageId } : undefined;
}

function checkAttempt(attempt: number): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new InvalidInputError(`attempt must be a positive integer, got ${attempt}`, {
      code: 'invalid-key-segment',
      what: 'attempt',
    });
  }
  return attempt;
}

/**
 * The attempt fence's claim on a stage's outputs, directly under the stage's prefix (activities/attempt-fence.ts):
 * bookkeeping of which attempt may write them, never an output or an artifact.
 */
export const STAGE_OWNER_FILE = '@attempt.json';

/**
 * The single-object log of one attempt, as releases before chunked logs wrote it. Still read
 * (as the attempt's first chunk, line 0), never written.
 */
export function stageLogUri(bucket: string, runId: string, stageId: string, attempt: number): string {
  return `${runPrefix(bucket, runId, stageId)}logs/attempt-${checkAttempt(attempt)}.log`;
}

/** Digits of a chunk's first-line number in its key, so keys sort in line order. */
const CHUNK_DIGITS = 10;

/**
 * One chunk of an attempt's log: the lines from `firstLine` (0-based) on. S3 has no append, so a
 * log grows by new chunk objects; a chunk rewritten under the same key only ever gains lines.
 */
export function stageLogChunkUri(
  bucket: string,
  runId: string,
  stageId: string,
  attempt: number,
  firstLine: number,
): string {
  if (!Number.isSafeInteger(firstLine) || firstLine < 0 || firstLine >= 10 ** CHUNK_DIGITS) {
    throw new InvalidInputError(`a log chunk's first line must be an integer in [0, 1e10), got ${firstLine}`, {
      code: 'invalid-key-segment',
      what: 'log chunk',
    });
  }
  const attemptPart = `attempt-${checkAttempt(attempt)}`;
  return `${runPrefix(bucket, runId, stageId)}logs/${attemptPart}/${String(firstLine).padStart(CHUNK_DIGITS, '0')}.log`;
}

/** Prefix holding every log of a stage; list it to show `fineflow logs RUN --stage S`. */
export function stageLogPrefix(bucket: string, runId: string, stageId: string): string {
  return `${runPrefix(bucket, runId, stageId)}logs/`;
}

export function checkpointPrefix(bucket: string, runId: string, stageId: string): string {
  return `${runPrefix(bucket, runId, stageId)}checkpoints/`;
}

/** `s3://bucket/cache/<cacheKey>/` where cacheKey is the sha256 hex of the stage key. */
export function cachePrefix(bucket: string, cacheKey: string): string {
  if (!SHA256_HEX.test(cacheKey)) {
    throw new InvalidInputError(`cache key '${cacheKey}' must be a lowercase sha256 hex digest (64 characters)`, {
      code: 'invalid-key-segment',
      what: 'cache key',
    });
  }
  return uri(bucket, `cache/${cacheKey}/`);
}

/** `s3://bucket/models/<name>/` (every version and alias of a model). */
export function modelRootPrefix(bucket: string, name: string): string {
  return uri(bucket, `models/${segment(name, 'model name')}/`);
}

/** `s3://bucket/models/<name>/<version>/`. Versions may not start with `_` (reserved for `_aliases`). */
export function modelPrefix(bucket: string, name: string, version: string): string {
  if (version.startsWith('_')) {
    throw new InvalidInputError(`model version '${version}' may not start with '_'`, {
      code: 'invalid-key-segment',
      what: 'model version',
    });
  }
  return `${modelRootPrefix(bucket, name)}${segment(version, 'model version')}/`;
}

export function modelCardUri(bucket: string, name: string, version: string): string {
  return `${modelPrefix(bucket, name, version)}card.json`;
}

/** The pointer object of an alias such as `champion` (its JSON names the version). */
export function modelAliasUri(bucket: string, name: string, alias: string): string {
  return `${modelRootPrefix(bucket, name)}_aliases/${segment(alias, 'model alias')}.json`;
}

/**
 * State a run hands to its next execution when it continues as new (src/core/run/stored-run-state.ts):
 * `s3://bucket/runs/<runId>/@state/<sha256>.json`, content-addressed. `@` starts no stage id, so it
 * never meets a stage's prefix; gc removes it with the run.
 */
export function runStateUri(bucket: string, runId: string, sha256: string): string {
  if (!SHA256_HEX.test(sha256)) {
    throw new InvalidInputError(`run state digest '${sha256}' must be a lowercase sha256 hex digest (64 characters)`, {
      code: 'invalid-key-segment',
      what: 'run state digest',
    });
  }
  return `${runPrefix(bucket, runId)}@state/${sha256}.json`;
}

/** One part of a run state being written, before it is sealed under its digest (S3 has no append). */
export function runStatePartUri(bucket: string, runId: string, continuation: number, part: number): string {
  for (const [what, value] of [
    ['continuation', continuation],
    ['part', part],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || value >= 1e6)
      throw new InvalidInputError(`run state ${what} must be an integer in [0, 1e6), got ${value}`, {
        code: 'invalid-key-segment',
        what: `run state ${what}`,
      });
  }
  return `${runPrefix(bucket, runId)}@state/parts-${continuation}/${String(part).padStart(6, '0')}.part`;
}

/** `s3://bucket/sweeps/<pipeline>/<stageId>/`: every history record of one sweep stage of a pipeline. */
export function sweepHistoryPrefix(bucket: string, pipeline: string, stageId: string): string {
  return uri(bucket, `sweeps/${segment(pipeline, 'pipeline name')}/${segment(stageId, 'stage id')}/`);
}

/** `2026-12-05T18:30:00.000Z`: fixed width, so keys that start with it sort by time. */
const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * One sweep's history record: `…/sweeps/<pipeline>/<stageId>/<endedAt>_<runId>_<attempt>.json`. The key starts
 * with the end time (ISO 8601, milliseconds, UTC), so a listing in key order is oldest first; the run and the
 * stage attempt make it unique, so a record is written once and never updated (a retried write rewrites the same
 * key with the same content).
 */
export function sweepHistoryUri(
  bucket: string,
  pipeline: string,
  stageId: string,
  record: { readonly endedAt: string; readonly runId: string; readonly attempt: number },
): string {
  if (!ISO_INSTANT.test(record.endedAt))
    throw new InvalidInputError(`a sweep history time must be ISO 8601 UTC with milliseconds, got ${record.endedAt}`, {
      code: 'invalid-key-segment',
      what: 'sweep end time',
    });
  const name = `${record.endedAt}_${segment(record.runId, 'run id')}_${checkAttempt(record.attempt)}.json`;
  return `${sweepHistoryPrefix(bucket, pipeline, stageId)}${name}`;
}

/** Where a sweep history record's key says it belongs, and when it ended. */
export interface SweepHistoryKey {
  readonly pipeline: string;
  readonly stage: string;
  readonly endedAt: string;
  readonly runId: string;
  readonly attempt: number;
}

const SWEEP_HISTORY_KEY =
  /^sweeps\/([^/]+)\/([^/]+)\/(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)_(.+)_([1-9]\d{0,9})\.json$/;

/**
 * The parts of a record's object key (`sweeps/<pipeline>/<stageId>/<endedAt>_<runId>_<attempt>.json`, as
 * {@link sweepHistoryUri} writes it), or undefined for any other key: the one reading of the format, shared by
 * warm start, `fineflow gc` and `fineflow sweep-history`, so none of them touches an object that is not a record.
 */
export function parseSweepHistoryKey(key: string): SweepHistoryKey | undefined {
  const match = SWEEP_HISTORY_KEY.exec(key);
  if (!match) return undefined;
  const [, pipeline = '', stage = '', endedAt = '', runId = '', attempt = ''] = match;
  if (![pipeline, stage, runId].every((part) => SEGMENT.test(part) && part !== '..')) return undefined;
  return { pipeline, stage, endedAt, runId, attempt: Number(attempt) };
}
