/** Learning rate at a step of a phase: linear warmup, then the configured decay. */
import type { LearningRateDecay } from './types';

export interface ScheduleInput {
  readonly baseRate: number;
  readonly step: number;
  readonly stepsPerEpoch: number;
  readonly totalEpochs: number;
  readonly warmupEpochs?: number;
  readonly decay?: LearningRateDecay;
}

/** Cosine ends at this fraction of the base rate when no `minLearningRate` is given. */
const DEFAULT_COSINE_FLOOR = 0.01;

/**
 * The rate at `input.step`. Warmup rises from `baseRate / warmupSteps` to `baseRate` and ignores
 * the floor; after it the decay never goes below `decay.minLearningRate`, which is capped at
 * `baseRate` (a phase with a lower base rate, e.g. the second of two, is not raised by it).
 */
export function learningRateAt(input: ScheduleInput): number {
  const warmupSteps = Math.round((input.warmupEpochs ?? 0) * input.stepsPerEpoch);
  if (input.step < warmupSteps) return (input.baseRate * (input.step + 1)) / warmupSteps;
  const decay = input.decay ?? { kind: 'none' };
  if (decay.kind === 'none') return input.baseRate;
  const epoch = input.step / input.stepsPerEpoch;
  const floor = Math.min(
    input.baseRate,
    decay.minLearningRate ?? (decay.kind === 'cosine' ? input.baseRate * DEFAULT_COSINE_FLOOR : 0),
  );
  switch (decay.kind) {
    case 'cosine': {
      const totalSteps = Math.max(1, input.totalEpochs * input.stepsPerEpoch - warmupSteps);
      const progress = Math.min(1, (input.step - warmupSteps) / totalSteps);
      return floor + (input.baseRate - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
    case 'exponential':
      return Math.max(floor, input.baseRate * decay.rate ** epoch);
    case 'step':
      return Math.max(floor, input.baseRate * decay.factor ** Math.floor(epoch / Math.max(1, decay.everyEpochs)));
  }
}
