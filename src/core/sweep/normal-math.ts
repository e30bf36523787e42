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

/**
 * Φ⁻¹(p), the standard normal quantile, for 0 < p < 1 (Acklam's rational approximation, relative
 * error below 1.2e-9). The GP searcher (./gp.ts) maps trial ranks to normal scores with it.
 */
export function standardNormalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`standardNormalQuantile: p must be in (0, 1), got ${p}`);
  // Horner forms of Acklam's coefficients: the central region, then both tails.
  const tail = (q: number): number =>
    (((((-0.007784894002430293 * q - 0.3223964580411365) * q - 2.400758277161838) * q - 2.549732539343734) * q +
      4.374664141464968) *
      q +
      2.938163982698783) /
    ((((0.007784695709041462 * q + 0.3224671290700398) * q + 2.445134137142996) * q + 3.754408661907416) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  const numerator =
    (((((-39.69683028665376 * r + 220.9460984245205) * r - 275.9285104469687) * r + 138.357751867269) * r -
      30.66479806614716) *
      r +
      2.506628277459239) *
    q;
  const denominator =
    ((((-54.47609879822406 * r + 161.5858368580409) * r - 155.6989798598866) * r + 66.80131188771972) * r -
      13.28068155288572) *
      r +
    1;
  return numerator / denominator;
}

/**
 * log(φ(z) + z·Φ(z)): the log of the expected improvement of a unit normal over a threshold z
 * standard deviations above its mean, finite far into the tail (Ament et al. 2023, "LogEI"), where
 * the plain difference underflows to 0 and every candidate would tie. Below z = −6 the asymptotic
 * series of the Mills ratio replaces the difference, which cancels there.
 */
export function logExpectedImprovement(z: number): number {
  if (z > -6) {
    const cdf = 0.5 * erfc(-z / Math.SQRT2);
    return Math.log(Math.exp(logStandardNormalDensity(z)) + z * cdf);
  }
  const w = 1 / (z * z);
  // φ(z) + zΦ(z) = φ(z)·(1 − |z|·Φ(z)/φ(z)) = φ(z)·w·(1 − 3w + 15w² − 105w³ + …)
  return logStandardNormalDensity(z) + Math.log(w * (1 - 3 * w + 15 * w * w - 105 * w * w * w));
}
