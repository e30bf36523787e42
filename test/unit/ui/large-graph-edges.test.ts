/**
 * Graphs over LARGE_GRAPH stages (the layered layout): a long edge is routed as dagre routes the smaller graphs'
 * edges, through a slot of its own in every rank it passes (a waypoint), so it never passes behind a stage's box. It
 * was a straight line from source to target, drawn under the boxes it crossed. The work is counted, not timed:
 * waypoints are bounded by WAYPOINT_BUDGET per node and edge; an edge that would pass the budget stays straight and is
 * drawn over the boxes with a halo (`over`), so even then none is hidden.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatedPlan } from '../../../bench/ui-bench-plan';
import { planGraph } from '../../../src/ui/run-plan';
import { randomDag } from './large-dag';
import { layoutOf, NODE_HEIGHT, NODE_WIDTH } from '../../../src/ui/web/dag-layout';
import { edgesThroughNodes } from '../../../src/ui/web/edge-routing';
import { LARGE_GRAPH, WAYPOINT_BUDGET, layeredLayout } from '../../../src/ui/web/layered-layout';

const SIZE = { width: NODE_WIDTH, height: NODE_HEIGHT };

const GAPS = { nodeWidth: NODE_WIDTH, nodeHeight: NODE_HEIGHT, nodeGap: 18, rankGap: 46, margin: 8 };

for (const count of [LARGE_GRAPH + 1, 500])
  test(`${count} stages with long edges: no edge passes behind a box, and the routing's work is bounded`, () => {
    const graph = randomDag(count, 40, 20261206);
    const layout = layoutOf(graph);
    assert.ok(count > LARGE_GRAPH, 'the layered layout draws it');
    assert.deepEqual(edgesThroughNodes(layout, SIZE).slice(0, 3), [], 'edges behind boxes');
    const { waypoints } = layeredLayout({ ...GAPS, ...graph });
    const budget = WAYPOINT_BUDGET * (graph.nodes.length + graph.edges.length);
    assert.ok(waypoints > 0, 'long edges get waypoints');
    assert.ok(waypoints <= budget, `${waypoints} waypoints > ${budget}`);
  });

test('the bench run (500 stages, 996 edges): routed with 20 waypoints, no edge behind a box', () => {
  const graph = planGraph(gatedPlan(500, 'cpu'));
  assert.deepEqual(edgesThroughNodes(layoutOf(graph), SIZE), []);
  assert.equal(layeredLayout({ ...GAPS, ...graph }).waypoints, 20);
});

test('a graph whose edges would pass the budget: the rest stay straight, over the boxes, and none is hidden', () => {
  // A chain of 300 where every stage also needs the first: the long edges span up to 298 ranks (44,551 waypoints).
  const nodes = Array.from({ length: 300 }, (_, i) => ({ id: `c${i}`, uses: 'noop', pool: 'cpu' }));
  const edges = nodes
    .slice(1)
    .flatMap((node, i) => [{ from: `c${i}`, to: node.id }, ...(i > 0 ? [{ from: 'c0', to: node.id }] : [])]);
  const graph = { nodes, edges };
  const routed = layeredLayout({ ...GAPS, ...graph });
  assert.ok(routed.waypoints <= WAYPOINT_BUDGET * (nodes.length + edges.length), `${routed.waypoints} waypoints`);
  const layout = layoutOf(graph);
  const over = new Set(layout.edges.filter((edge) => edge.over).map((edge) => `${edge.from}→${edge.to}`));
  assert.ok(over.size > 0, 'some edges are past the budget');
  const hidden = edgesThroughNodes(layout, SIZE).filter((edge) => !over.has(`${edge.from}→${edge.to}`));
  assert.deepEqual(hidden, []);
});
