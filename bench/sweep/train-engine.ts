/**
 * The engine every bench curve is trained with (trials in ./trial-evaluator.ts, the CNN's base model in
 * ./objectives.ts), required rather than preferred: `auto` fell back to the eager engine without a word when the
 * graph addon was missing (a bench snapshot made before set-up restored it), and the two engines give one
 * configuration two curves (same loss, other floats). Without the addon the bench stops with trainModel's reason;
 * `npm run setup:tf` builds it. Its own module so both can import it without an import cycle.
 */
export const BENCH_TRAIN_ENGINE = 'graph';
