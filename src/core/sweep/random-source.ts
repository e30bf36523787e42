/**
 * A seeded pseudo-random source for workflow code. Temporal replays a workflow from its
 * history, so every draw must be reproducible, and a sweep that continues-as-new must carry
 * the generator forward: the whole state is four uint32 numbers, plain JSON.
 *
 * Algorithm: xoshiro128** (Blackman & Vigna), seeded through splitmix32 so that nearby seeds
 * (1, 2, 3 …) give unrelated streams.
 */

/** Serialisable generator state: four unsigned 32-bit integers, never all zero. */
export type RandomState = readonly [number, number, number, number];

/** Derive a generator state from any finite number (the sweep's `seed`). */
export function seedRandomState(seed: number): RandomState {
  let x = (Math.trunc(seed) ^ Math.trunc(seed / 2 ** 32)) >>> 0;
  const next = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const state: [number, number, number, number] = [next(), next(), next(), next()];
  if (state.every((word) => word === 0)) state[0] = 1;
  return state;
}

/**
 * A generator that advances a private copy of a {@link RandomState}. Pure functions create
 * one from the state they were given and return `snapshot()` in the state they produce.
 */
export class RandomSource {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(state: RandomState) {
    [this.s0, this.s1, this.s2, this.s3] = state;
  }

  /** The current state, to store and resume from. */
  snapshot(): RandomState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Next uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Uniform in [low, high). */
  uniformBetween(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** Uniform integer in [0, count). */
  index(count: number): number {
    return Math.min(count - 1, Math.floor(this.uniform() * count));
  }

  /** Standard normal draw (Box–Muller; one draw per call keeps the state simple). */
  normal(): number {
    let u = this.uniform();
    while (u <= 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Index drawn with probability proportional to `weights` (non-negative, not all zero). */
  weightedIndex(weights: readonly number[]): number {
    let total = 0;
    for (const weight of weights) total += weight;
    let target = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      target -= weights[i] ?? 0;
      if (target < 0) return i;
    }
    return weights.length - 1;
  }
}

function rotl(value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0;
}
