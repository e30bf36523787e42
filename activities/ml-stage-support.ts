/**
 * What the five ML stage implementations (select-model, prepare-data, fine-tune, evaluate,
 * register-model) share: their resolved inputs are checked again against the stage type's
 * declared schema (the plan was validated before `${{ }}` values existed), and the objects a
 * stage wrote are listed with their sha256 for the stage cache.
 */
import { STAGE_OWNER_FILE } from '../src/core/storage/layout';
import { InvalidInputError } from '../src/core/errors';
import { fromJson } from '../src/spec/located';
import type { JsonObject, JsonValue } from '../src/core/spec/plan-types';
import { applyDefaults, checkValue } from '../src/spec/schema-language';
import { getStageType } from '../src/spec/stage-types';
import type { StageTypeDefinition } from '../src/spec/stage-type-definition';
import type { BuiltinStageType, StageInputValues } from '../src/sdk/stage-io.generated';
import type { ObjectStore } from '../src/storage/object-store';
import { asPrefixUri, formatS3Uri } from '../src/core/storage/uri';
import type { OutputsClaim } from './attempt-fence';
import type { StageRuntime } from './stage-runner';

/** One written object, as `StageActivityResult.artifacts` lists it. */
export interface StageArtifact {
  readonly uri: string;
  readonly sha256: string;
}

/**
 * The stage's inputs with the type's defaults filled in. Throws InvalidInputError (non-retryable)
 * naming the first bad field in `details.field` and every problem in the message.
 *
 * This check is what entitles the result to its static type: `Values` is the type generated from
 * the same schema (`StageInputValues` in src/sdk/stage-io.generated.ts for built-in types, or a team's
 * own from `fineflow schema --typescript`), so stage code reads `inputs.metrics` without casting.
 */
export function checkInputsAgainst<Values extends object = JsonObject>(
  definition: StageTypeDefinition,
  inputs: JsonObject,
): Values {
  const stageType = definition.name;
  // Secret inputs arrive resolved (the stage runner swapped the reference for the value on this worker).
  const issues = checkValue(fromJson(inputs), definition.inputs, '').filter((issue) => issue.code !== 'secret-literal');
  const problems = [...issues.map((issue) => ({ path: issue.path, message: issue.message }))];
  for (const problem of definition.checkInputs?.(inputs) ?? [])
    problems.push({ path: problem.path, message: problem.message });
  const first = problems[0];
  if (first) {
    throw new InvalidInputError(`${stageType}: invalid input ${problems.map((p) => p.message).join('; ')}`, {
      code: 'invalid-stage-input',
      stageType,
      field: first.path,
      fields: problems.map((p) => p.path),
    });
  }
  return applyDefaults(inputs, definition.inputs) as Values;
}

/** {@link checkInputsAgainst} for a built-in stage type, typed by its generated `StageInputValues` entry. */
export function checkStageInputs<T extends BuiltinStageType>(stageType: T, inputs: JsonObject): StageInputValues[T] {
  const definition = getStageType(stageType);
  if (!definition) throw new InvalidInputError(`unknown stage type ${stageType}`, { stageType });
  return checkInputsAgainst<StageInputValues[T]>(definition, inputs);
}

/** `inputs[name]` when it is a plain object, else an empty object. */
export function objectInput(inputs: JsonObject, name: string): JsonObject {
  const value = inputs[name];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}

/** HTTP options for model sources from the stage's secret `auth` input (already resolved by the stage runner). */
export function modelHttpOptions(inputs: JsonObject): { headers: { authorization: string } } | undefined {
  const auth = inputs.auth;
  return typeof auth === 'string' && auth !== '' ? { headers: { authorization: auth } } : undefined;
}

/**
 * Sub-prefixes of a stage's directory that are not outputs: logs are rewritten while it runs; checkpoints and the
 * pinned base model's record (activities/base-model-pin.ts) are working state of the run's attempts.
 */
const NOT_ARTIFACTS = ['logs/', 'checkpoints/', 'base-model-pin.json', STAGE_OWNER_FILE];

/**
 * Every object under `prefixUri` (minus the excluded sub-prefixes) with the sha256 the store
 * recorded when it was written. Listings carry no user metadata, so each object is stat'ed;
 * objects without a recorded sha256 are skipped (the cache could not verify them).
 */
export async function listArtifacts(
  store: ObjectStore,
  prefixUri: string,
  exclude: readonly string[] = [],
): Promise<StageArtifact[]> {
  const prefix = asPrefixUri(prefixUri);
  const artifacts: StageArtifact[] = [];
  for (const object of await store.list(prefix)) {
    const uri = formatS3Uri(object);
    if (exclude.some((excluded) => uri.slice(prefix.length).startsWith(excluded))) continue;
    const sha256 = object.sha256 ?? (await store.stat(uri))?.sha256;
    if (sha256) artifacts.push({ uri, sha256 });
  }
  return artifacts;
}

/** The outputs a stage wrote under its prefix: everything except logs and checkpoints. */
export function listStageArtifacts(store: ObjectStore, outputPrefix: string): Promise<StageArtifact[]> {
  return listArtifacts(store, outputPrefix, NOT_ARTIFACTS);
}

/** JSON-safe copy of a value (drops undefined, turns non-finite numbers into null). */
export function toJsonValue(value: unknown): JsonValue {
  return JSON.parse(
    JSON.stringify(value, (_key, item: unknown) => (typeof item === 'number' && !Number.isFinite(item) ? null : item)),
  ) as JsonValue;
}

/** A short `k=v` rendering of metrics for progress messages, e.g. `loss=0.412 acc=0.875`. */
export function formatMetrics(metrics: Readonly<Record<string, number | undefined>>): string {
  return Object.entries(metrics)
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1]))
    .map(([name, value]) => `${name}=${Number(value.toPrecision(3))}`)
    .join(' ');
}

/**
 * The attempt's claim for the training child to fence its own writes with (activities/attempt-fence.ts), as
 * child-runner options; refused at once when a newer attempt holds the outputs already.
 */
export async function trainingFence(
  runtime: Pick<StageRuntime, 'outputsClaim'>,
  what: string,
): Promise<{ fence?: OutputsClaim }> {
  return runtime.outputsClaim ? { fence: await runtime.outputsClaim(what) } : {};
}

/** The training child's memory cap from the worker's settings, as child-runner options. */
export function memoryLimit(ml: { readonly trainMemoryMb?: number }): { memoryLimitMb?: number } {
  return ml.trainMemoryMb ? { memoryLimitMb: ml.trainMemoryMb } : {};
}
