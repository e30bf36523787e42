/** A minimal valid plan for schedule tests: one stage, one param, a schedule and triggers as given. */
import type { JsonObject, Plan } from '../../../src/core/spec/plan-types';

export function planWith(
  options: {
    name?: string;
    schedule?: JsonObject;
    triggers?: JsonObject[];
    params?: Record<string, string | number>;
  } = {},
): Plan {
  const params = options.params ?? { dataset: 's3://datasets/defects/', minAccuracy: 0.9 };
  return {
    apiVersion: 'fineflow/v1',
    pipeline: { name: options.name ?? 'defects' },
    source: 'pipelines/defects.yaml',
    params: Object.fromEntries(
      Object.entries(params).map(
        ([name, value]) => [name, { type: typeof value === 'number' ? 'number' : 'string', value }] as const,
      ),
    ),
    stages: [
      {
        id: 'echo',
        uses: 'test-echo',
        typeVersion: '1',
        with: { message: '${{ params.minAccuracy }}' },
        needs: [],
        pool: 'cpu',
        timeoutMs: 60_000,
        retry: { maxAttempts: 1, initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 10_000 },
        onFailure: 'fail',
        cache: { enabled: false },
      },
    ],
    levels: [['echo']],
    ...(options.schedule ? { schedule: options.schedule } : {}),
    triggers: options.triggers ?? [],
  };
}
