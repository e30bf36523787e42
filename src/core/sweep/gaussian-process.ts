/**
 * Gaussian-process regression for the GP searcher (./gp.ts): a Matérn-5/2 kernel with one length
 * scale per input dimension (ARD), hyperparameters fitted by maximising the log marginal likelihood
 * plus weak log-normal priors, and the posterior mean and variance at new points.
 *
 * Written out (no linear-algebra package) because workflow code may import only workflow-safe
 * modules; the sizes are small (≤ a few hundred observations, ≤ a few dozen dimensions), so plain
 * O(n³) Cholesky is enough. Everything is deterministic: the optimiser is iRprop⁻ (sign-based steps,
 * no randomness, no line search) inside fixed bounds, for a fixed number of iterations.
 */

/** Log length scales (one per dimension), log signal variance, log noise variance. */
export interface GpHyperparameters {
  readonly logLengthScales: readonly number[];
  readonly logSignal: number;
  readonly logNoise: number;
}

export interface GpData {
  /** Inputs in [0, 1]^d. */
  readonly x: readonly (readonly number[])[];
  /** Targets, roughly standardised (mean 0, variance 1). */
  readonly y: readonly number[];
}

/** Bounds of the fitted hyperparameters (inputs live in [0, 1], targets are standardised). */
export const HYPERPARAMETER_BOUNDS = {
  logLengthScale: [Math.log(0.02), Math.log(20)],
  logSignal: [Math.log(0.05), Math.log(20)],
  logNoise: [Math.log(1e-4), Math.log(2)],
} as const;

/** Centres of the log-normal priors; also the first starting point of every fit. */
const PRIOR = { logLengthScale: Math.log(0.5), logSignal: 0, logNoise: Math.log(0.05) } as const;
/** Standard deviations of the priors: wide, they only keep a fit on a handful of points sane. */
const PRIOR_SD = { logLengthScale: 1, logSignal: 1, logNoise: 1.5 } as const;

const SQRT5 = Math.sqrt(5);

export function defaultHyperparameters(dims: number): GpHyperparameters {
  return {
    logLengthScales: Array.from({ length: dims }, () => PRIOR.logLengthScale),
    logSignal: PRIOR.logSignal,
    logNoise: PRIOR.logNoise,
  };
}

/** Matérn-5/2 correlation at squared scaled distance r². */
function matern52(r2: number): number {
  const r = Math.sqrt(r2);
  return (1 + SQRT5 * r + (5 / 3) * r2) * Math.exp(-SQRT5 * r);
}

function inverseSquaredScales(hp: GpHyperparameters): number[] {
  return hp.logLengthScales.map((log) => Math.exp(-2 * log));
}

function scaledDistance2(a: readonly number[], b: readonly number[], inverseSq: readonly number[]): number {
  let sum = 0;
  for (let k = 0; k < inverseSq.length; k++) {
    const delta = a[k]! - b[k]!;
    sum += delta * delta * inverseSq[k]!;
  }
  return sum;
}

/**
 * Lower Cholesky factor of `a` (n×n, symmetric), adding jitter to the diagonal (10⁻⁹ of its mean,
 * growing tenfold) until the factorisation succeeds. Throws when even 10% of the diagonal is not enough.
 */
export function choleskyWithJitter(a: readonly (readonly number[])[]): number[][] {
  const n = a.length;
  let meanDiagonal = 0;
  for (let i = 0; i < n; i++) meanDiagonal += a[i]![i]! / n;
  for (let jitter = 0; jitter <= 0.1 * meanDiagonal; jitter = jitter === 0 ? 1e-9 * meanDiagonal : jitter * 10) {
    const factor = tryCholesky(a, jitter);
    if (factor) return factor;
  }
  throw new RangeError('Gaussian process: covariance matrix is not positive definite even with jitter');
}

function tryCholesky(a: readonly (readonly number[])[], jitter: number): number[][] | undefined {
  const n = a.length;
  const l = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    const lj = l[j]!;
    let diagonal = a[j]![j]! + jitter;
    for (let k = 0; k < j; k++) diagonal -= lj[k]! * lj[k]!;
    if (!(diagonal > 0)) return undefined;
    const pivot = Math.sqrt(diagonal);
    lj[j] = pivot;
    for (let i = j + 1; i < n; i++) {
      const li = l[i]!;
      let sum = a[i]![j]!;
      for (let k = 0; k < j; k++) sum -= li[k]! * lj[k]!;
      li[j] = sum / pivot;
    }
  }
  return l;
}

/** Solves L·z = b for lower-triangular L. */
export function solveLower(l: readonly (readonly number[])[], b: readonly number[]): number[] {
  const z = new Array<number>(b.length);
  for (let i = 0; i < b.length; i++) {
    const li = l[i]!;
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= li[k]! * z[k]!;
    z[i] = sum / li[i]!;
  }
  return z;
}

/** Solves Lᵀ·z = b for lower-triangular L. */
function solveUpperTransposed(l: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const z = new Array<number>(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = b[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k]![i]! * z[k]!;
    z[i] = sum / l[i]![i]!;
  }
  return z;
}

/** Kernel matrix without noise: s²·M(r(xi, xj)). */
function signalCovariance(x: readonly (readonly number[])[], hp: GpHyperparameters): number[][] {
  const inverseSq = inverseSquaredScales(hp);
  const signal = Math.exp(hp.logSignal);
  const n = x.length;
  const k = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    k[i]![i] = signal;
    for (let j = 0; j < i; j++) {
      const value = signal * matern52(scaledDistance2(x[i]!, x[j]!, inverseSq));
      k[i]![j] = value;
      k[j]![i] = value;
    }
  }
  return k;
}

function withNoise(k: readonly (readonly number[])[], noise: number): number[][] {
  return k.map((row, i) => row.map((value, j) => (i === j ? value + noise : value)));
}

/** log N(value; centre, sd²) without its constant, and its derivative. */
function logPrior(value: number, centre: number, sd: number): { value: number; slope: number } {
  const z = (value - centre) / sd;
  return { value: -0.5 * z * z, slope: -z / sd };
}

/**
 * Log marginal likelihood of the data plus the log priors, and its gradient with respect to
 * [logLengthScales…, logSignal, logNoise]: ½·tr((ααᵀ − K⁻¹)·∂K) per hyperparameter.
 */
export function logPosterior(data: GpData, hp: GpHyperparameters): { value: number; gradient: number[] } {
  const n = data.y.length;
  const dims = hp.logLengthScales.length;
  const signalK = signalCovariance(data.x, hp);
  const noise = Math.exp(hp.logNoise);
  const l = choleskyWithJitter(withNoise(signalK, noise));
  const alpha = solveUpperTransposed(l, solveLower(l, data.y));
  let value = -0.5 * data.y.reduce((sum, y, i) => sum + y * alpha[i]!, 0) - 0.5 * n * Math.log(2 * Math.PI);
  for (let i = 0; i < n; i++) value -= Math.log(l[i]![i]!);
  const w = innerMatrix(l, alpha);
  const gradient = new Array<number>(dims + 2).fill(0);
  const inverseSq = inverseSquaredScales(hp);
  const signal = Math.exp(hp.logSignal);
  for (let i = 0; i < n; i++) {
    gradient[dims + 1] = gradient[dims + 1]! + 0.5 * w[i]![i]! * noise;
    gradient[dims] = gradient[dims]! + 0.5 * w[i]![i]! * signal;
    // W and ∂K are symmetric: each pair i > j counts twice.
    for (let j = 0; j < i; j++) {
      const wij = w[i]![j]!;
      gradient[dims] = gradient[dims]! + wij * signalK[i]![j]!;
      const r = Math.sqrt(scaledDistance2(data.x[i]!, data.x[j]!, inverseSq));
      // ∂K/∂log ℓk = s²·(5/3)(1 + √5 r)·e^{−√5 r}·Δk²/ℓk²
      const common = wij * signal * (5 / 3) * (1 + SQRT5 * r) * Math.exp(-SQRT5 * r);
      for (let k = 0; k < dims; k++) {
        const delta = data.x[i]![k]! - data.x[j]![k]!;
        gradient[k] = gradient[k]! + common * delta * delta * inverseSq[k]!;
      }
    }
  }
  return addPriors(hp, value, gradient);
}

function addPriors(hp: GpHyperparameters, value: number, gradient: number[]): { value: number; gradient: number[] } {
  const dims = hp.logLengthScales.length;
  const terms = [
    ...hp.logLengthScales.map((log) => logPrior(log, PRIOR.logLengthScale, PRIOR_SD.logLengthScale)),
    logPrior(hp.logSignal, PRIOR.logSignal, PRIOR_SD.logSignal),
    logPrior(hp.logNoise, PRIOR.logNoise, PRIOR_SD.logNoise),
  ];
  for (let i = 0; i < dims + 2; i++) {
    value += terms[i]!.value;
    gradient[i] = gradient[i]! + terms[i]!.slope;
  }
  return { value, gradient };
}

/** W = ααᵀ − K⁻¹, from the Cholesky factor of K. */
function innerMatrix(l: readonly (readonly number[])[], alpha: readonly number[]): number[][] {
  const n = alpha.length;
  // Columns of L⁻¹, then K⁻¹ = L⁻ᵀL⁻¹.
  const inverseL = Array.from({ length: n }, (_, j) => solveLower(l, unitVector(n, j)));
  const w = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let kInverse = 0;
      for (let m = i; m < n; m++) kInverse += inverseL[i]![m]! * inverseL[j]![m]!;
      const value = alpha[i]! * alpha[j]! - kInverse;
      w[i]![j] = value;
      w[j]![i] = value;
    }
  }
  return w;
}

function unitVector(n: number, at: number): number[] {
  const v = new Array<number>(n).fill(0);
  v[at] = 1;
  return v;
}

function toVector(hp: GpHyperparameters): number[] {
  return [...hp.logLengthScales, hp.logSignal, hp.logNoise];
}

function fromVector(theta: readonly number[]): GpHyperparameters {
  const dims = theta.length - 2;
  return { logLengthScales: theta.slice(0, dims), logSignal: theta[dims]!, logNoise: theta[dims + 1]! };
}

function boundsOf(dims: number): [number, number][] {
  const b = HYPERPARAMETER_BOUNDS;
  return [
    ...Array.from({ length: dims }, (): [number, number] => [b.logLengthScale[0], b.logLengthScale[1]]),
    [b.logSignal[0], b.logSignal[1]],
    [b.logNoise[0], b.logNoise[1]],
  ];
}

export interface GpFit {
  readonly hyperparameters: GpHyperparameters;
  readonly logPosterior: number;
  /** Log-posterior evaluations spent (the cost of a fit: each is one O(n³) factorisation). */
  readonly evaluations: number;
}

/**
 * Maximises {@link logPosterior} from each start with `iterations` steps of iRprop⁻ inside
 * {@link HYPERPARAMETER_BOUNDS}, and returns the best point seen. Deterministic.
 */
export function fitHyperparameters(data: GpData, starts: readonly GpHyperparameters[], iterations: number): GpFit {
  let best: GpFit | undefined;
  let evaluations = 0;
  for (const start of starts) {
    const bounds = boundsOf(start.logLengthScales.length);
    let theta = toVector(start).map((value, i) => clampTo(value, bounds[i]!));
    let steps = theta.map(() => 0.1);
    let previous = theta.map(() => 0);
    for (let iteration = 0; iteration <= iterations; iteration++) {
      const { value, gradient } = logPosterior(data, fromVector(theta));
      evaluations++;
      if (!best || value > best.logPosterior)
        best = { hyperparameters: fromVector(theta), logPosterior: value, evaluations };
      if (iteration === iterations) break;
      const next = rpropStep(theta, gradient, previous, steps, bounds);
      [theta, previous, steps] = [next.theta, next.gradient, next.steps];
    }
  }
  if (!best) throw new RangeError('fitHyperparameters: at least one start is needed');
  return { ...best, evaluations };
}

/** One iRprop⁻ ascent step: per coordinate, grow the step while the gradient keeps its sign, halve it on a flip. */
function rpropStep(
  theta: readonly number[],
  gradient: readonly number[],
  previous: readonly number[],
  steps: readonly number[],
  bounds: readonly [number, number][],
): { theta: number[]; gradient: number[]; steps: number[] } {
  const nextSteps = [...steps];
  const nextGradient = [...gradient];
  const nextTheta = [...theta];
  for (let i = 0; i < theta.length; i++) {
    const product = gradient[i]! * previous[i]!;
    if (product > 0) nextSteps[i] = Math.min(steps[i]! * 1.2, 1);
    else if (product < 0) {
      nextSteps[i] = Math.max(steps[i]! * 0.5, 1e-4);
      nextGradient[i] = 0;
    }
    nextTheta[i] = clampTo(theta[i]! + Math.sign(nextGradient[i]!) * nextSteps[i]!, bounds[i]!);
  }
  return { theta: nextTheta, gradient: nextGradient, steps: nextSteps };
}

function clampTo(value: number, [low, high]: readonly [number, number]): number {
  return Math.min(high, Math.max(low, value));
}

/** A fitted GP conditioned on its data: posterior of the latent function at new points. */
export interface GpPosterior {
  /** Posterior mean and variance (of the noise-free function) at `point`. */
  predict(point: readonly number[]): { mean: number; variance: number };
  /** Posterior means at the training inputs. */
  readonly trainingMeans: readonly number[];
}

export function conditionGp(data: GpData, hp: GpHyperparameters): GpPosterior {
  const signalK = signalCovariance(data.x, hp);
  const noise = Math.exp(hp.logNoise);
  const l = choleskyWithJitter(withNoise(signalK, noise));
  const alpha = solveUpperTransposed(l, solveLower(l, data.y));
  const inverseSq = inverseSquaredScales(hp);
  const signal = Math.exp(hp.logSignal);
  const trainingMeans = signalK.map((row) => row.reduce((sum, value, j) => sum + value * alpha[j]!, 0));
  return {
    trainingMeans,
    predict(point) {
      const kStar = data.x.map((xi) => signal * matern52(scaledDistance2(point, xi, inverseSq)));
      const mean = kStar.reduce((sum, value, j) => sum + value * alpha[j]!, 0);
      const v = solveLower(l, kStar);
      const variance = Math.max(1e-12, signal - v.reduce((sum, value) => sum + value * value, 0));
      return { mean, variance };
    },
  };
}
