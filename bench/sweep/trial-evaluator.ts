/**
 * Validation accuracy of one (objective, configuration, seed) after a given epoch, trained by
 * Fineflow's `trainModel` and cached.
 *
 * Why caching is fair: a trial's training is a deterministic function of its request (objective
 * data and base model, hyperparameters, the seed that drives initialisation and shuffling), and
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
 * could use besides accuracy can be studied from the cache without training again; the bench
 * itself reads only the accuracy.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../../src/canonical-json';
import type { ParameterValues } from '../../src/core/sweep/space';
import { trainModel } from '../../src/ml/train/fine-tune';
import type { ObjectStore } from '../../src/storage/object-store';
import type { BenchObjective, PreparedObjective } from './objectives';

/** One line of the curve cache (`curves.jsonl`). */
export interface CachedCurve {
  readonly key: string;
  /** Validation accuracy after each epoch (index 0 = epoch 1). */
  readonly curve: number[];
  /** Validation loss after each epoch, beside `curve`; null where training reported none. Absent on older lines. */
  readonly validationLoss?: (number | null)[];
}

/** The lines of a curve cache file, in the order written; throws naming the file and line when one is not a curve. */
export function readCurveCache(file: string): CachedCurve[] {
  const entries: CachedCurve[] = [];
  for (const [index, line] of readFileSync(file, 'utf8').split('\n').entries()) {
    if (line.trim() === '') continue;
    const where = `${file}:${index + 1}`;
    let entry: Partial<CachedCurve>;
    try {
      entry = JSON.parse(line) as Partial<CachedCurve>;
    } catch (error) {
      throw new SyntaxError(`${where}: not JSON (${(error as Error).message}); delete the line or the file to retrain`);
    }
    // null in a curve: a value JSON could not hold (NaN); read back as before this check existed.
    if (
      typeof entry.key !== 'string' ||
      !Array.isArray(entry.curve) ||
      !entry.curve.every((value) => value === null || typeof value === 'number')
    )
      throw new TypeError(
        `${where}: a curve line needs "key" (string) and "curve" (numbers); delete the line to retrain it`,
      );
    if (
      entry.validationLoss !== undefined &&
      (!Array.isArray(entry.validationLoss) ||
        entry.validationLoss.length !== entry.curve.length ||
        !entry.validationLoss.every((loss) => loss === null || Number.isFinite(loss)))
    )
      throw new TypeError(
        `${where}: "validationLoss" must be numbers or null, one per epoch of "curve"; delete the line to retrain it`,
      );
    entries.push(entry as CachedCurve);
  }
  return entries;
}

export interface EvaluatorStats {
  /** Epoch values answered. */
  requests: number;
  /** Epochs actually trained (the rest came from the cache). */
  epochsTrained: number;
  /** Configurations trained (one trainModel call each). */
  trials: number;
  trainingSeconds: number;
}

export class TrialEvaluator {
  private readonly curves = new Map<string, number[]>();
  readonly stats: EvaluatorStats = { requests: 0, epochsTrained: 0, trials: 0, trainingSeconds: 0 };

  constructor(
    private readonly objective: BenchObjective,
    private readonly prepared: PreparedObjective,
    private readonly store: ObjectStore,
    /** JSON-lines file the curves persist in; undefined = memory only. */
    private readonly cacheFile?: string,
  ) {
    if (cacheFile && existsSync(cacheFile)) {
      for (const entry of readCurveCache(cacheFile)) {
        const known = this.curves.get(entry.key);
        if (!known || known.length < entry.curve.length) this.curves.set(entry.key, entry.curve);
      }
    }
  }

  /** Validation accuracy after `epoch` (1-based) of `params` trained with `seed`. */
  async valueAt(params: ParameterValues, seed: number, epoch: number): Promise<number> {
    if (!Number.isInteger(epoch) || epoch < 1 || epoch > this.objective.epochsPerTrial)
      throw new RangeError(`epoch ${epoch} is outside 1..${this.objective.epochsPerTrial}`);
    this.stats.requests++;
    const key = canonicalJson([this.objective.id, this.objective.version, params, seed]);
    let curve = this.curves.get(key);
    if (!curve || curve.length < this.objective.epochsPerTrial) {
      const trained = await this.train(params, seed);
      curve = trained.curve;
      this.curves.set(key, curve);
      if (this.cacheFile) {
        mkdirSync(path.dirname(this.cacheFile), { recursive: true });
        const line: CachedCurve = { key, curve, validationLoss: trained.validationLoss };
        appendFileSync(this.cacheFile, `${JSON.stringify(line)}\n`);
      }
    }
    return curve[epoch - 1] as number;
  }

  /** Validation accuracy and loss after every epoch of the trial budget. */
  private async train(
    params: ParameterValues,
    seed: number,
  ): Promise<{ curve: number[]; validationLoss: (number | null)[] }> {
    const request = this.objective.request(this.prepared, params, seed, 's3://bench/trial/model');
    const curve: number[] = [];
    const validationLoss: (number | null)[] = [];
    const started = performance.now();
    await trainModel(this.store, request, {
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
    return { curve, validationLoss };
  }
}
