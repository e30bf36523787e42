/**
 * Latin hypercube designs for a sweep's startup trials (McKay, Beckman & Conover 1979): n points
 * in [0, 1)^d such that, in every dimension, each of the n equal strata holds exactly one point.
 * Ten i.i.d. draws often leave half of a learning-rate range untried and put three points in one
 * corner; ten stratified ones cover every tenth of every parameter's prior once.
 *
 * The design is a pure function of its generator state, n and d, so the TPE state stores only
 * that state (four numbers) and recomputes point i when trial i is suggested: workflow replay and
 * continue-as-new give the same points.
 */
import { RandomSource, type RandomState } from './random-source';

/** Largest design computed: beyond this many startup trials stratification no longer matters. */
export const MAX_DESIGN_POINTS = 1000;

/**
 * Point `index` (0-based, < n) of the n-point, d-dimensional design drawn from `state`:
 * coordinate k is (π_k(index) + U) / n with π_k a random permutation of 0…n-1 and U uniform.
 */
export function latinHypercubePoint(state: RandomState, n: number, dimensions: number, index: number): number[] {
  if (!Number.isInteger(n) || n < 1 || n > MAX_DESIGN_POINTS)
    throw new RangeError(`latin hypercube size must be an integer in 1…${MAX_DESIGN_POINTS}, got ${n}`);
  if (!Number.isInteger(index) || index < 0 || index >= n)
    throw new RangeError(`latin hypercube point ${index} is outside 0…${n - 1}`);
  const random = new RandomSource(state);
  const point: number[] = [];
  for (let k = 0; k < dimensions; k++) {
    const strata = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = random.index(i + 1);
      [strata[i], strata[j]] = [strata[j] as number, strata[i] as number];
    }
    const jitter = Array.from({ length: n }, () => random.uniform());
    point.push(((strata[index] as number) + (jitter[index] as number)) / n);
  }
  return point;
}

/** A generator state for the design, derived from the searcher's own so the two streams differ. */
export function designState(state: RandomState): RandomState {
  const random = new RandomSource(state);
  // Four words further along the searcher's stream, each mixed with a constant: a distinct, seeded state.
  const words: number[] = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344].map(
    (constant) => (random.nextUint32() ^ constant) >>> 0,
  );
  if (!words.some((word) => word !== 0)) words[0] = 1;
  return [words[0], words[1], words[2], words[3]] as unknown as RandomState;
}
