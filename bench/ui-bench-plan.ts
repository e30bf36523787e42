/**
 * The UI benchmark's run (bench/ui-bench.ts): `start` → 20 parallel stages → `gate` (fails with
 * onFailure: pause, so the run waits there) → the rest in layers of 20, each stage needing two of
 * the layer before. Pure: the benchmark and the README screenshots' layout check share it.
 */
import { topologicalLevels } from '../src/core/spec/dag';
import type { Plan, PlannedStage } from '../src/core/spec/plan-types';

const WIDTH = 20;

/** A run of `stageCount` stages on `pool`: stage types `bench-noop` and `bench-gate`. */
export function gatedPlan(stageCount: number, pool: string): Plan {
  const stage = (id: string, uses: string, needs: string[], onFailure: 'fail' | 'pause' = 'fail'): PlannedStage => ({
    id,
    uses,
    typeVersion: '1.0.0',
    with: {},
    needs,
    pool,
    timeoutMs: 60_000,
    retry: { maxAttempts: 1, initialIntervalMs: 100, backoffCoefficient: 1, maximumIntervalMs: 100 },
    onFailure,
    cache: { enabled: false },
  });
  const fanned = Array.from({ length: WIDTH }, (_, i) => `a${i}`);
  const stages: PlannedStage[] = [
    stage('start', 'bench-noop', []),
    ...fanned.map((id) => stage(id, 'bench-noop', ['start'])),
    stage('gate', 'bench-gate', fanned, 'pause'),
  ];
  for (let n = 0; stages.length < stageCount; n++) {
    const layer = Math.floor(n / WIDTH);
    const i = n % WIDTH;
    const needs = layer === 0 ? ['gate', `a${i}`] : [`l${layer - 1}-${i}`, `l${layer - 1}-${(i + 1) % WIDTH}`];
    stages.push(stage(`l${layer}-${i}`, 'bench-noop', needs));
  }
  // The last layer may be partial: a stage of it may need one that does not exist.
  const ids = new Set(stages.map((s) => s.id));
  const complete = stages.map((s) => ({ ...s, needs: s.needs.filter((d) => ids.has(d)) }));
  const { levels } = topologicalLevels(
    complete.map((s) => s.id),
    new Map(complete.map((s) => [s.id, s.needs])),
  );
  return {
    apiVersion: 'fineflow/v1',
    pipeline: { name: 'bench-ui' },
    params: {},
    stages: complete,
    levels,
    triggers: [],
  };
}
