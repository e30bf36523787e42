/**
 * Stage types that exist only to test the runtime: each has a spec definition (so pipelines
 * using it validate) and an implementation (so workers run it). Load both with
 * `fineflow worker --stage-module test/stage-types/index.ts` and
 * `loadStageTypeModules(['…/test/stage-types'])` (or `registerTestStageTypes()` in-process).
 *
 * | type | does |
 * |---|---|
 * | test-noop | returns `{}` at once (the orchestration benchmark's stage) |
 * | test-echo | returns `{value}`; with `sleepMs` it sleeps first, heartbeating progress in `steps` (writing each step to the store with `storeSteps`, logging it with `logSteps`) |
 * | test-flaky | fails its first `failTimes` attempts (retryable, its own fault; with `outage`, as a dependency outage the run rides out), then succeeds |
 * | test-invalid | always fails with InvalidInputError (non-retryable) |
 * | test-fail-until-param | fails (non-retryable) unless `value` equals `expected` |
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DependencyUnavailableError, InternalError, InvalidInputError } from '../../src/core/errors';
import type { JsonObject, JsonValue } from '../../src/core/spec/plan-types';
import { registerStageType, type StageTypeDefinition } from '../../src/spec/stage-types';
import type { StageImplementation } from '../../activities/stage-runner';

const timingOutputs = {
  value: { type: 'any', description: 'the `value` input, unchanged' },
  startedAt: { type: 'number', description: 'epoch ms when the attempt started' },
  endedAt: { type: 'number', description: 'epoch ms when the attempt ended' },
  pid: { type: 'integer', description: 'process id of the worker that ran it' },
  attempt: { type: 'integer', description: 'attempt within the run' },
} as const;

export const stageTypes: readonly StageTypeDefinition[] = [
  {
    name: 'test-noop',
    version: '1.0.0',
    description: 'Does nothing; measures orchestration overhead.',
    inputs: { type: 'object', properties: { index: { type: 'integer', description: 'position in a benchmark' } } },
    outputs: {},
  },
  {
    name: 'test-echo',
    version: '1.0.0',
    description: 'Returns its value, optionally after sleeping with progress heartbeats.',
    inputs: {
      type: 'object',
      properties: {
        value: { type: 'any', description: 'returned as output `value`' },
        sleepMs: { type: 'integer', minimum: 0, default: 0, description: 'sleep before returning' },
        steps: { type: 'integer', minimum: 1, default: 4, description: 'progress reports while sleeping' },
        storeSteps: {
          type: 'boolean',
          default: false,
          description: 'write each step to the object store (fails while it is down)',
        },
        logSteps: { type: 'boolean', default: false, description: 'log a `step N/M` line at each step' },
        failAtEnd: { type: 'boolean', default: false, description: 'fail (non-retryable) instead of returning' },
      },
    },
    outputs: timingOutputs,
  },
  {
    name: 'test-flaky',
    version: '1.0.0',
    description: 'Fails its first `failTimes` attempts with a retryable error, then succeeds.',
    inputs: {
      type: 'object',
      properties: {
        failTimes: { type: 'integer', minimum: 0, description: 'attempts that fail' },
        value: { type: 'any', description: 'returned on success' },
        outage: {
          type: 'boolean',
          default: false,
          description: 'fail as a dependency outage (the run waits and starts the stage again), not as its own fault',
        },
      },
      required: ['failTimes'],
    },
    outputs: timingOutputs,
  },
  {
    name: 'test-invalid',
    version: '1.0.0',
    description: 'Always fails with a non-retryable invalid-input error.',
    inputs: { type: 'object', properties: { value: { type: 'any', description: 'ignored' } } },
    outputs: timingOutputs,
  },
  {
    name: 'test-fail-until-param',
    version: '1.0.0',
    description: 'Fails (non-retryable) unless `value` equals `expected`; fixed by `fineflow retry --set`.',
    inputs: {
      type: 'object',
      properties: {
        value: { type: 'any', description: 'usually a `${{ params.x }}`' },
        expected: { type: 'any', description: 'what value must be' },
      },
      required: ['value', 'expected'],
    },
    outputs: timingOutputs,
  },
];

function timing(inputs: JsonObject, startedAt: number, attempt: number): JsonObject {
  return { value: inputs.value ?? null, startedAt, endedAt: Date.now(), pid: process.pid, attempt };
}

const noop: StageImplementation = async () => ({ outputs: {} });

const echo: StageImplementation = async ({ inputs, context }, runtime) => {
  const startedAt = Date.now();
  const sleepMs = typeof inputs.sleepMs === 'number' ? inputs.sleepMs : 0;
  const steps = typeof inputs.steps === 'number' ? inputs.steps : 4;
  runtime.log(`sleeping ${sleepMs} ms in ${steps} steps (pid ${process.pid})`);
  for (let step = 1; sleepMs > 0 && step <= steps; step++) {
    await sleep(sleepMs / steps, undefined, { signal: runtime.signal });
    if (inputs.storeSteps === true)
      await runtime.store.putBytes(
        `${context.outputPrefix}step-${step}.txt`,
        `attempt ${runtime.attempt} step ${step}\n`,
      );
    if (inputs.logSteps === true) runtime.log(`step ${step}/${steps}`);
    // `reportEpochs`: each step reports as a training epoch would (epoch, samples/s), for the metrics tests.
    const training: JsonObject =
      inputs.reportEpochs === true ? { epoch: step, samplesPerSecond: (1000 * steps) / sleepMs } : {};
    runtime.heartbeat({
      message: `step ${step}/${steps}`,
      fraction: step / steps,
      detail: { step, pid: process.pid, ...training },
    });
  }
  if (inputs.failAtEnd === true)
    throw new InvalidInputError(
      `failed at the end as asked (${JSON.stringify(timing(inputs, startedAt, runtime.attempt))})`,
      {
        code: 'test-fail-at-end',
      },
    );
  return { outputs: timing(inputs, startedAt, runtime.attempt) };
};

const flaky: StageImplementation = async ({ inputs }, runtime) => {
  const startedAt = Date.now();
  const failTimes = Number(inputs.failTimes);
  if (runtime.attempt <= failTimes) {
    runtime.log(`failing attempt ${runtime.attempt} of ${failTimes} planned failures`);
    const message = `planned failure ${runtime.attempt}/${failTimes}`;
    if (inputs.outage === true) throw new DependencyUnavailableError(message, { attempt: runtime.attempt });
    throw new InternalError(message, { attempt: runtime.attempt });
  }
  return { outputs: timing(inputs, startedAt, runtime.attempt) };
};

const invalid: StageImplementation = async ({ inputs }, runtime) => {
  runtime.log('rejecting the input');
  throw new InvalidInputError(`test-invalid never accepts its input (${JSON.stringify(inputs.value ?? null)})`, {
    code: 'test-invalid',
  });
};

const failUntilParam: StageImplementation = async ({ inputs }, runtime) => {
  const startedAt = Date.now();
  const same = JSON.stringify(inputs.value as JsonValue) === JSON.stringify(inputs.expected as JsonValue);
  if (!same)
    throw new InvalidInputError(
      `value ${JSON.stringify(inputs.value)} is not the expected ${JSON.stringify(inputs.expected)}`,
      { code: 'test-unexpected-value' },
    );
  return { outputs: timing(inputs, startedAt, runtime.attempt) };
};

/** Implementations by type name: what `fineflow worker --stage-module` registers. */
export const stages: { readonly [typeName: string]: StageImplementation } = {
  'test-noop': noop,
  'test-echo': echo,
  'test-flaky': flaky,
  'test-invalid': invalid,
  'test-fail-until-param': failUntilParam,
};

/** Register the spec definitions in this process (idempotent). */
export function registerTestStageTypes(): void {
  for (const definition of stageTypes) registerStageType(definition);
}
