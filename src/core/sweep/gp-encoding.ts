/**
 * How the GP searcher (./gp.ts) sees a search space: every searched parameter becomes coordinates in
 * [0, 1]. Numeric parameters take one coordinate on the scale the space samples them on (log for
 * `logUniform` and `int` with `log`; integers continuous over [low − step/2, high + step/2], rounded
 * back onto the step lattice when decoded). A `choice` takes one coordinate per value (one-hot), so
 * the kernel sees only "same value or not", never an order the values do not have. `fixed`
 * parameters take none. The space format has no conditional parameters: every parameter is present
 * in every trial, so every trial encodes to a full vector.
 */
import type { JsonValue } from '../spec/plan-types';
import { numericTransform } from './parzen-estimators';
import type { RandomSource } from './random-source';
import type { ParameterDomain, ParameterValues, SearchSpace } from './space';

type NumericDomain = Extract<ParameterDomain, { kind: 'uniform' | 'logUniform' | 'int' }>;

interface Block {
  readonly name: string;
  readonly domain: ParameterDomain;
  /** First coordinate of this parameter. */
  readonly offset: number;
  readonly width: number;
}

export interface SpaceEncoding {
  /** Coordinates of an encoded point. */
  readonly dims: number;
  encode(params: ParameterValues): number[];
  decode(point: readonly number[]): ParameterValues;
  /**
   * A valid point near `params`: each numeric coordinate moves by a normal step of `scales[i]` (clamped
   * to [0, 1], then rounded onto the lattice), and each choice changes to another value with probability
   * 1/(searched parameters).
   */
  perturb(params: ParameterValues, scales: readonly number[], random: RandomSource): ParameterValues;
}

export function encodeSpace(space: SearchSpace): SpaceEncoding {
  const blocks: Block[] = [];
  let offset = 0;
  for (const { name, domain } of space.parameters) {
    const width = domain.kind === 'fixed' ? 0 : domain.kind === 'choice' ? domain.values.length : 1;
    blocks.push({ name, domain, offset, width });
    offset += width;
  }
  const searched = blocks.filter((block) => block.width > 0).length;
  return {
    dims: offset,
    encode: (params) => encodePoint(blocks, offset, params),
    decode: (point) => decodePoint(blocks, point),
    perturb: (params, scales, random) => perturbPoint(blocks, offset, searched, params, scales, random),
  };
}

function encodePoint(blocks: readonly Block[], dims: number, params: ParameterValues): number[] {
  const point = new Array<number>(dims).fill(0);
  for (const { name, domain, offset } of blocks) {
    const value = params[name] ?? null;
    if (domain.kind === 'choice') point[offset + choiceIndex(domain.values, value)] = 1;
    else if (domain.kind !== 'fixed') point[offset] = toUnit(domain, typeof value === 'number' ? value : NaN);
  }
  return point;
}

function decodePoint(blocks: readonly Block[], point: readonly number[]): ParameterValues {
  const values: Record<string, JsonValue> = {};
  for (const { name, domain, offset, width } of blocks) {
    if (domain.kind === 'fixed') values[name] = domain.value;
    else if (domain.kind === 'choice')
      values[name] = domain.values[argMax(point.slice(offset, offset + width))] ?? null;
    else values[name] = fromUnit(domain, point[offset] ?? 0);
  }
  return values;
}

function perturbPoint(
  blocks: readonly Block[],
  dims: number,
  searched: number,
  params: ParameterValues,
  scales: readonly number[],
  random: RandomSource,
): ParameterValues {
  const point = encodePoint(blocks, dims, params);
  for (const { domain, offset, width } of blocks) {
    if (domain.kind === 'choice') {
      if (width < 2 || random.uniform() >= 1 / searched) continue;
      const current = argMax(point.slice(offset, offset + width));
      const other = (current + 1 + random.index(width - 1)) % width;
      point[offset + current] = 0;
      point[offset + other] = 1;
    } else if (domain.kind !== 'fixed') {
      point[offset] = Math.min(1, Math.max(0, point[offset]! + random.normal() * (scales[offset] ?? 0.1)));
    }
  }
  return decodePoint(blocks, point);
}

/** Position of a numeric value in [0, 1] on its sampling scale (integers: the centre of their cell). */
function toUnit(domain: NumericDomain, value: number): number {
  const numeric = numericTransform(domain);
  const unit = (numeric.forward(value) - numeric.low) / (numeric.high - numeric.low);
  return Number.isFinite(unit) ? Math.min(1, Math.max(0, unit)) : 0.5;
}

function fromUnit(domain: NumericDomain, unit: number): number {
  const numeric = numericTransform(domain);
  return numeric.snap(numeric.low + Math.min(1, Math.max(0, unit)) * (numeric.high - numeric.low));
}

function choiceIndex(values: readonly JsonValue[], value: JsonValue): number {
  const key = JSON.stringify(value);
  return Math.max(
    0,
    values.findIndex((choice) => JSON.stringify(choice) === key),
  );
}

function argMax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
