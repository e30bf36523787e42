import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDetails, stageSummary } from '../../../src/core/run/temporal-summaries';

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
