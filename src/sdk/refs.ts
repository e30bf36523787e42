/**
 * References in TypeScript pipelines: a `Ref<T>` stands for a `${{ … }}` expression whose value
 * has type T at run time (a param, an upstream stage's output, or any expression). It serialises
 * to exactly the text a YAML author writes, so both forms compile to the same plan.
 */
import type { JsonObject, JsonValue } from '../core/spec/plan-types';

declare const VALUE_TYPE: unique symbol;

export class Ref<T> {
  /** Phantom: carries T for the compiler only. */
  declare readonly [VALUE_TYPE]?: T;
  /** The expression between `${{` and `}}`, e.g. `stages.prepare.outputs.dataset`. */
  readonly expression: string;
  constructor(expression: string) {
    this.expression = expression;
  }
  /** `${{ expression }}`, as in YAML. */
  toString(): string {
    return `\${{ ${this.expression} }}`;
  }
  toJSON(): string {
    return this.toString();
  }
}

/** The type a reference must have to stand where a T is expected (enum literals widen to their base type). */
export type Widen<T> = T extends string
  ? string
  : T extends number
    ? number
    : T extends boolean
      ? boolean
      : T extends readonly unknown[]
        ? readonly JsonValue[]
        : JsonObject;

/** A value of an `any` input: JSON whose parts may be references too (e.g. a sweep's `trialStage.with`). */
export type AnyIn =
  string | number | boolean | null | Ref<unknown> | readonly AnyIn[] | { readonly [key: string]: AnyIn | undefined };

/** A stage input: a literal value or a reference resolving to one. */
export type In<T> = T | Ref<Widen<T>> | AnyRef;

/**
 * A reference whose type is not known statically (an `any` output, or `expr()` without a type):
 * its phantom type is `never`, so it stands anywhere, and the validator checks it as in YAML.
 */
export type AnyRef = Ref<never>;

/** Any expression, e.g. `expr<boolean>('stages.evaluate.outputs.passed && params.deploy')`. */
export function expr<T = never>(expression: string): Ref<T> {
  return new Ref<T>(expression.trim());
}
