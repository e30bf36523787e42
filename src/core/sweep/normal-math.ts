/**
 * Normal-distribution helpers for the Parzen estimators. Written out rather than imported
 * because workflow code may import nothing with side effects, and because TPE compares
 * probability masses deep in the tails, where `Φ(b) − Φ(a)` computed naively cancels to 0.
 */

/**
 * Complementary error function with fractional error below 1.2e-7 everywhere
 * (Chebyshev fit from Numerical Recipes, 2nd ed., §6.2), including the far tails.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -z * z -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const value = t * Math.exp(poly);
  return x >= 0 ? value : 2 - value;
}

/** Probability that a standard normal falls in [a, b], accurate in both tails. */
export function standardNormalMass(a: number, b: number): number {
  if (b <= a) return 0;
  if (a >= 0) return 0.5 * (erfc(a / Math.SQRT2) - erfc(b / Math.SQRT2));
  if (b <= 0) return 0.5 * (erfc(-b / Math.SQRT2) - erfc(-a / Math.SQRT2));
  return 1 - 0.5 * erfc(-a / Math.SQRT2) - 0.5 * erfc(b / Math.SQRT2);
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** log of the standard normal density. */
export function logStandardNormalDensity(z: number): number {
  return -0.5 * z * z - LOG_SQRT_2PI;
}

/** log(Σ exp(values)), stable. */
export function logSumExp(values: readonly number[]): number {
  let max = -Infinity;
  for (const value of values) if (value > max) max = value;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const value of values) sum += Math.exp(value - max);
  return max + Math.log(sum);
}
