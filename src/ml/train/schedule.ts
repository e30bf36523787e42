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

export function learningRateAt(input: ScheduleInput): number {
  const warmupSteps = Math.round((input.warmupEpochs ?? 0) * input.stepsPerEpoch);
  if (input.step < warmupSteps) return (input.baseRate * (input.step + 1)) / warmupSteps;
  const decay = input.decay ?? { kind: 'none' };
  const epoch = input.step / input.stepsPerEpoch;
  switch (decay.kind) {
    case 'none':
      return input.baseRate;
    case 'cosine': {
      const totalSteps = Math.max(1, input.totalEpochs * input.stepsPerEpoch - warmupSteps);
      const progress = Math.min(1, (input.step - warmupSteps) / totalSteps);
      const floor = input.baseRate * 0.01;
      return floor + (input.baseRate - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
    case 'exponential':
      return input.baseRate * decay.rate ** epoch;
    case 'step':
      return input.baseRate * decay.factor ** Math.floor(epoch / Math.max(1, decay.everyEpochs));
  }
}
