/**
 * The numbers a model's versions table compares versions by, and what each column measures. A card's metrics are one
 * flat list (register-model copies the training record's `train.*`, `validation.*`, `weightsEpoch`, … and the
 * evaluate stage's `accuracy`, `f1`, `count`, `perClass.*`, … side by side), so the first names of that list were
 * training bookkeeping. The evaluate stage's test accuracy and F1 (and its gate, which only the registering run
 * records) come first; a version with none shows its saved weights' validation metrics. Pure: no DOM.
 */
import { MEASURE_WORDING } from './model-measure-types';

/** The part of a card the columns read. */
export interface VersionMetrics {
  readonly metrics?: Readonly<Record<string, number>>;
}

export type VersionColumnGroup = 'evaluation' | 'training';

export interface VersionColumn {
  /** The card's metric name (`gate`: the evaluate stage's verdict, read from the registering run). */
  readonly key: string;
  readonly group: VersionColumnGroup;
  /** The column's head, the name the model page's Metrics section gives the number. */
  readonly head: string;
  /** Its name on a phone's card, where no group heads it: "test accuracy". */
  readonly label: string;
}

/** The evaluate stage's numbers a reader compares versions by, in this order. */
const EVALUATION_KEYS = ['accuracy', 'f1'] as const;
/** The saved weights' numbers, for a version no evaluate stage scored. */
const VALIDATION_KEYS = ['validation.accuracy', 'validation.loss'] as const;
export const GATE_KEY = 'gate';

function has(card: VersionMetrics, key: string): boolean {
  const value = card.metrics?.[key];
  return typeof value === 'number' && Number.isFinite(value);
}

/** Whether an evaluate stage's numbers are on the card (the training record never names a metric without a dot). */
export function hasEvaluation(card: VersionMetrics): boolean {
  return EVALUATION_KEYS.some((key) => has(card, key));
}

/**
 * The columns for these versions: the evaluation's (accuracy, F1 and the gate) when any version has them, then the
 * validation metrics when any version has no evaluation but has those (then every version's, so all rows compare on
 * them); each only if some version has a value.
 */
export function versionColumns(cards: readonly VersionMetrics[]): VersionColumn[] {
  const evaluated = cards.filter(hasEvaluation);
  const columns: VersionColumn[] = [];
  for (const key of EVALUATION_KEYS)
    if (evaluated.some((card) => has(card, key)))
      columns.push({ key, group: 'evaluation', head: key, label: `test ${key}` });
  if (evaluated.length > 0) columns.push({ key: GATE_KEY, group: 'evaluation', head: 'gate', label: 'gate' });
  const unevaluated = cards.filter((card) => !hasEvaluation(card));
  for (const key of VALIDATION_KEYS)
    if (unevaluated.some((card) => has(card, key))) columns.push({ key, group: 'training', head: key, label: key });
  return columns;
}

/** A group's head over its columns, in the Metrics section's words. */
export function groupHead(group: VersionColumnGroup): string {
  return group === 'evaluation'
    ? `${MEASURE_WORDING.evaluation}: ${MEASURE_WORDING.splitMetrics('test')}`
    : `${MEASURE_WORDING.training}: ${MEASURE_WORDING.trainingMetrics}`;
}
