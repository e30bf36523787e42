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
 * trains only what it has not seen.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../../src/canonical-json';
import type { ParameterValues } from '../../src/core/sweep/space';
import { trainModel } from '../../src/ml/train/fine-tune';
import type { ObjectStore } from '../../src/storage/object-store';
import type { BenchObjective, PreparedObjective } from './objectives';

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
      for (const line of readFileSync(cacheFile, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        const entry = JSON.parse(line) as { key: string; curve: number[] };
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
      curve = await this.train(params, seed);
      this.curves.set(key, curve);
      if (this.cacheFile) {
        mkdirSync(path.dirname(this.cacheFile), { recursive: true });
        appendFileSync(this.cacheFile, `${JSON.stringify({ key, curve })}\n`);
      }
    }
    return curve[epoch - 1] as number;
  }

  /** Validation accuracy after every epoch of the trial budget. */
  private async train(params: ParameterValues, seed: number): Promise<number[]> {
    const request = this.objective.request(this.prepared, params, seed, 's3://bench/trial/model');
    const curve: number[] = [];
    const started = performance.now();
    await trainModel(this.store, request, {
      onEpoch: (progress) => {
        curve[progress.epoch - 1] = progress.metrics.validationAccuracy ?? 0;
      },
    });
    this.stats.trials++;
    this.stats.epochsTrained += curve.length;
    this.stats.trainingSeconds += (performance.now() - started) / 1000;
    return curve;
  }
}
