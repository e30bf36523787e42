/**
 * Whether fine-tuning keeps the base model's classification head or replaces it with a fresh one (`head:` of
 * fine-tune and sweep trials). Pure: the activity reads the base's classes (its preprocessing.json) and decides here.
 *
 * A fresh head starts from random weights, so a base fine-tuned on data with exactly its own classes first loses what
 * it knew (and on a small set may never win it back). `auto` keeps the head when the data's classes are the base's,
 * in any order (the head's outputs are then reordered to the data's), and when nothing asks for a new head shape.
 */
import { InvalidInputError } from '../../core/errors';

export type HeadChoice = 'keep' | 'replace' | 'auto';

export type HeadDecision =
  | {
      readonly keep: true;
      /** For each of the data's classes (in its order), the index of the base head's output that scores it. */
      readonly classOrder: readonly number[];
      readonly reason: string;
    }
  | { readonly keep: false; readonly reason: string };

export interface HeadContext {
  /** The base's classes in its head's output order; undefined when the base carries no preprocessing.json. */
  readonly baseClasses: readonly string[] | undefined;
  /** The prepared dataset's classes (its labels index them). */
  readonly dataClasses: readonly string[];
  /** Settings given that shape a new head (`headUnits`, `dropout`): a kept head has its own. */
  readonly newHeadSettings: readonly string[];
}

const list = (classes: readonly string[]): string => `[${classes.join(', ')}]`;

/** Why the base's head cannot serve the data as it is, or undefined when it can. */
function mismatch(context: HeadContext): string | undefined {
  const { baseClasses, dataClasses, newHeadSettings } = context;
  if (newHeadSettings.length > 0) return `${newHeadSettings.join(' and ')} shape a new head`;
  if (baseClasses === undefined) return 'the base model records no classes (no preprocessing.json beside it)';
  const same =
    baseClasses.length === dataClasses.length &&
    new Set(baseClasses).size === baseClasses.length &&
    dataClasses.every((name) => baseClasses.includes(name));
  if (!same) return `the data's classes ${list(dataClasses)} are not the base's ${list(baseClasses)}`;
  return undefined;
}

/** The head decision for `choice`; `keep` when the head cannot be kept is an invalid input naming why. */
export function decideHead(choice: HeadChoice, context: HeadContext): HeadDecision {
  if (choice === 'replace') return { keep: false, reason: 'head: replace' };
  const why = mismatch(context);
  if (why !== undefined) {
    if (choice === 'keep')
      throw new InvalidInputError(`head: keep cannot keep the base model's head: ${why}`, { field: 'head' });
    return { keep: false, reason: why };
  }
  const baseClasses = context.baseClasses as readonly string[];
  const classOrder = context.dataClasses.map((name) => baseClasses.indexOf(name));
  const reordered = classOrder.some((index, position) => index !== position);
  return {
    keep: true,
    classOrder,
    reason:
      `the data's classes are the base's ${list(baseClasses)}` +
      (reordered ? `, its outputs reordered to ${list(context.dataClasses)}` : ''),
  };
}
