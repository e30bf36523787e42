/**
 * Search spaces of a hyperparameter sweep: how each hyperparameter may vary, parsed from the
 * stage's `space:` input, sampled from its prior and enumerated as a grid.
 *
 * YAML/JSON forms accepted for one parameter:
 * - `{uniform: [low, high]}` or `{uniform: {low, high}}`
 * - `{logUniform: [low, high]}` or `{logUniform: {low, high}}` (low > 0)
 * - `{int: [low, high]}` or `{int: {low, high, step?, log?}}`
 * - `{choice: [v1, v2, …]}` (any JSON values)
 * - `{fixed: value}`, or a bare string/number/boolean/null, or an object without one of the
 *   keys above — a constant passed to every trial unchanged
 * A bare array is rejected as ambiguous: write `{choice: […]}` or `{fixed: […]}`.
 */
import { InvalidInputError } from '../errors';
import type { JsonValue } from '../spec/plan-types';
import { type RandomSource } from './random-source';

/** One hyperparameter's domain; plain JSON, stored in the sweep state. */
export type ParameterDomain =
  | {
      readonly kind: 'uniform';
      readonly low: number;
      readonly high: number;
    }
  | {
      /** Uniform in log space; sampled values are always in [low, high], low > 0. */
      readonly kind: 'logUniform';
      readonly low: number;
      readonly high: number;
    }
  | {
      /** Integers low, low+step, … ≤ high. `log` samples uniformly in log space (step must be 1). */
      readonly kind: 'int';
      readonly low: number;
      readonly high: number;
      readonly step: number;
      readonly log: boolean;
    }
  | {
      readonly kind: 'choice';
      /** At least one value; order matters for the grid and for TPE's category indices. */
      readonly values: readonly JsonValue[];
    }
  | {
      readonly kind: 'fixed';
      readonly value: JsonValue;
    };

export interface SearchParameter {
  readonly name: string;
  readonly domain: ParameterDomain;
}

/** A parsed search space; parameters sorted by name so iteration order never depends on YAML key order. */
export interface SearchSpace {
  readonly parameters: readonly SearchParameter[];
}

/** Hyperparameter values of one trial, by parameter name. */
export type ParameterValues = { readonly [name: string]: JsonValue };

/** Points per continuous parameter when a grid has to discretise it. */
export const DEFAULT_GRID_POINTS = 5;

const DOMAIN_KEYS = ['uniform', 'logUniform', 'int', 'choice', 'fixed'] as const;

/**
 * Parse a `space:` object. Throws {@link InvalidInputError} naming the parameter
 * (`details.path`, e.g. `space.learningRate`) on the first problem.
 */
export function parseSearchSpace(input: unknown, path = 'space'): SearchSpace {
  if (!isPlainObject(input)) {
    throw invalid(path, `must be an object mapping parameter names to domains, got ${describe(input)}`);
  }
  const names = Object.keys(input).sort();
  if (names.length === 0) throw invalid(path, 'must define at least one parameter');
  return {
    parameters: names.map((name) => ({ name, domain: parseParameterDomain(input[name], `${path}.${name}`) })),
  };
}

/** Parse one parameter's domain (see the module comment for the accepted forms). */
export function parseParameterDomain(input: unknown, path: string): ParameterDomain {
  if (input === null || typeof input === 'string' || typeof input === 'boolean') return { kind: 'fixed', value: input };
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw invalid(path, `fixed value must be a finite number, got ${input}`);
    return { kind: 'fixed', value: input };
  }
  if (Array.isArray(input)) {
    throw invalid(
      path,
      'a bare list is ambiguous',
      'write {choice: [...]} to search over the values, or {fixed: [...]} for a constant list',
    );
  }
  if (!isPlainObject(input)) throw invalid(path, `unsupported value ${describe(input)}`);
  const keys = Object.keys(input);
  const domainKeys = keys.filter((key): key is (typeof DOMAIN_KEYS)[number] =>
    (DOMAIN_KEYS as readonly string[]).includes(key),
  );
  if (domainKeys.length === 0) return { kind: 'fixed', value: toJsonValue(input, path) };
  if (keys.length !== 1) {
    throw invalid(path, `must have exactly one of ${DOMAIN_KEYS.join(', ')}, got keys ${keys.join(', ')}`);
  }
  const key = domainKeys[0] as (typeof DOMAIN_KEYS)[number];
  const body = input[key];
  const at = `${path}.${key}`;
  switch (key) {
    case 'fixed':
      return { kind: 'fixed', value: toJsonValue(body, at) };
    case 'choice': {
      if (!Array.isArray(body) || body.length === 0)
        throw invalid(at, `must be a non-empty list of values, got ${describe(body)}`);
      return { kind: 'choice', values: body.map((value, i) => toJsonValue(value, `${at}[${i}]`)) };
    }
    case 'uniform':
    case 'logUniform': {
      const { low, high } = parseBounds(body, at, ['low', 'high']);
      if (!(low < high)) throw invalid(at, `low (${low}) must be less than high (${high})`);
      if (key === 'logUniform' && low <= 0)
        throw invalid(at, `low must be > 0 for a log scale, got ${low}`, 'use uniform for ranges that include 0');
      return { kind: key, low, high };
    }
    case 'int': {
      const { low, high, step, log } = parseBounds(body, at, ['low', 'high', 'step', 'log']);
      for (const [name, value] of [
        ['low', low],
        ['high', high],
        ['step', step],
      ] as const) {
        if (!Number.isInteger(value)) throw invalid(`${at}.${name}`, `must be an integer, got ${value}`);
      }
      if (step < 1) throw invalid(`${at}.step`, `must be ≥ 1, got ${step}`);
      if (low > high) throw invalid(at, `low (${low}) must be ≤ high (${high})`);
      if (log && low < 1) throw invalid(at, `low must be ≥ 1 for a log scale, got ${low}`);
      if (log && step !== 1) throw invalid(`${at}.step`, 'must be 1 when log is true');
      // Keep high on the step lattice, so `high` is a value a trial can receive.
      const lastOnLattice = low + Math.floor((high - low) / step) * step;
      return { kind: 'int', low, high: lastOnLattice, step, log };
    }
  }
}

function parseBounds(
  body: unknown,
  path: string,
  allowed: readonly string[],
): { low: number; high: number; step: number; log: boolean } {
  let low: unknown;
  let high: unknown;
  let step: unknown = 1;
  let log: unknown = false;
  if (Array.isArray(body)) {
    if (body.length !== 2) throw invalid(path, `must be [low, high], got a list of ${body.length}`);
    [low, high] = body;
  } else if (isPlainObject(body)) {
    const unknownKeys = Object.keys(body).filter((key) => !allowed.includes(key));
    if (unknownKeys.length > 0)
      throw invalid(path, `unknown key ${unknownKeys.join(', ')}; allowed: ${allowed.join(', ')}`);
    low = body.low;
    high = body.high;
    if ('step' in body) step = body.step;
    if ('log' in body) log = body.log;
  } else {
    throw invalid(path, `must be [low, high] or {low, high}, got ${describe(body)}`);
  }
  for (const [name, value] of [
    ['low', low],
    ['high', high],
    ['step', step],
  ] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw invalid(`${path}.${name}`, `must be a finite number, got ${describe(value)}`);
  }
  if (typeof log !== 'boolean') throw invalid(`${path}.log`, `must be true or false, got ${describe(log)}`);
  return { low: low as number, high: high as number, step: step as number, log };
}

/** Draw one value of every parameter from its prior. */
export function sampleFromPrior(space: SearchSpace, random: RandomSource): ParameterValues {
  const values: Record<string, JsonValue> = {};
  for (const { name, domain } of space.parameters) values[name] = sampleDomain(domain, random);
  return values;
}

export function sampleDomain(domain: ParameterDomain, random: RandomSource): JsonValue {
  switch (domain.kind) {
    case 'fixed':
      return domain.value;
    case 'choice':
      return domain.values[random.index(domain.values.length)] ?? null;
    case 'uniform':
      return Math.min(domain.high, random.uniformBetween(domain.low, domain.high));
    case 'logUniform':
      return clamp(
        Math.exp(random.uniformBetween(Math.log(domain.low), Math.log(domain.high))),
        domain.low,
        domain.high,
      );
    case 'int': {
      if (domain.log) {
        const raw = Math.exp(random.uniformBetween(Math.log(domain.low - 0.5), Math.log(domain.high + 0.5)));
        return clamp(Math.round(raw), domain.low, domain.high);
      }
      const count = Math.floor((domain.high - domain.low) / domain.step) + 1;
      return domain.low + random.index(count) * domain.step;
    }
  }
}

/**
 * The value at quantile `u` ∈ [0, 1) of the distribution {@link sampleDomain} draws from: uniform on a linear
 * domain, on the log scale for a log domain, equal shares of the values for a categorical or a linear integer.
 * A design (tpe.ts's Latin hypercube) places its points with it.
 */
export function sampleDomainAt(domain: ParameterDomain, u: number): JsonValue {
  const q = clamp(u, 0, 1);
  const share = (count: number): number => Math.min(count - 1, Math.floor(q * count));
  switch (domain.kind) {
    case 'fixed':
      return domain.value;
    case 'choice':
      return domain.values[share(domain.values.length)] ?? null;
    case 'uniform':
      return clamp(domain.low + (domain.high - domain.low) * q, domain.low, domain.high);
    case 'logUniform':
      return clamp(
        Math.exp(Math.log(domain.low) + (Math.log(domain.high) - Math.log(domain.low)) * q),
        domain.low,
        domain.high,
      );
    case 'int': {
      if (domain.log) {
        const low = Math.log(domain.low - 0.5);
        const raw = Math.exp(low + (Math.log(domain.high + 0.5) - low) * q);
        return clamp(Math.round(raw), domain.low, domain.high);
      }
      return domain.low + share(Math.floor((domain.high - domain.low) / domain.step) + 1) * domain.step;
    }
  }
}

/** The values a grid takes for one parameter; continuous domains become `points` evenly spaced values. */
export function gridValues(domain: ParameterDomain, points = DEFAULT_GRID_POINTS): readonly JsonValue[] {
  if (!Number.isInteger(points) || points < 1)
    throw new InvalidInputError(`grid points per parameter must be an integer ≥ 1, got ${points}`);
  switch (domain.kind) {
    case 'fixed':
      return [domain.value];
    case 'choice':
      return domain.values;
    case 'uniform':
      return linspace(domain.low, domain.high, points);
    case 'logUniform':
      return linspace(Math.log(domain.low), Math.log(domain.high), points).map((x, i, all) =>
        // exp(log(x)) may drift by an ulp: pin the ends to the exact bounds
        i === 0 ? domain.low : i === all.length - 1 ? domain.high : Math.exp(x),
      );
    case 'int': {
      const count = Math.floor((domain.high - domain.low) / domain.step) + 1;
      if (count <= points) return Array.from({ length: count }, (_, i) => domain.low + i * domain.step);
      const raw = domain.log
        ? linspace(Math.log(domain.low), Math.log(domain.high), points).map(Math.exp)
        : linspace(domain.low, domain.high, points);
      const snapped = raw.map((x) =>
        clamp(domain.low + Math.round((x - domain.low) / domain.step) * domain.step, domain.low, domain.high),
      );
      return [...new Set(snapped)];
    }
  }
}

/** Number of points in the full grid (the product of every parameter's grid size). */
export function gridSize(space: SearchSpace, points = DEFAULT_GRID_POINTS): number {
  return space.parameters.reduce((size, { domain }) => size * gridValues(domain, points).length, 1);
}

/**
 * The grid point at `index` (0 ≤ index < gridSize), in row-major order: the last parameter
 * (by name) varies fastest. Computed from the index, so a grid sweep stores only a counter.
 */
export function gridPoint(space: SearchSpace, index: number, points = DEFAULT_GRID_POINTS): ParameterValues {
  const size = gridSize(space, points);
  if (!Number.isInteger(index) || index < 0 || index >= size)
    throw new RangeError(`grid index ${index} outside [0, ${size})`);
  const values: Record<string, JsonValue> = {};
  let rest = index;
  for (let i = space.parameters.length - 1; i >= 0; i--) {
    const parameter = space.parameters[i] as SearchParameter;
    const options = gridValues(parameter.domain, points);
    values[parameter.name] = options[rest % options.length] ?? null;
    rest = Math.floor(rest / options.length);
  }
  return sortKeys(values);
}

/** Same values with keys in parameter order, so JSON of a suggestion is stable. */
function sortKeys(values: Record<string, JsonValue>): ParameterValues {
  const sorted: Record<string, JsonValue> = {};
  for (const key of Object.keys(values).sort()) sorted[key] = values[key] ?? null;
  return sorted;
}

function linspace(low: number, high: number, points: number): number[] {
  if (points === 1) return [(low + high) / 2];
  return Array.from({ length: points }, (_, i) => (i === points - 1 ? high : low + ((high - low) * i) / (points - 1)));
}

export function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function toJsonValue(value: unknown, path: string): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(path, `must be a finite number, got ${value}`);
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => toJsonValue(item, `${path}[${i}]`));
  if (isPlainObject(value)) {
    const out: Record<string, JsonValue> = {};
    for (const [key, item] of Object.entries(value)) out[key] = toJsonValue(item, `${path}.${key}`);
    return out;
  }
  throw invalid(path, `must be JSON data, got ${describe(value)}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function invalid(path: string, problem: string, hint?: string): InvalidInputError {
  return new InvalidInputError(`${path}: ${problem}${hint ? ` (${hint})` : ''}`, hint ? { path, hint } : { path });
}
