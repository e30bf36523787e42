import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StageLog } from '../../../activities/stage-log';
import { loadObservabilityConfig } from '../../../src/config';
import { fieldsFromSdkMeta, jsonLogLine, jsonStageLogEcho } from '../../../src/observability/json-log';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';

test('SDK metadata of a pipeline run names the Fineflow run id; other workflows keep their workflow id', () => {
  assert.deepEqual(
    fieldsFromSdkMeta({ workflowId: 'nightly-1', runId: 'abc', workflowType: 'pipelineRun', namespace: 'default' }),
    { runId: 'nightly-1', workflowType: 'pipelineRun', temporalRunId: 'abc', namespace: 'default' },
  );
  assert.deepEqual(
    fieldsFromSdkMeta({
      workflowId: 'sweep-1',
      workflowRunId: 'def',
      workflowType: 'hyperparameterSweep',
      activityType: 'fine-tune',
      attempt: 2,
    }),
    {
      workflowId: 'sweep-1',
      workflowType: 'hyperparameterSweep',
      temporalRunId: 'def',
      stageType: 'fine-tune',
      attempt: 2,
    },
  );
});

test('a JSON line is one line, lower-case level, and a huge message is cut', () => {
  const line = jsonLogLine('WARN', 'x'.repeat(100_000), { pool: 'cpu' }, new Date(0));
  assert.equal(line.split('\n').length, 2);
  const record = JSON.parse(line) as { time: string; level: string; msg: string; pool: string };
  assert.equal(record.time, '1970-01-01T00:00:00.000Z');
  assert.equal(record.level, 'warn');
  assert.equal(record.pool, 'cpu');
  assert.ok(record.msg.length < 17_000 && record.msg.endsWith('(cut)'));
});

test('every line a stage appends to its log is echoed once with its ids, unstamped', () => {
  const written: string[] = [];
  const echo = jsonStageLogEcho('train', (line) => written.push(line));
  const ids = { runId: 'r-1', stageId: 'finetune', stageType: 'fine-tune', attempt: 3 };
  const log = new StageLog(
    createMemoryObjectStore(),
    { bucket: 'b', runId: ids.runId, stageId: ids.stageId, attempt: ids.attempt },
    { flushIntervalMs: 60_000, echo: (message) => echo({ ...ids, message }) },
  );
  log.append('epoch 1/3 loss 0.5\n');
  log.append('epoch 2/3 loss 0.4');
  const records = written.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(
    records.map(({ time: _time, ...rest }) => rest),
    [
      { level: 'info', msg: 'epoch 1/3 loss 0.5', pool: 'train', source: 'stage', ...ids },
      { level: 'info', msg: 'epoch 2/3 loss 0.4', pool: 'train', source: 'stage', ...ids },
    ],
  );
});

test('FINEFLOW_LOG_FORMAT accepts text and json only, naming the variable', () => {
  assert.equal(loadObservabilityConfig({}).logFormat, 'text');
  assert.equal(loadObservabilityConfig({ FINEFLOW_LOG_FORMAT: 'json' }).logFormat, 'json');
  assert.throws(
    () => loadObservabilityConfig({ FINEFLOW_LOG_FORMAT: 'logfmt' }),
    /FINEFLOW_LOG_FORMAT=logfmt: write text/,
  );
});
