/**
 * prepare-data's data-quality policy: named checks, each `fail` (the stage stops with every
 * finding listed), `warn` (counted, listed in the data report and the stage log, the data used
 * as the check's doc says) or, for some, `drop`/`flatten`. Defaults fail loudly where silence
 * used to change the data's meaning (a renamed column, a nested folder, an unsupported file, a
 * mislabelled duplicate, a class too small to reach every split).
 */
import { InvalidInputError } from '../../core/errors';
import type { DecodedImage } from './images';

export interface QualityPolicy {
  /** CSV files under one prefix whose header differs from the first file's (warn: the file is skipped). */
  readonly headerMismatch: 'fail' | 'warn';
  /** Files in an image folder that are not PNG or JPEG (warn: skipped). */
  readonly unsupportedFiles: 'fail' | 'warn';
  /** Files that cannot be decoded, rows that cannot be parsed (warn: quarantined). */
  readonly corruptFiles: 'fail' | 'warn';
  /** Images below the first folder level (flatten: labelled by their first folder). */
  readonly nestedFolders: 'fail' | 'flatten';
  /** Images of one colour (warn: kept; drop: quarantined). */
  readonly blankImages: 'fail' | 'warn' | 'drop';
  /** Identical examples with different labels (warn: the first label wins; drop: every copy is dropped). */
  readonly conflictingLabels: 'fail' | 'warn' | 'drop';
  /** Classes with too few examples to reach every split with a non-zero fraction. */
  readonly smallClasses: 'fail' | 'warn';
  /** Largest class / smallest class above `maxImbalance`. */
  readonly imbalance: 'fail' | 'warn';
  readonly maxImbalance: number;
}

export type QualityCheck = Exclude<keyof QualityPolicy, 'maxImbalance'>;

export const DEFAULT_QUALITY_POLICY: QualityPolicy = {
  headerMismatch: 'fail',
  unsupportedFiles: 'fail',
  corruptFiles: 'warn',
  nestedFolders: 'fail',
  blankImages: 'warn',
  conflictingLabels: 'fail',
  smallClasses: 'fail',
  imbalance: 'warn',
  maxImbalance: 10,
};

export const QUALITY_CHECKS: readonly QualityCheck[] = [
  'headerMismatch',
  'unsupportedFiles',
  'corruptFiles',
  'nestedFolders',
  'blankImages',
  'conflictingLabels',
  'smallClasses',
  'imbalance',
];

/** What a finding is about, in the words of the fix. */
const FIXES: Readonly<Record<QualityCheck, string>> = {
  headerMismatch: 'give every file the same columns, or set quality.headerMismatch: warn to skip the odd files',
  unsupportedFiles:
    'convert images in other formats to PNG or JPEG, keep files that are not images (notes, .DS_Store) out of the ' +
    'pushed folder, or set quality.unsupportedFiles: warn to skip them',
  corruptFiles: 'replace them, or set quality.corruptFiles: warn to quarantine them',
  nestedFolders: 'move the images up to their class folder, or set quality.nestedFolders: flatten',
  blankImages: 'remove them, or set quality.blankImages: warn (keep) or drop',
  conflictingLabels: 'fix the labels, or set quality.conflictingLabels: warn (first label wins) or drop',
  smallClasses: 'add examples, drop the class, or set quality.smallClasses: warn',
  imbalance: 'rebalance the data, raise quality.maxImbalance, or set quality.imbalance: warn',
};

export interface QualityFinding {
  readonly where: string;
  readonly reason: string;
}

export interface QualityCheckResult {
  readonly check: QualityCheck;
  readonly policy: string;
  readonly count: number;
  /** `ok`: nothing found; `warned`: found and handled by the policy; `failed`: the stage stopped. */
  readonly outcome: 'ok' | 'warned' | 'failed';
  readonly examples: readonly QualityFinding[];
}

const EXAMPLES_PER_CHECK = 20;

/** Findings per check, with bounded examples, and the verdict the policy gives them. */
export class QualityTracker {
  private readonly counts = new Map<QualityCheck, number>();
  private readonly examples = new Map<QualityCheck, QualityFinding[]>();

  constructor(readonly policy: QualityPolicy) {}

  record(check: QualityCheck, where: string, reason: string): void {
    this.counts.set(check, (this.counts.get(check) ?? 0) + 1);
    const list = this.examples.get(check) ?? [];
    if (list.length < EXAMPLES_PER_CHECK) list.push({ where, reason });
    this.examples.set(check, list);
  }

  count(check: QualityCheck): number {
    return this.counts.get(check) ?? 0;
  }

  results(): QualityCheckResult[] {
    return QUALITY_CHECKS.map((check) => {
      const count = this.count(check);
      const policy = this.policy[check];
      return {
        check,
        policy,
        count,
        outcome: count === 0 ? 'ok' : policy === 'fail' ? 'failed' : 'warned',
        examples: this.examples.get(check) ?? [],
      };
    });
  }

  /**
   * Throw one error listing every failing check (5 examples each) and its fix. Its details carry every check's
   * outcome (`results`) and `counts` (records read and kept, classes found), so prepare-data can record the failed
   * read beside the dataset version (src/datasets/version-reads.ts).
   */
  enforce(source: string, counts?: QualityFailureCounts): void {
    const results = this.results();
    const failed = results.filter((result) => result.outcome === 'failed');
    if (failed.length === 0) return;
    const lines = failed.map((result) => {
      const shown = result.examples
        .slice(0, 5)
        .map((example) => `${example.where}: ${example.reason}`)
        .join('; ');
      const more = result.count > 5 ? ` (and ${result.count - 5} more)` : '';
      return `quality.${result.check}: ${result.count} found — ${shown}${more}. Fix: ${FIXES[result.check]}`;
    });
    throw new InvalidInputError(`data quality checks failed for ${source}:\n${lines.join('\n')}`, {
      code: 'data-quality',
      checks: Object.fromEntries(failed.map((result) => [result.check, result.count])),
      results: results.map(({ check, outcome, count }) => ({ check, outcome, count })),
      ...(counts ? { counts } : {}),
    });
  }
}

/** What a scan had found when a quality check stopped it. */
export interface QualityFailureCounts {
  readonly records: number;
  readonly kept: number;
  readonly classes: number;
}

/** The outcomes and counts of a `data-quality` failure ({@link QualityTracker.enforce}); undefined for any other. */
export function qualityFailureOf(thrown: unknown):
  | {
      readonly results: readonly Pick<QualityCheckResult, 'check' | 'outcome' | 'count'>[];
      readonly counts?: QualityFailureCounts;
      /** The data report written before the stage failed (src/ml/data/prepare.ts), when it was. */
      readonly report?: string;
    }
  | undefined {
  if (!(thrown instanceof InvalidInputError) || thrown.details.code !== 'data-quality') return undefined;
  const { results, counts, report } = thrown.details as {
    results?: unknown;
    counts?: QualityFailureCounts;
    report?: unknown;
  };
  if (!Array.isArray(results)) return undefined;
  return {
    results: results as Pick<QualityCheckResult, 'check' | 'outcome' | 'count'>[],
    ...(counts ? { counts } : {}),
    ...(typeof report === 'string' ? { report } : {}),
  };
}

/** Whether every pixel of an image, composited onto `background`, has the same colour. */
export function isConstantImage(image: DecodedImage, background: readonly [number, number, number]): boolean {
  const pixels = image.width * image.height;
  let first: [number, number, number] | undefined;
  for (let p = 0; p < pixels; p += 1) {
    const alpha = (image.rgba[p * 4 + 3] ?? 255) / 255;
    const colour = [0, 1, 2].map((c) =>
      Math.round((image.rgba[p * 4 + c] ?? 0) * alpha + (background[c] ?? 255) * (1 - alpha)),
    ) as [number, number, number];
    if (!first) first = colour;
    else if (colour[0] !== first[0] || colour[1] !== first[1] || colour[2] !== first[2]) return false;
  }
  return true;
}

/** The policy from a stage's `quality:` input (already schema-checked), over the defaults. */
export function qualityPolicyOf(input: Readonly<Record<string, unknown>>): QualityPolicy {
  const policy: Record<string, unknown> = { ...DEFAULT_QUALITY_POLICY };
  for (const [key, value] of Object.entries(input))
    if (key in DEFAULT_QUALITY_POLICY && value !== undefined) policy[key] = value;
  return policy as unknown as QualityPolicy;
}

/**
 * Classes whose examples do not reach every split with a non-zero fraction, given the split
 * sizes each class would get (`countsOf(total)` → [train, validation, test]).
 */
export function smallClassFindings(
  classCounts: readonly { readonly name: string; readonly count: number }[],
  fractions: readonly [number, number, number],
  countsOf: (total: number) => readonly [number, number, number],
): QualityFinding[] {
  const names = ['train', 'validation', 'test'];
  const needed = fractions.filter((fraction) => fraction > 0).length;
  return classCounts.flatMap(({ name, count }) => {
    const split = countsOf(count);
    const empty = names.filter((_, i) => (fractions[i] ?? 0) > 0 && (split[i] ?? 0) === 0);
    if (empty.length === 0) return [];
    return [
      {
        where: `class ${name}`,
        reason:
          `has ${count} example(s): none reach ${empty.join(' and ')} (every split with a fraction needs one; ` +
          `at least ${needed} in all, more for small fractions)`,
      },
    ];
  });
}
