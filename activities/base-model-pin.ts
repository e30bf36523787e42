/**
 * The base model a fine-tune stage pinned, recorded under the stage's output prefix
 * (`<outputPrefix>base-model-pin.json`) so that every attempt of one run's stage trains on the same version of a
 * `registry://name@alias` base.
 *
 * The heartbeat details carry the pin only across Temporal's own retries. A dependency-unavailable failure is retried
 * by the run workflow as a new activity, and `fineflow retry` starts a new activity too: both start without the
 * previous heartbeat. Had they pinned again after the alias moved, they would train on another model than the one
 * the stage's checkpoints came from, from epoch 1. A new run (`fineflow rerun`, a new submit) has a new prefix, so it
 * pins afresh.
 *
 * The record sits in the store, which pipeline code can reach: it is untrusted data, bounded and checked before use.
 */
import { InvalidInputError } from '../src/core/errors';
import { joinS3Uri } from '../src/core/storage/uri';
import { parseRegistryUri } from '../src/ml/models/registry';
import type { ObjectStore } from '../src/storage/object-store';

export const BASE_MODEL_PIN_FILE = 'base-model-pin.json';
const FORMAT = 'fineflow-base-model-pin/v1';
/** A record is two short URIs; anything much larger is not one. */
export const MAX_BASE_MODEL_PIN_BYTES = 4096;

/** What the first attempt of a stage pinned. */
export interface BaseModelPinRecord {
  readonly format: typeof FORMAT;
  /** The base as the stage's `model:` gave it (`registry://name@alias`). */
  readonly model: string;
  /** The version it resolved to (`registry://name@3`). */
  readonly pinned: string;
}

/** `<outputPrefix>base-model-pin.json`. */
export function basePinUri(outputPrefix: string): string {
  return joinS3Uri(outputPrefix, BASE_MODEL_PIN_FILE);
}

/** Whether a base model is pinned at all: only a registry base is resolved (a version or an alias). */
export function needsPin(model: string): boolean {
  return model.startsWith('registry://');
}

function invalid(uri: string, field: string, problem: string): InvalidInputError {
  return new InvalidInputError(
    `${uri}: field ${field}: ${problem}. This file records the base model version the stage's first attempt pinned; ` +
      'delete it to pin the current version (its checkpoints then no longer resume), or start a new run with ' +
      '`fineflow rerun RUN --from STAGE`',
    { uri, field },
  );
}

/**
 * The pin a record holds for `model`, or undefined when the record was written for another `model:` (a retry that
 * changed the base pins afresh). Throws InvalidInputError naming the file and field when the record is not one.
 */
export function pinFromRecord(text: string, model: string, uri: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(uri, '(document)', `not JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid(uri, '(document)', 'not a JSON object');
  const record = value as Partial<Record<keyof BaseModelPinRecord, unknown>>;
  if (record.format !== FORMAT)
    throw invalid(uri, 'format', `expected "${FORMAT}", found ${JSON.stringify(record.format)}`);
  if (typeof record.model !== 'string') throw invalid(uri, 'model', 'expected a string');
  if (record.model !== model) return undefined;
  const { pinned } = record;
  const wanted = parseRegistryUri(model).name;
  const match = typeof pinned === 'string' ? /^registry:\/\/([^@/]+)@([1-9]\d{0,8})$/.exec(pinned) : null;
  if (!match || match[1] !== wanted) {
    const found = JSON.stringify(pinned)?.slice(0, 120);
    throw invalid(uri, 'pinned', `expected registry://${wanted}@VERSION (a version of ${model}), found ${found}`);
  }
  return pinned as string;
}

/** The version an earlier attempt of this run's stage pinned for `model`, if it recorded one. */
export async function readBasePin(
  store: ObjectStore,
  outputPrefix: string,
  model: string,
): Promise<string | undefined> {
  if (!needsPin(model)) return undefined;
  const uri = basePinUri(outputPrefix);
  const info = await store.stat(uri);
  if (!info) return undefined;
  if (info.size > MAX_BASE_MODEL_PIN_BYTES)
    throw invalid(uri, '(document)', `${info.size} bytes, more than a record's ${MAX_BASE_MODEL_PIN_BYTES}`);
  const bytes = await store.getBytes(uri, { maxBytes: MAX_BASE_MODEL_PIN_BYTES });
  return pinFromRecord(bytes.toString('utf8'), model, uri);
}

/** Record the pin, before anything is trained on it, so every later attempt of the run's stage finds it. */
export async function writeBasePin(
  store: ObjectStore,
  outputPrefix: string,
  model: string,
  pinned: string,
): Promise<void> {
  const record: BaseModelPinRecord = { format: FORMAT, model, pinned };
  await store.putJson(basePinUri(outputPrefix), record);
}
