/** Planned stages and plans for the cache tests, shaped like the spec's output. */
import type { JsonObject, Plan, PlannedStage } from '../../../src/core/spec/plan-types';

export function plannedStage(
  id: string,
  uses: string,
  withValue: JsonObject,
  needs: readonly string[] = [],
  overrides: Partial<PlannedStage> = {},
): PlannedStage {
  return {
    id,
    uses,
    typeVersion: '1.0.0',
    with: withValue,
    needs: [...needs].sort(),
    pool: 'cpu',
    timeoutMs: 60_000,
    retry: { maxAttempts: 1, initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 10_000 },
    onFailure: 'fail',
    cache: { enabled: true },
    ...overrides,
  };
}

/**
 * select → (prepare) → finetune → evaluate → register, the DESIGN.md shape:
 * `prepare` has no upstream, `finetune` reads select + prepare, `evaluate` reads a param.
 */
export function designPlan(params: { readonly minAccuracy?: number; readonly epochs?: number } = {}): Plan {
  const stages: PlannedStage[] = [
    plannedStage('prepare', 'prepare-data', {
      source: '${{ params.dataset }}',
      format: 'image-folder',
      split: { train: 0.7, validation: 0.15, test: 0.15, seed: 7 },
    }),
    plannedStage('select', 'select-model', { candidates: ['registry://digits-cnn@latest'], rankBy: 'linear-probe' }),
    plannedStage(
      'finetune',
      'fine-tune',
      {
        model: '${{ stages.select.outputs.model }}',
        data: '${{ stages.prepare.outputs.dataset }}',
        epochs: params.epochs ?? 20,
      },
      ['prepare', 'select'],
    ),
    plannedStage(
      'evaluate',
      'evaluate',
      {
        model: '${{ stages.finetune.outputs.model }}',
        data: '${{ stages.prepare.outputs.dataset }}',
        gate: { metric: 'accuracy', min: '${{ params.minAccuracy }}' },
      },
      ['finetune', 'prepare'],
    ),
    plannedStage(
      'register',
      'register-model',
      { model: '${{ stages.finetune.outputs.model }}', name: 'defect-detector' },
      ['evaluate', 'finetune'],
      {
        when: '${{ stages.evaluate.outputs.passed }}',
      },
    ),
  ];
  return {
    apiVersion: 'fineflow/v1',
    pipeline: { name: 'defect-detector' },
    params: {
      dataset: { type: 'string', value: 's3://datasets/defects/' },
      minAccuracy: { type: 'number', value: params.minAccuracy ?? 0.9 },
    },
    stages,
    levels: [['prepare', 'select'], ['finetune'], ['evaluate'], ['register']],
    triggers: [],
  };
}

export function stageOf(plan: Plan, id: string): PlannedStage {
  const stage = plan.stages.find((s) => s.id === id);
  if (!stage) throw new Error(`fixture has no stage ${id}`);
  return stage;
}
