/**
 * Where an axis puts its ticks, for the evaluation report's SVG charts and the UI's uPlot charts alike: "nice"
 * values (1, 2 or 5 times a power of ten), never the evenly split range (an 80-epoch axis ticked at 1, 15, 29, …
 * or a loss axis at 0.08, 0.81, 1.53, …). Pure arithmetic, no DOM and no imports, so the UI bundle shares it.
 */

/** The most ticks any axis asks for: a bound on the loop below whatever range it is given. */
const MAX_TICKS = 50;

/**
 * The smallest step of 1, 2 or 5 × 10^k (at least 1 when `integer`) that puts at most `maxTicks` ticks on
 * [min, max].
 */
export function niceStep(min: number, max: number, maxTicks: number, integer = false): number {
  const span = Math.abs(max - min);
  const ticks = Math.max(2, Math.min(MAX_TICKS, Math.floor(maxTicks)));
  if (!Number.isFinite(span) || span === 0) return 1;
  let magnitude = 10 ** Math.floor(Math.log10(span / ticks));
  for (;;) {
    for (const factor of [1, 2, 5]) {
      const step = factor * magnitude;
      if ((integer && step < 1) || Math.floor(span / step) + 1 > ticks) continue;
      return step;
    }
    magnitude *= 10;
  }
}

/** The decimals that print every multiple of `step` exactly (0.2 → 1, 0.25 → 2, 5 → 0): one format per axis. */
export function tickDecimals(step: number): number {
  for (let decimals = 0; decimals < 12; decimals += 1) {
    const scaled = Math.abs(step) * 10 ** decimals;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return decimals;
  }
  return 12;
}

/** The multiples of `step` in [min, max], free of floating-point residue (0.30000000000000004). */
function multiples(min: number, max: number, step: number): number[] {
  const decimals = tickDecimals(step);
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k += 1)
    ticks.push(Number((k * step).toFixed(decimals)));
  return ticks;
}

/** At most `maxTicks` nice ticks inside [min, max] (the axis keeps its range: an epoch axis starts at epoch 1). */
export function niceTicks(min: number, max: number, maxTicks: number, integer = false): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max < min) return [];
  return multiples(min, max, niceStep(min, max, maxTicks, integer));
}

/** A value axis widened to whole steps, so its first and last ticks sit on its ends (loss 0.08…2.98 → 0…3). */
export function niceDomain(
  min: number,
  max: number,
  maxTicks: number,
): { readonly min: number; readonly max: number; readonly ticks: readonly number[] } {
  const step = niceStep(min, max, maxTicks - 1);
  const low = Math.floor(min / step + 1e-9) * step;
  const high = Math.ceil(max / step - 1e-9) * step;
  const ticks = multiples(low, high, step);
  return { min: ticks[0] ?? low, max: ticks[ticks.length - 1] ?? high, ticks };
}
