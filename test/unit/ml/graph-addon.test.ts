import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineFallbackWarning, graphAddonStartupWarning } from '../../../src/ml/graph/graph-addon';

const missing = () => false;
const present = () => true;

test("the worker's start-up warning: a missing addon under auto names the file, the fallback and the fix", () => {
  const warning = graphAddonStartupWarning(
    { tfBackend: 'auto', trainEngine: 'auto' },
    '/x/fineflow_tf_graph.node',
    missing,
  );
  assert.ok(warning, 'a warning');
  assert.match(
    warning,
    /^warning: the graph training addon is missing \(\/x\/fineflow_tf_graph\.node does not exist\)/,
  );
  assert.match(warning, /falls back to the eager engine/);
  assert.match(warning, /`fineflow setup` \(`npm run setup:tf` in a clone\)/);
  const required = graphAddonStartupWarning({ tfBackend: 'native', trainEngine: 'graph' }, '/x/a.node', missing);
  assert.match(required ?? '', /stages that train will fail \(FINEFLOW_TRAIN_ENGINE=graph\)/);
});

test('no start-up warning when the addon is there or the operator chose no graph engine', () => {
  assert.equal(graphAddonStartupWarning({ tfBackend: 'auto', trainEngine: 'auto' }, '/x/a.node', present), undefined);
  assert.equal(graphAddonStartupWarning({ tfBackend: 'auto', trainEngine: 'eager' }, '/x/a.node', missing), undefined);
  assert.equal(graphAddonStartupWarning({ tfBackend: 'cpu', trainEngine: 'auto' }, '/x/a.node', missing), undefined);
});

test("the stage log's fallback line carries the reason", () => {
  assert.equal(
    engineFallbackWarning('the cpu backend has no graph runtime'),
    'warning: trained on the eager engine, not the faster graph engine: the cpu backend has no graph runtime',
  );
});
