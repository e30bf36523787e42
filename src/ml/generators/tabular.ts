/**
 * Tabular data with a distribution shift: sensor readings from a production line labelled
 * `pass` / `fail`, generated for a `source` plant and a `target` plant whose sensors are
 * offset and rescaled (covariate shift) and whose failure rule moves slightly (concept shift).
 * A model trained on the source degrades on the target until it is fine-tuned there.
 *
 * Rows can carry missing values and deliberately broken rows, so data preparation has
 * something real to clean and report.
 */
import { mulberry32, randomNormal, type Random } from '../random';

export const TABULAR_CLASSES = ['pass', 'fail'] as const;
export const TABULAR_NUMERIC_COLUMNS = ['temperature', 'pressure', 'vibration', 'speed', 'humidity'] as const;
export const TABULAR_CATEGORY_COLUMN = 'line';
export const TABULAR_LINES = ['a', 'b', 'c'] as const;

/** One row as written to CSV / JSONL: numbers may be null (missing). */
export interface TabularRow {
  readonly temperature: number | null;
  readonly pressure: number | null;
  readonly vibration: number | null;
  readonly speed: number | null;
  readonly humidity: number | null;
  readonly line: string;
  readonly label: string;
}

export interface TabularOptions {
  readonly rows: number;
  readonly seed: number;
  /** `source`: the plant a base model trains on; `target`: the shifted plant. */
  readonly domain: 'source' | 'target';
  /** Probability that a numeric cell is missing. Default 0. */
  readonly missingRate?: number;
}

function sample(random: Random, domain: 'source' | 'target'): TabularRow {
  const shifted = domain === 'target';
  const line = TABULAR_LINES[Math.floor(random() * TABULAR_LINES.length)] ?? 'a';
  const z = Array.from({ length: 5 }, () => randomNormal(random));
  const [t = 0, p = 0, v = 0, s = 0, h = 0] = z;
  // Latent failure score; the target plant weights vibration more (concept shift).
  const lineEffect = line === 'c' ? 0.8 : line === 'b' ? 0.2 : -0.3;
  const score = 1.3 * t - 0.9 * p + (shifted ? 1.8 : 1.0) * v + 0.4 * s * t + lineEffect + 0.5 * randomNormal(random);
  const label = score > 0.6 ? 'fail' : 'pass';
  // Raw sensor units; the target plant's sensors read offset and rescaled (covariate shift).
  return {
    temperature: (shifted ? 78 : 70) + (shifted ? 6 : 5) * t,
    pressure: (shifted ? 2.6 : 3.0) + 0.4 * p,
    vibration: (shifted ? 0.35 : 0.2) + (shifted ? 0.12 : 0.08) * v,
    speed: 1200 + 150 * s,
    humidity: (shifted ? 55 : 40) + 8 * h,
    line,
    label,
  };
}

export function generateTabular(options: TabularOptions): TabularRow[] {
  const random = mulberry32(options.seed);
  const missingRate = options.missingRate ?? 0;
  const rows: TabularRow[] = [];
  const cell = (value: number | null): number | null =>
    value === null || random() < missingRate ? null : Math.round(value * 1000) / 1000;
  for (let i = 0; i < options.rows; i += 1) {
    const row = sample(random, options.domain);
    rows.push({
      ...row,
      temperature: cell(row.temperature),
      pressure: cell(row.pressure),
      vibration: cell(row.vibration),
      speed: cell(row.speed),
      humidity: cell(row.humidity),
    });
  }
  return rows;
}
