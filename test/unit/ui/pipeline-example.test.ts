/**
 * The Pipelines page's opening example (src/ui/web/pipeline-example.ts) validates, and reads data `fineflow dev seed`
 * pushes: it read s3://datasets/digits/, which nothing pushes, so a new user's first Submit run on a seeded dev stack
 * failed at its prepare stage.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seedDataFor } from '../../../src/examples/seed-data';
import { compilePlan } from '../../../src/spec/compile';
import { EXAMPLE_PIPELINE, EXAMPLE_SOURCE } from '../../../src/ui/web/pipeline-example';

test("the Pipelines page's example validates and reads a prefix dev seed pushes", () => {
  const compiled = compilePlan(EXAMPLE_PIPELINE, 'example.yaml');
  assert.ok(compiled.plan, JSON.stringify(compiled.diagnostics));
  assert.deepEqual(
    compiled.plan.stages.map((stage) => [stage.id, stage.with.source]),
    [['prepare', EXAMPLE_SOURCE]],
  );
  assert.ok(seedDataFor(EXAMPLE_SOURCE), `${EXAMPLE_SOURCE} is not among the data dev seed pushes`);
});
