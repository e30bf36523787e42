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
import { createHash } from 'node:crypto';
import type { ParameterValues } from '../../src/core/sweep/space';
import { canonicalJson } from '../../src/canonical-json';
import { checkpointDirectory, listCheckpointEpochs } from '../../src/ml/train/checkpoint';
import { trainModel } from '../../src/ml/train/fine-tune';
import type { TrainingRequest } from '../../src/ml/train/types';
import type { ObjectStore } from '../../src/storage/object-store';
import { CurveCacheFile, type CachedCurve } from './curve-cache';
import type { BenchObjective, PreparedObjective } from './objectives';
import { BENCH_TRAIN_ENGINE } from './train-engine';
import type { LineageStep } from './inherit';

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
   * Validation accuracy after `epoch` of a lineage (./inherit.ts): its first segment trained from the start, each
   * later one from the checkpoint the previous segments reached at its `fromEpoch`, with its own hyperparameters.
   * A one-segment lineage is a plain trial ({@link valueAt}, the same cache line). A lineage's curve holds the
   * inherited epochs' values too, so it is a full-budget line like any other; its key names every segment.
   */
  async lineageValueAt(lineage: readonly LineageStep[], seed: number, epoch: number): Promise<number> {
    const last = lineage[lineage.length - 1];
    if (!last) throw new RangeError('a lineage has at least one segment');
    if (lineage.length === 1) return this.valueAt(last.params, seed, epoch);
    if (!Number.isInteger(epoch) || epoch <= last.fromEpoch || epoch > this.objective.epochsPerTrial)
      throw new RangeError(`epoch ${epoch} is outside ${last.fromEpoch + 1}..${this.objective.epochsPerTrial}`);
    this.stats.requests++;
    const key = this.lineageKey(lineage, seed);
    let curve = this.known(key);
    if (!curve) {
      const line: CachedCurve = { key, ...(await this.trainLineage(lineage, seed)) };
      const used = this.cache ? this.cache.record(line) : line;
      if (used !== line) this.stats.adopted++;
      curve = used.curve;
    }
    this.curves.set(key, curve);
    return curve[epoch - 1] as number;
  }

  private lineageKey(lineage: readonly LineageStep[], seed: number): string {
    if (lineage.length === 1) return this.key((lineage[0] as LineageStep).params, seed);
    return canonicalJson([
      this.objective.id,
      this.objective.version,
      'lineage',
      lineage.map((step) => [step.params, step.fromEpoch]),
      seed,
    ]);
  }

  /** Where a lineage's checkpoints live in the evaluator's store (every epoch's, so any point can be inherited). */
  private checkpointPrefix(lineage: readonly LineageStep[], seed: number): string {
    const digest = createHash('sha256').update(this.lineageKey(lineage, seed)).digest('hex').slice(0, 32);
    return `s3://bench/lineages/${digest}`;
  }

  /**
   * Trains a lineage's last segment from its parent's checkpoint, training the parent again (with checkpoints) when
   * this process does not hold that checkpoint: training is deterministic, so the parent's weights are the ones its
   * cached curve came from.
   */
  private async trainLineage(
    lineage: readonly LineageStep[],
    seed: number,
  ): Promise<Pick<CachedCurve, 'curve' | 'validationLoss' | 'engine'>> {
    const last = lineage[lineage.length - 1] as LineageStep;
    let inheritFrom: string | undefined;
    if (lineage.length > 1) {
      const parent = lineage.slice(0, -1);
      const prefix = this.checkpointPrefix(parent, seed);
      if (!(await listCheckpointEpochs(this.store, prefix)).includes(last.fromEpoch))
        await this.trainLineage(parent, seed);
      inheritFrom = checkpointDirectory(prefix, last.fromEpoch);
    }
    return this.trainCurve({
      ...this.objective.request(this.prepared, last.params, seed, 's3://bench/trial/model'),
      engine: BENCH_TRAIN_ENGINE,
      checkpoint: { uri: this.checkpointPrefix(lineage, seed), everyEpochs: 1 },
      ...(inheritFrom ? { inheritFrom } : {}),
    });
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
  private train(
    params: ParameterValues,
    seed: number,
  ): Promise<Pick<CachedCurve, 'curve' | 'validationLoss' | 'engine'>> {
    return this.trainCurve({
      ...this.objective.request(this.prepared, params, seed, 's3://bench/trial/model'),
      engine: BENCH_TRAIN_ENGINE,
    });
  }

  /**
   * One `trainModel` call: validation accuracy and loss after every epoch of its history (an inherited start's
   * epochs too), counting as trained only the epochs this call ran.
   */
  private async trainCurve(
    request: TrainingRequest,
  ): Promise<Pick<CachedCurve, 'curve' | 'validationLoss' | 'engine'>> {
    const curve: number[] = [];
    const validationLoss: (number | null)[] = [];
    const started = performance.now();
    const result = await trainModel(this.store, request);
    for (const metrics of result.epochs) {
      curve[metrics.epoch - 1] = metrics.validationAccuracy ?? 0;
      // A diverged run reports NaN or Infinity; JSON has no such numbers, so they are kept as null.
      const loss = metrics.validationLoss;
      validationLoss[metrics.epoch - 1] = loss !== undefined && Number.isFinite(loss) ? loss : null;
    }
    this.stats.trials++;
    this.stats.epochsTrained += result.epochs.length - result.resumedFromEpoch;
    this.stats.trainingSeconds += (performance.now() - started) / 1000;
    return { curve, validationLoss, engine: result.engine };
  }
}
