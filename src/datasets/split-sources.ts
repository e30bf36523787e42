/**
 * prepare-data's split: fractions of one source, or fixed validation / test sets read from their
 * own sources (`split.validationSource`, `split.testSource`): the test set a team reports on for
 * a year, whatever the training data becomes. Pure and free of Node built-ins: the spec's stage
 * input checks and the activity both read the split through these functions, so validate and the
 * run agree on what a split means.
 */
import type { JsonObject } from '../core/spec/plan-types';
import { asPrefixUri } from '../core/storage/uri';
import { parseDatasetSource, pinnedSourceProblem } from './dataset-source';

export interface SplitFractions {
  readonly train: number;
  readonly validation: number;
  readonly test: number;
}

/** The split that reads a fixed source instead of taking a fraction of the main one. */
export type FixedSplit = 'validation' | 'test';

export const FIXED_SPLITS: readonly FixedSplit[] = ['validation', 'test'];

/** `validationSource` / `testSource`. */
export function fixedSourceKey(split: FixedSplit): 'validationSource' | 'testSource' {
  return split === 'validation' ? 'validationSource' : 'testSource';
}

/** The fixed sources a split names, by split. */
export function fixedSourcesOf(split: JsonObject): Partial<Record<FixedSplit, string>> {
  const out: Partial<Record<FixedSplit, string>> = {};
  for (const name of FIXED_SPLITS) {
    const value = split[fixedSourceKey(name)];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/**
 * The fractions of the main source. Without fixed sets the defaults are 0.7 / 0.15 / 0.15. A split
 * with a fixed set takes no fraction of the main source (default 0) and train defaults to what the
 * others leave, so `split: {testSource: …}` alone means 85% train, 15% validation of the main source.
 * Non-numbers (unresolved expressions) count as their default.
 */
export function splitFractionsOf(split: JsonObject): SplitFractions {
  const fixed = fixedSourcesOf(split);
  const number = (value: unknown, fallback: number): number => (typeof value === 'number' ? value : fallback);
  const validation = number(split.validation, fixed.validation ? 0 : 0.15);
  const test = number(split.test, fixed.test ? 0 : 0.15);
  const hasFixed = fixed.validation !== undefined || fixed.test !== undefined;
  const train = number(split.train, hasFixed ? Math.max(0, 1 - validation - test) : 0.7);
  return { train, validation, test };
}

export interface SplitProblem {
  readonly path: string;
  readonly message: string;
  readonly hint: string;
}

function locationOf(source: string): string {
  return parseDatasetSource(source).uri;
}

/** Whether one location lies inside the other (or they are the same): their data would overlap. */
function overlapping(a: string, b: string): boolean {
  let pa: string;
  let pb: string;
  try {
    [pa, pb] = [asPrefixUri(a), asPrefixUri(b)];
  } catch {
    return false; // not an s3:// URI: the schema reports that
  }
  return a === b || pa.startsWith(pb) || pb.startsWith(pa) || a.startsWith(pb) || b.startsWith(pa);
}

/**
 * What is wrong with prepare-data's split given its main `source`: fractions that do not sum to 1,
 * an empty training split, a fixed set that also takes a fraction, fixed sets mixed with a split
 * column, or fixed sets that overlap the main source or each other (their examples would be in two
 * splits at once). Values that are not literal yet are skipped; the activity checks them again.
 */
export function splitProblems(source: unknown, split: JsonObject): SplitProblem[] {
  const problems: SplitProblem[] = [];
  const fixed = fixedSourcesOf(split);
  const parts = [split.train, split.validation, split.test];
  if (parts.every((part) => part === undefined || typeof part === 'number')) {
    const fractions = splitFractionsOf(split);
    const sum = fractions.train + fractions.validation + fractions.test;
    if (Math.abs(sum - 1) > 1e-6)
      problems.push({
        path: 'split',
        message: `split fractions sum to ${Number(sum.toFixed(6))}, not 1`,
        hint:
          fixed.validation || fixed.test
            ? 'make train + validation + test = 1 over the main source (a split read from its own source takes 0)'
            : 'make train + validation + test = 1',
      });
    if (fractions.train === 0)
      problems.push({ path: 'split.train', message: 'the training split is empty', hint: 'give train a fraction > 0' });
  }
  for (const name of FIXED_SPLITS) {
    const fixedSource = fixed[name];
    if (fixedSource === undefined) continue;
    const key = fixedSourceKey(name);
    const pin = pinnedSourceProblem(fixedSource);
    if (pin)
      problems.push({
        path: `split.${key}`,
        message: pin,
        hint: 'list the versions of the prefix with `fineflow data versions s3://bucket/prefix/`',
      });
    if (typeof split[name] === 'number' && split[name] !== 0)
      problems.push({
        path: `split.${name}`,
        message: `split.${name} is ${String(split[name])}, but the ${name} set is read from split.${key}`,
        hint: `remove split.${name} (the ${name} set is ${fixedSource}), or remove split.${key} to take a fraction`,
      });
    if (typeof split.column === 'string')
      problems.push({
        path: `split.${key}`,
        message: `split.column (${split.column}) and split.${key} both decide which rows are ${name} rows`,
        hint: `use one: a split column in the data, or a separate ${name} source`,
      });
    if (
      typeof source === 'string' &&
      source.startsWith('s3://') &&
      overlapping(locationOf(source), locationOf(fixedSource))
    )
      problems.push({
        path: `split.${key}`,
        message: `split.${key} ${fixedSource} overlaps source ${source}: its examples would be read as training data too`,
        hint: `keep the ${name} set under its own prefix, e.g. s3://datasets/NAME-${name}/, beside (not inside) the source`,
      });
  }
  if (fixed.validation && fixed.test && overlapping(locationOf(fixed.validation), locationOf(fixed.test)))
    problems.push({
      path: 'split.testSource',
      message: `split.testSource ${fixed.test} overlaps split.validationSource ${fixed.validation}`,
      hint: 'give the validation and the test set prefixes of their own',
    });
  return problems;
}
