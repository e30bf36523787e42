import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePlan, validatePipeline } from '../../../src/spec';
import {
  capacityFromIdentity,
  capacityTag,
  describeResources,
  fits,
  formatMemory,
  parseMemory,
  shortfall,
} from '../../../src/core/spec/resources';
import { validatePlan } from '../../../src/core/spec/validate-plan';
import { parseWorkerCapacity } from '../../../src/config';
import { PassThrough } from 'node:stream';
import { main } from '../../../src/cli/main';
import { markStagesNoWorkerFits, stagesNoWorkerFits } from '../../../src/client/worker-presence';
import type { RunState, StageState } from '../../../src/core/run/run-types';
import type { StageTypeDefinition } from '../../../src/spec/stage-type-definition';

/** A stage type with no inputs: these tests are about the stage settings around it. */
const noop: StageTypeDefinition = {
  name: 'test-noop',
  version: '1.0.0',
  description: 'does nothing',
  inputs: { type: 'object', properties: {} },
  outputs: {},
};
const stageTypes = [noop];

const pipeline = (extra: string, stageExtra = ''): string => `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: res}
${extra}
stages:
  a:
    uses: test-noop
${stageExtra}
  b:
    uses: test-noop
    needs: [a]
`;

test('memory quantities: binary and decimal units, rounded up to MiB; no unit is not a quantity', () => {
  assert.equal(parseMemory('512Mi'), 512);
  assert.equal(parseMemory('4Gi'), 4096);
  assert.equal(parseMemory('1.5Gi'), 1536);
  assert.equal(parseMemory('1Ti'), 1024 * 1024);
  assert.equal(parseMemory('1G'), 954); // 1e9 bytes = 953.67 MiB
  assert.equal(parseMemory('100Ki'), 1);
  assert.equal(parseMemory('4096'), undefined);
  assert.equal(parseMemory('4 GB'), undefined);
  assert.equal(parseMemory('-1Gi'), undefined);
  assert.equal(formatMemory(4096), '4Gi');
  assert.equal(formatMemory(1536), '1.5Gi');
  assert.equal(formatMemory(500), '500Mi');
});

test('a request fits a capacity only when every key fits; shortfall names the keys', () => {
  const capacity = { cpu: 4, memoryMb: 8192, gpu: 0 };
  assert.equal(fits({ cpu: 4, memoryMb: 8192 }, capacity), true);
  assert.equal(fits({}, capacity), true);
  assert.deepEqual(shortfall({ cpu: 8, memoryMb: 16384, gpu: 1 }, capacity), ['cpu', 'memory', 'gpu']);
  assert.deepEqual(shortfall({ gpu: 1 }, capacity), ['gpu']);
  assert.equal(describeResources({ cpu: 2, memoryMb: 4096, gpu: 1 }), 'cpu 2, memory 4Gi, gpu 1');
});

test('a worker identity carries its capacity, and only a well-formed tag is read back', () => {
  const capacity = { cpu: 2.5, memoryMb: 16384, gpu: 1 };
  assert.deepEqual(capacityFromIdentity(`train@host:12 ${capacityTag(capacity)}`), capacity);
  assert.equal(capacityFromIdentity('train@host:12'), undefined);
  assert.equal(capacityFromIdentity('x [capacity cpu=abc memory=1Mi gpu=0]'), undefined);
});

test('resources merge key by key over defaults.resources and compile to cores, MiB and GPUs', () => {
  const result = compilePlan(
    pipeline('defaults: {resources: {memory: 2Gi, cpu: 1}}\nparallelism: 3', '    resources: {cpu: 4, gpu: 1}'),
    'res.yaml',
    { stageTypes },
  );
  assert.deepEqual(result.diagnostics, []);
  const plan = result.plan;
  assert.ok(plan);
  assert.equal(plan.parallelism, 3);
  assert.deepEqual(plan.stages.find((s) => s.id === 'a')?.resources, { cpu: 4, memoryMb: 2048, gpu: 1 });
  assert.deepEqual(plan.stages.find((s) => s.id === 'b')?.resources, { cpu: 1, memoryMb: 2048 });
  assert.deepEqual(validatePlan(plan), []);
});

test('a plan without resources or parallelism has neither key (old plans and histories unchanged)', () => {
  const plan = compilePlan(pipeline(''), 'res.yaml', { stageTypes }).plan;
  assert.ok(plan);
  assert.equal('parallelism' in plan, false);
  assert.equal(
    plan.stages.some((s) => 'resources' in s),
    false,
  );
});

test('out-of-bounds resources and parallelism are errors at their position, with a fix', () => {
  const result = validatePipeline(
    pipeline('parallelism: 0', '    resources: {cpu: 0, memory: 8Ti, gpu: 1.5, disk: 1}'),
    'res.yaml',
    { stageTypes },
  );
  const found = result.diagnostics.map((d) => [d.code, d.path, d.line]);
  assert.deepEqual(
    found.sort(),
    [
      ['out-of-range', 'parallelism', 4],
      ['out-of-range', 'stages.a.resources.cpu', 8],
      ['out-of-range', 'stages.a.resources.memory', 8],
      ['unknown-key', 'stages.a.resources.disk', 8],
      ['wrong-type', 'stages.a.resources.gpu', 8],
    ].sort(),
  );
  for (const d of result.diagnostics) assert.ok(d.hint, `${d.code} at ${d.path} has a hint`);
  const memory = validatePipeline(pipeline('', '    resources: {memory: 16GB}'), 'res.yaml', {
    stageTypes,
  }).diagnostics;
  assert.deepEqual(
    memory.map((d) => [d.code, d.path]),
    [['bad-value', 'stages.a.resources.memory']],
  );
});

test('the workflow refuses a plan whose resources or parallelism were tampered with', () => {
  const plan = compilePlan(pipeline(''), 'res.yaml', { stageTypes }).plan;
  assert.ok(plan);
  const [first, ...rest] = plan.stages;
  assert.ok(first);
  const tampered = {
    ...plan,
    parallelism: 1.5,
    stages: [{ ...first, resources: { cpu: -1, memoryMb: 1e12, gpu: 0.5, disk: 1 } }, ...rest],
  };
  assert.deepEqual(
    validatePlan(tampered as never).map((d) => [d.code, d.path]),
    [
      ['plan-wrong-type', 'parallelism'],
      ['out-of-range', 'stages.a.resources.cpu'],
      ['out-of-range', 'stages.a.resources.memoryMb'],
      ['out-of-range', 'stages.a.resources.gpu'],
      ['plan-wrong-type', 'stages.a.resources.disk'],
    ],
  );
});

test('worker capacity from flags or env is bounded and names the variable', () => {
  const names = { cpu: 'FINEFLOW_WORKER_CPU', memory: 'FINEFLOW_WORKER_MEMORY', gpu: 'FINEFLOW_WORKER_GPU' };
  assert.deepEqual(parseWorkerCapacity({ cpu: '4', memory: '16Gi', gpu: '1' }, names), {
    cpu: 4,
    memoryMb: 16384,
    gpu: 1,
  });
  assert.deepEqual(parseWorkerCapacity({}, names), {});
  assert.throws(() => parseWorkerCapacity({ cpu: 'lots' }, names), /FINEFLOW_WORKER_CPU=lots must be a number/);
  assert.throws(
    () => parseWorkerCapacity({ memory: '16' }, names),
    /FINEFLOW_WORKER_MEMORY=16 must be memory with a unit/,
  );
  assert.throws(() => parseWorkerCapacity({ gpu: '65' }, names), /FINEFLOW_WORKER_GPU=65 must be a whole number/);
});

test('submit warns about the stages no live worker of their pool can fit; pools with no announced capacity are unknown', () => {
  const compiled = compilePlan(pipeline('defaults: {pool: train}', '    resources: {cpu: 16, gpu: 1}\n'), 'res.yaml', {
    stageTypes,
  });
  const plan = compiled.plan;
  assert.ok(plan, JSON.stringify(compiled.diagnostics));
  const small = { cpu: 8, memoryMb: 32768, gpu: 1 };
  const unfit = stagesNoWorkerFits(plan, new Map([['train', [small, { cpu: 4, memoryMb: 8192, gpu: 0 }]]]));
  assert.deepEqual(
    unfit.map((u) => [u.stageId, u.pool, u.line]),
    [['a', 'train', 6]],
  );
  assert.match(
    unfit[0]?.message ?? '',
    /asks for cpu 16, gpu 1; the 2 worker\(s\) of pool train offer cpu 8, memory 32Gi, gpu 1 \/ cpu 4/,
  );
  assert.deepEqual(stagesNoWorkerFits(plan, new Map([['train', [{ cpu: 16, memoryMb: 1024, gpu: 1 }]]])), []);
  assert.deepEqual(stagesNoWorkerFits(plan, new Map()), [], 'no worker announced: nothing is known');
});

test('status names a running, unstarted stage no worker fits, and keeps the reason it already had', () => {
  const stage = (id: string, extra: Partial<StageState>): StageState => ({
    id,
    uses: 'test-noop',
    pool: 'train',
    status: 'running',
    attempts: 0,
    ...extra,
  });
  const state = {
    runId: 'r',
    pipeline: 'res',
    status: 'running',
    startedAt: '2026-01-01T00:00:00.000Z',
    stages: [
      stage('big', { resources: { gpu: 2 }, reason: 'progress stale: no heartbeat for 1m' }),
      stage('fits', { resources: { gpu: 1 } }),
      stage('started', { resources: { gpu: 2 }, progress: { message: 'epoch 1' } }),
      stage('done', { resources: { gpu: 2 }, status: 'succeeded' }),
    ],
  } as unknown as RunState;
  const marked = markStagesNoWorkerFits(state, new Map([['train', [{ cpu: 8, memoryMb: 1024, gpu: 1 }]]]));
  const reasons = Object.fromEntries(marked.stages.map((s) => [s.id, s.reason]));
  assert.match(reasons.big ?? '', /^no worker can fit this stage: it asks for gpu 2; .*; progress stale/);
  assert.equal(reasons.fits, undefined);
  assert.equal(reasons.started, undefined);
  assert.equal(reasons.done, undefined);
  assert.equal(markStagesNoWorkerFits(state, new Map()), state, 'unknown capacity leaves the state as it was');
});

test('fineflow worker --cpu/--memory/--gpu: a bad value is a usage error naming the flag, before any connection', async () => {
  for (const [flag, value, message] of [
    ['--cpu', 'lots', /--cpu=lots must be a number of cores from 0.01 to 256/],
    ['--memory', '16', /--memory=16 must be memory with a unit/],
    ['--gpu', '1.5', /--gpu=1.5 must be a whole number of GPUs/],
  ] as const) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let errors = '';
    stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const code = await main(['worker', '--pool', 'cpu', flag, value], { stdout, stderr, env: {}, cwd: process.cwd() });
    assert.equal(code, 2, errors);
    assert.match(errors, message);
  }
});
