/**
 * Fan-out and fan-in of a stage with `forEach:` or `matrix:`: which items it runs over, the
 * instance stages the workflow runs for them, when to start more instances, when the stage has
 * settled, and the list-valued outputs downstream stages read. Bundled into the `pipelineRun`
 * workflow, so: pure, deterministic, no Node built-ins.
 *
 * Instances are ordinary stages to the workflow (cache, retries, outage budget, logs, progress),
 * with the id `<stage>.<index>` (stage ids cannot contain a dot, so no clash) and `${{ item }}`
 * in their expression context. The parent stage stays `running` until its instances settled.
 */
import { ERROR_TYPES, InvalidInputError } from '../errors';
import { resolveStageInputs, type ExpressionContext } from '../spec/expressions';
import { MAX_FAN_OUT_ITEMS } from '../spec/pipeline-schema';
import type { JsonObject, JsonValue, PlannedFanOut, PlannedStage } from '../spec/plan-types';
import type { StageState, StageStatus } from './run-types';

export function instanceId(stageId: string, index: number): string {
  return `${stageId}.${index}`;
}

function listAt(value: JsonValue, what: string, stageId: string): readonly JsonValue[] {
  if (!Array.isArray(value))
    throw new InvalidInputError(
      `stage ${stageId}: ${what} must yield a list, got ` +
        `${value === null ? 'null' : typeof value === 'object' ? 'an object' : `a ${typeof value}`}`,
      { stageId, field: what },
    );
  return value as readonly JsonValue[];
}

function bounded(items: readonly JsonValue[], what: string, stageId: string): readonly JsonValue[] {
  if (items.length > MAX_FAN_OUT_ITEMS)
    throw new InvalidInputError(
      `stage ${stageId}: ${what} yields ${items.length} items; a stage fans out to at most ${MAX_FAN_OUT_ITEMS}`,
      { stageId, field: what },
    );
  return items;
}

/**
 * The items of a fan-out, resolved against params and upstream outputs: the `forEach` list, or
 * the cartesian product of the `matrix` lists as objects (first key outermost, so item order is
 * the order the lists are written in). Throws InvalidInputError for a non-list or too many items.
 */
export function resolveFanOutItems(stage: PlannedStage, fanOut: PlannedFanOut, ctx: ExpressionContext): JsonValue[] {
  if (fanOut.forEach !== undefined) {
    const resolved = resolveStageInputs({ forEach: fanOut.forEach }, ctx).forEach as JsonValue;
    return [...bounded(listAt(resolved, 'forEach', stage.id), 'forEach', stage.id)];
  }
  const matrix = resolveStageInputs(fanOut.matrix ?? {}, ctx);
  let product: JsonObject[] = [{}];
  for (const [key, value] of Object.entries(matrix)) {
    const list = listAt(value, `matrix.${key}`, stage.id);
    if (product.length * list.length > MAX_FAN_OUT_ITEMS)
      bounded(new Array<JsonValue>(product.length * list.length).fill(null), 'matrix', stage.id);
    product = product.flatMap((partial) => list.map((v) => ({ ...partial, [key]: v })));
  }
  return Object.keys(matrix).length === 0 ? [] : product;
}

/** The stage one item runs as: same settings and inputs, its own id, `${{ item }}` set. */
export function instanceStage(stage: PlannedStage, index: number, item: JsonValue): PlannedStage {
  const { fanOut: _fanOut, when: _when, ...rest } = stage;
  // A failed instance settles as failed; whether the stage pauses or fails is decided for the whole fan-out.
  return { ...rest, id: instanceId(stage.id, index), onFailure: 'fail', instance: { of: stage.id, index, item } };
}

const FAILED: ReadonlySet<StageStatus> = new Set<StageStatus>(['failed', 'cancelled', 'waiting', 'skipped']);

export type FanOutOutcome = { readonly ok: true } | { readonly ok: false; readonly message: string };

export interface FanOutStep {
  /** Indexes of pending instances to start now (within `parallelism`). */
  readonly start: readonly number[];
  /** The success ratio can no longer be reached and `failFast` is set: cancel the running instances. */
  readonly cancelRunning: boolean;
  /** Set once every instance settled (or none can change the outcome any more). */
  readonly outcome?: FanOutOutcome;
}

/** Instances that must succeed for the stage to succeed. */
export function requiredSuccesses(fanOut: PlannedFanOut, total: number): number {
  return Math.min(total, Math.ceil(fanOut.minSuccessRatio * total - 1e-9));
}

/** What to do next, given the statuses of the instances in item order. */
export function nextFanOutStep(fanOut: PlannedFanOut, statuses: readonly StageStatus[]): FanOutStep {
  const total = statuses.length;
  const failed = statuses.filter((s) => FAILED.has(s)).length;
  const running = statuses.filter((s) => s === 'running').length;
  const pending = statuses.flatMap((s, i) => (s === 'pending' ? [i] : []));
  const needed = requiredSuccesses(fanOut, total);
  if (total - failed < needed) {
    const failedIndexes = statuses.flatMap((s, i) => (FAILED.has(s) ? [i] : []));
    const message =
      `${failed} of ${total} instance(s) failed (items ${failedIndexes.join(', ')}); minSuccessRatio ` +
      `${fanOut.minSuccessRatio} needs ${needed} to succeed`;
    return {
      start: [],
      cancelRunning: fanOut.failFast && running > 0,
      ...(running === 0 ? { outcome: { ok: false, message } } : {}),
    };
  }
  if (pending.length === 0 && running === 0) return { start: [], cancelRunning: false, outcome: { ok: true } };
  const slots = Math.max(0, (fanOut.parallelism ?? total) - running);
  return { start: pending.slice(0, slots), cancelRunning: false };
}

/**
 * The fan-in: each output of the stage is the list of that output over the instances, in item
 * order, with `null` where an instance did not succeed (allowed by `minSuccessRatio`) or did not
 * produce it. `items` is added when no instance output is called that.
 */
export function gatherInstanceOutputs(
  items: readonly JsonValue[],
  outputs: readonly (JsonObject | undefined)[],
): JsonObject {
  const names = [...new Set(outputs.flatMap((o) => (o ? Object.keys(o) : [])))].sort();
  const gathered: Record<string, JsonValue> = {};
  for (const name of names)
    gathered[name] = outputs.map((o) =>
      o && Object.prototype.hasOwnProperty.call(o, name) ? (o[name] as JsonValue) : null,
    );
  if (!('items' in gathered)) gathered.items = [...items];
  return gathered;
}

/**
 * The error a fan-out fails with: the type of its first failed instance (retryable or not) and which one it was, or
 * a cancellation when no instance recorded an error.
 */
export function fanOutFailure(
  message: string,
  instances: readonly Pick<StageState, 'id' | 'error'>[],
): { readonly type: string; readonly message: string } {
  const first = instances.find((state) => state.error !== undefined);
  return first?.error
    ? { type: first.error.type, message: `${message}; ${first.id}: ${first.error.message}` }
    : { type: ERROR_TYPES.cancelled, message };
}
