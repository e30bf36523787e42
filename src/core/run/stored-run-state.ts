/**
 * A run's plan and carried state, kept in the object store across continue-as-new instead of in the
 * next execution's input. Temporal refuses any single payload over 2 MB (and warns past 512 KiB); a
 * 5,000-instance fan-out carried about 1.9 MiB. So the workflow serialises `{plan, carried}` once,
 * writes it in parts of at most {@link RUN_STATE_PART_CHARS} characters (each part is one activity's
 * input), an activity seals them into one content-addressed object, and only a
 * {@link StoredRunStateRef} crosses continue-as-new. The next execution reads the parts back through
 * an activity that checks the object's sha256 each time. Pure: importable from workflow code.
 */
import type { Plan } from '../spec/plan-types';
import type { CarriedRunState, PipelineRunInput, StoredRunStateRef } from './run-types';

export type { StoredRunStateRef } from './run-types';

/**
 * Characters per part. A part is a JSON string inside an activity payload: escaping at most
 * doubles a character and UTF-8 takes at most 3 bytes, so one part's payload stays under 384 KiB,
 * below Temporal's 512 KiB blob-size warning.
 */
export const RUN_STATE_PART_CHARS = 128 * 1024;

/** The largest run state written or read (bytes of its JSON); beyond it a run cannot continue as new. */
export const MAX_RUN_STATE_BYTES = 64 * 1024 * 1024;

/** What the store keeps for one continuation. */
export interface StoredRunState {
  readonly plan: Plan;
  readonly carried: CarriedRunState;
}

/** Input of an execution that continued as new with its state in the store: no plan, no carried state. */
export interface ContinuedRunInput extends Omit<PipelineRunInput, 'plan' | 'carried' | 'reuse'> {
  readonly stored: StoredRunStateRef;
}

/** What `pipelineRun` is started with: a plan from the client, or a reference from its previous execution. */
export type PipelineRunArgs = PipelineRunInput | ContinuedRunInput;

export function isContinuedRunInput(input: PipelineRunArgs): input is ContinuedRunInput {
  return 'stored' in input && input.stored !== undefined;
}

/** The text in parts of at most `partChars` characters (at least one part, even for empty text). */
export function splitRunState(text: string, partChars: number = RUN_STATE_PART_CHARS): string[] {
  if (!Number.isSafeInteger(partChars) || partChars < 1) throw new Error(`part size must be ≥ 1, got ${partChars}`);
  const parts: string[] = [];
  for (let at = 0; at < text.length; at += partChars) parts.push(text.slice(at, at + partChars));
  return parts.length > 0 ? parts : [''];
}

/** Arguments of the run-state activities (activities/run-state.ts). */
export interface RunStatePartInput {
  readonly bucket: string;
  readonly runId: string;
  /** The number of the execution writing (CarriedRunState.continuations of what it writes). */
  readonly continuation: number;
  readonly part: number;
  readonly text: string;
}

export interface SealRunStateInput {
  readonly bucket: string;
  readonly runId: string;
  readonly continuation: number;
  readonly parts: number;
  readonly partChars: number;
}

/** A state an execution wrote and then wrote again (an update changed the run meanwhile): no execution reads it. */
export interface RemoveRunStateInput {
  readonly bucket: string;
  readonly runId: string;
  /** The superseded object's digest (`@state/<sha256>.json`). */
  readonly sha256: string;
}

export interface ReadRunStatePartInput {
  readonly bucket: string;
  readonly runId: string;
  readonly ref: StoredRunStateRef;
  readonly part: number;
}
