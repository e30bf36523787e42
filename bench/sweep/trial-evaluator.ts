/**
 * Validation accuracy of one (objective, configuration, seed) after a given epoch, trained by
 * Fineflow's `trainModel` and cached.
 *
 * Why caching is fair: a trial's training is a deterministic function of its request (objective
 * data and base model, hyperparameters, the seed that drives initialisation and shuffling) and the
 * training engine (so the engine is fixed: {@link BENCH_TRAIN_ENGINE}), and
 * stopping a trial after k epochs leaves its first k epochs unchanged. So the curve of a
 * configuration is computed once and every method that asks for it — in any run, at any epoch —
 * is charged the epochs it asked for, exactly as if it had trained them itself; the cache saves
 * CPU, never epochs. Every method uses the sweep's seed as the training seed of all its trials,
 * so two methods that try the same configuration under the same seed face the same outcome
 * (the same "luck"), and the 20 seeds are 20 draws of that luck.
 *
 * A configuration is trained once for the whole trial budget, in one `trainModel` call, even
 * when the method that asked stops it after one epoch: on these tiny problems the call's set-up
 * (reading the data, building the model, compiling the training graph) costs more CPU than all
 * its epochs, so training in segments (resuming from checkpoints at the rungs) cost more, not
 * less. Curves persist on disk (one JSON line per configuration) so a later run of the bench
 * trains only what it has not seen. Each line also keeps the validation loss after every epoch
 * (`validationLoss`, optional: lines written before it was recorded have none), so signals a pruner
 * could use besides accuracy can be studied from the cache without training again; the bench's methods
 * read the accuracy, and those with ASHA's `lossAtRungs` also the loss ({@link TrialEvaluator.lossAt}).
 *
 * Several bench processes share one cache file (./curve-cache.ts has the rules): a key's curve is the first line
 * written with the full budget, a process picks up the lines others appended before it trains a key and adopts one
 * that arrived while it trained, and every line records the engine that trained it ({@link BENCH_TRAIN_ENGINE}).
 */
import type { ParameterValues } from '../../src/core/sweep/space';
import { canonicalJson } from '../../src/canonical-json';
import { trainModel } from '../../src/ml/train/fine-tune';
import type { ObjectStore } from '../../src/storage/object-store';
import { CurveCacheFile, type CachedCurve } from './curve-cache';
import type { BenchObjective, PreparedObjective } from './objectives';
import { BENCH_TRAIN_ENGINE } from './train-engine';

export { readCurveCache, type CachedCurve } from './curve-cache';
export { BENCH_TRAIN_ENGINE } from './train-engine';

export interface EvaluatorStats {
  /** Epoch values answered. */
  requests: number;
  /** Epochs actually trained (the rest came from the cache). */
  epochsTrained: number;
  /** Configurations trained (one trainModel call each). */
  trials: number;
  /** Configurations this process trained but another bench process had written first: its curve was used. */
  adopted: number;
  trainingSeconds: number;
}

export class TrialEvaluator {
  private readonly curves = new Map<string, number[]>();
  /** Validation loss per epoch of the curves in {@link curves} (null: not finite, or a line written without it). */
  private readonly losses = new Map<string, readonly (number | null)[]>();
  private readonly cache: CurveCacheFile | undefined;
  readonly stats: EvaluatorStats = { requests: 0, epochsTrained: 0, trials: 0, adopted: 0, trainingSeconds: 0 };

  constructor(
    private readonly objective: BenchObjective,
    private readonly prepared: PreparedObjective,
    private readonly store: ObjectStore,
    /** JSON-lines file the curves persist in; undefined = memory only. */
    cacheFile?: string,
  ) {
    this.cache = cacheFile ? new CurveCacheFile(cacheFile) : undefined;
  }

  /** The full-budget curve of `key` this process knows, or that another process has written since. */
  private known(key: string): number[] | undefined {
    const full = (curve: number[] | undefined) =>
      curve && curve.length >= this.objective.epochsPerTrial ? curve : undefined;
    const own = full(this.curves.get(key));
    if (own || !this.cache) return own;
    this.cache.refresh();
    const line = this.cache.get(key);
    if (full(line?.curve) && line?.validationLoss) this.losses.set(key, line.validationLoss);
    return full(line?.curve);
  }

  private key(params: ParameterValues, seed: number): string {
    return canonicalJson([this.objective.id, this.objective.version, params, seed]);
  }

  /** Validation accuracy after `epoch` (1-based) of `params` trained with `seed`. */
  async valueAt(params: ParameterValues, seed: number, epoch: number): Promise<number> {
    if (!Number.isInteger(epoch) || epoch < 1 || epoch > this.objective.epochsPerTrial)
      throw new RangeError(`epoch ${epoch} is outside 1..${this.objective.epochsPerTrial}`);
    this.stats.requests++;
    const key = this.key(params, seed);
    let curve = this.known(key);
    if (!curve) {
      const trained = await this.train(params, seed);
      const line: CachedCurve = { key, ...trained };
      // Another bench process may have written this key while this one trained: every reader uses its line.
      const used = this.cache ? this.cache.record(line) : line;
      if (used !== line) this.stats.adopted++;
      curve = used.curve;
      if (used.validationLoss) this.losses.set(key, used.validationLoss);
    }
    this.curves.set(key, curve);
    return curve[epoch - 1] as number;
  }

  /**
   * Validation loss after `epoch` of a configuration whose value at that epoch was asked for ({@link valueAt} trains
   * it); undefined when not finite or its cache line has none. Asks for no epoch: {@link valueAt} charged it.
   */
  lossAt(params: ParameterValues, seed: number, epoch: number): number | undefined {
    const loss = this.losses.get(this.key(params, seed))?.[epoch - 1];
    return loss === null || loss === undefined ? undefined : loss;
  }

  /** Validation accuracy and loss after every epoch of the trial budget. */
  private async train(
    params: ParameterValues,
    seed: number,
  ): Promise<Pick<CachedCurve, 'curve' | 'validationLoss' | 'engine'> & { validationLoss: (number | null)[] }> {
    const request = {
      ...this.objective.request(this.prepared, params, seed, 's3://bench/trial/model'),
      engine: BENCH_TRAIN_ENGINE,
    } as const;
    const curve: number[] = [];
    const validationLoss: (number | null)[] = [];
    const started = performance.now();
    const result = await trainModel(this.store, request, {
      onEpoch: (progress) => {
        curve[progress.epoch - 1] = progress.metrics.validationAccuracy ?? 0;
        // A diverged run reports NaN or Infinity; JSON has no such numbers, so they are kept as null.
        const loss = progress.metrics.validationLoss;
        validationLoss[progress.epoch - 1] = loss !== undefined && Number.isFinite(loss) ? loss : null;
      },
    });
    this.stats.trials++;
    this.stats.epochsTrained += curve.length;
    this.stats.trainingSeconds += (performance.now() - started) / 1000;
    return { curve, validationLoss, engine: result.engine };
  }
}
