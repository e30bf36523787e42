import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DETAIL_ROWS, runDetails, stageSummary } from '../../../src/core/run/temporal-summaries';

test('a stage summary names the stage, its type and its pool', () => {
  assert.equal(stageSummary({ id: 'finetune', uses: 'fine-tune', pool: 'train' }), 'finetune · fine-tune · pool train');
});

test('the run details are a markdown stage table whose cells cannot break their row', () => {
  const details = runDetails({
    status: 'waiting',
    stages: [
      { id: 'prepare', uses: 'prepare-data', pool: 'cpu', status: 'succeeded', attempts: 1 },
      {
        id: 'train',
        uses: 'fine-tune',
        pool: 'train',
        status: 'waiting',
        attempts: 3,
        error: { type: 'InvalidInput', message: 'bad | value\nnext line' },
      },
    ],
  });
  const lines = details.split('\n');
  assert.equal(lines[0], '**run waiting**');
  assert.equal(lines[2], '| stage | type | pool | status | attempts | detail |');
  assert.equal(lines[5], '| train | fine-tune | train | waiting | 3 | bad   value next line |');
  assert.equal(lines.length, 6);
});

test('above MAX_DETAIL_ROWS stages the details count every status and list the failed, waiting and running ones first', () => {
  const stages = Array.from({ length: 1000 }, (_, index) => ({
    id: `s${index}`,
    uses: 'test-noop',
    pool: 'cpu',
    status: index < 900 ? ('succeeded' as const) : index < 990 ? ('running' as const) : ('failed' as const),
    attempts: 1,
    ...(index >= 990 ? { error: { type: 'Internal', message: `boom ${index}` } } : {}),
  }));
  const lines = runDetails({ status: 'failed', stages }).split('\n');
  assert.equal(lines[0], '**run failed**: 1000 stages (900 succeeded, 90 running, 10 failed)');
  const rows = lines.filter((line) => /^\| s[0-9]/.test(line));
  assert.equal(rows.length, MAX_DETAIL_ROWS);
  assert.equal(rows[0], '| s990 | test-noop | cpu | failed | 1 | boom 990 |');
  assert.equal(rows[10], '| s900 | test-noop | cpu | running | 1 |  |');
  assert.equal(lines.at(-1), `${1000 - MAX_DETAIL_ROWS} more not shown; \`fineflow status\` lists every stage`);
  assert.equal(
    runDetails({ status: 'running', stages: stages.slice(0, MAX_DETAIL_ROWS) }).split('\n').length,
    4 + MAX_DETAIL_ROWS,
  );
});
