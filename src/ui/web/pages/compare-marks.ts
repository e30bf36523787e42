/**
 * How one row of the compare table compares across the runs: the one decision behind every row's ≠ and ◐ (params,
 * metrics, and the runs' own status and pipeline rows). Pure, so a unit test pins it.
 */

/** A row's marks: `differs` (≠) when two runs that have it read differently, `onlySome` (◐) when a run lacks it. */
export interface RowMarks {
  readonly differs: boolean;
  readonly onlySome: boolean;
}

/**
 * The marks of a row with one value per run (`undefined`: the run lacks it). Values are compared as `text` shows
 * them, so two numbers that read the same in the table are not marked as differing. One run: nothing to compare.
 */
export function rowMarks(values: readonly unknown[], text: (value: unknown) => string = String): RowMarks {
  if (values.length < 2) return { differs: false, onlySome: false };
  const present = values.filter((value) => value !== undefined);
  return { differs: new Set(present.map(text)).size > 1, onlySome: present.length < values.length };
}
