/**
 * The shape of a stage type definition (the registry is ./stage-types.ts). A file of its own so that
 * definitions living in their own modules (./command-stage-type.ts) need not import the registry.
 */
import type { JsonObject } from '../core/spec/plan-types';
import type { ObjectSchema, OutputType } from './schema-language';

export interface StageOutput {
  readonly type: OutputType;
  readonly description: string;
}

/** A problem a stage type finds across several inputs (e.g. split fractions that do not sum to 1). */
export interface StageInputProblem {
  /** Path inside `with`, e.g. `split.train`; empty for `with` itself. */
  readonly path: string;
  readonly message: string;
  readonly hint?: string;
  /** Diagnostic code; default `invalid-input` (e.g. `missing-input` for an input required only in some shapes). */
  readonly code?: string;
}

export interface StageTypeDefinition {
  /** Name used in `uses:`, lower-case with dashes. */
  readonly name: string;
  /** Semantic version; part of every cache key, so bump it when outputs change meaning. */
  readonly version: string;
  readonly description: string;
  /** Schema of `with:`; always an object schema. */
  readonly inputs: ObjectSchema;
  readonly outputs: { readonly [name: string]: StageOutput };
  /**
   * Checks that span several inputs; called with the literal `with` values (expressions
   * still as strings) after the schema check passed. Must not throw.
   */
  readonly checkInputs?: (inputs: JsonObject) => readonly StageInputProblem[];
}
