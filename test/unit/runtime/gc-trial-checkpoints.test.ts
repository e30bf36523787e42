/**
 * `fineflow gc`'s checkpoint rule reaches a sweep's trial checkpoints (`runs/<run>/<stage>/trials/trial-NNNN/
 * checkpoints/…`): a trial checkpoints every epoch and keeps them all, and the rule matched only a stage's own
 * `checkpoints/` folder, so an ended sweep kept every epoch of every trial until its whole run went. A command's
 * output folder that happens to be named `checkpoints` stays: it is an output, not Fineflow's resume state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planGc, type GcFacts, type GcObject, type GcPolicy } from '../../../src/retention/gc-plan';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-05T00:00:00Z');

const object = (key: string): GcObject => ({ uri: `s3://fineflow/${key}`, size: 10, lastModifiedMs: NOW - 3 * DAY });

test('an ended sweep loses its trials’ checkpoints after checkpointsAfter, and keeps its models and outputs', () => {
  const keys = [
    'runs/r/tune/trials/trial-0000/checkpoints/epoch-0001/weights.bin',
    'runs/r/tune/trials/trial-0012/checkpoints/epoch-0003/checkpoint.json',
    'runs/r/tune/trials/trial-0012/checkpoints/latest.json',
    'runs/r/tune/trials/trial-0012/model/model.json',
    'runs/r/tune/results.json',
    'runs/r/evaluate/checkpoints/from-scratch/epoch-0002/weights.bin',
    'runs/r/export/outputs/checkpoints/step-100.pt',
    'runs/r/export/trials/notes/checkpoints/x.bin',
  ];
  // Spread, so the literal stays valid when the policy and facts grow fields this rule does not read.
  const policy: GcPolicy = { ...{ olderThanMs: 30 * DAY, checkpointsAfterMs: 1 * DAY, keepSweeps: 20 } };
  const facts: GcFacts = {
    ...{
      nowMs: NOW,
      runObjects: new Map([['r', keys.map(object)]]),
      runStatus: new Map([['r', 'ended' as const]]),
      modelRuns: new Set<string>(),
      cacheEntries: [],
      sweepObjects: [],
    },
  };
  const plan = planGc(facts, policy);
  assert.deepEqual(
    plan.remove.map((item) => [item.kind, item.id]),
    [['checkpoints', 'r']],
  );
  assert.deepEqual(
    plan.remove[0]?.objects.map((removed) => removed.uri.replace('s3://fineflow/', '')),
    [
      'runs/r/tune/trials/trial-0000/checkpoints/epoch-0001/weights.bin',
      'runs/r/tune/trials/trial-0012/checkpoints/epoch-0003/checkpoint.json',
      'runs/r/tune/trials/trial-0012/checkpoints/latest.json',
      'runs/r/evaluate/checkpoints/from-scratch/epoch-0002/weights.bin',
    ],
  );
});
