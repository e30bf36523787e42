import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { layoutOf } from '../../../src/ui/web/dag-layout';
import { edgesThroughNodes, routeEdges, segmentCrossesBox, type NodeSize } from '../../../src/ui/web/edge-routing';
import type { Layout } from '../../../src/ui/web/layered-layout';
import { compilePlan } from '../../../src/spec/compile';
import { planGraph } from '../../../src/ui/run-plan';

const SIZE = { width: 188, height: 46 };

/** Edges whose first point is not on the source's right side or whose last is not on the target's left side. */
function offSides(layout: Layout, sizeOf: (id: string) => NodeSize = () => SIZE): string[] {
  return layout.edges.flatMap(({ from, to, points }) => {
    const source = layout.nodes.get(from);
    const target = layout.nodes.get(to);
    const first = points[0];
    const last = points[points.length - 1];
    if (!source || !target || !first || !last) return [`${from}→${to}: no points`];
    const onSide = (p: { x: number; y: number }, c: { x: number; y: number }, dx: number): boolean =>
      Math.abs(p.x - (c.x + dx)) < 0.5 && Math.abs(p.y - c.y) <= SIZE.height / 2;
    return onSide(first, source, sizeOf(from).width / 2) && onSide(last, target, -sizeOf(to).width / 2)
      ? []
      : [`${from}→${to}`];
  });
}

test('a segment crosses a box only through its inside', () => {
  const box = { left: 0, top: 0, right: 10, bottom: 10 };
  assert.equal(segmentCrossesBox({ x: -5, y: 5 }, { x: 15, y: 5 }, box), true);
  assert.equal(segmentCrossesBox({ x: -5, y: -1 }, { x: 15, y: -1 }, box), false);
  assert.equal(segmentCrossesBox({ x: -5, y: 0 }, { x: 15, y: 0 }, box), false, 'along the border');
  assert.equal(segmentCrossesBox({ x: 10, y: 5 }, { x: 20, y: 5 }, box), false, 'from the border outwards');
  assert.equal(segmentCrossesBox({ x: -5, y: 20 }, { x: 20, y: -5 }, box), true, 'a diagonal through a corner');
});

test('a long edge laid straight through the node between its ends is routed around it, on a lane', () => {
  // a → c passes through b, in line with both (the layered layout and dagre both can draw it so).
  const layout: Layout = {
    width: 700,
    height: 62,
    nodes: new Map([
      ['a', { x: 102, y: 31 }],
      ['b', { x: 336, y: 31 }],
      ['c', { x: 570, y: 31 }],
    ]),
    edges: [
      {
        from: 'a',
        to: 'b',
        points: [
          { x: 196, y: 31 },
          { x: 242, y: 31 },
        ],
      },
      {
        from: 'b',
        to: 'c',
        points: [
          { x: 430, y: 31 },
          { x: 476, y: 31 },
        ],
      },
      {
        from: 'a',
        to: 'c',
        points: [
          { x: 196, y: 31 },
          { x: 476, y: 31 },
        ],
      },
    ],
  };
  assert.deepEqual(edgesThroughNodes(layout, SIZE), [{ from: 'a', to: 'c', through: ['b'] }]);
  const routed = routeEdges(layout, SIZE, 23);
  assert.deepEqual(edgesThroughNodes(routed, SIZE), []);
  assert.deepEqual(offSides(routed), []);
  assert.ok(routed.height > layout.height, 'the drawing grows to hold the lane');
  for (const [id, at] of routed.nodes) assert.ok(at.y - SIZE.height / 2 >= 0, `${id} stays inside the drawing`);
  for (const edge of routed.edges)
    for (const p of edge.points) assert.ok(p.y >= 0 && p.y <= routed.height, `${edge.from}→${edge.to} inside`);
  const untouched = routed.edges.find((e) => e.from === 'a' && e.to === 'b');
  assert.equal(untouched?.points.length, 2, 'an edge that crossed nothing keeps its points');
});

// The run page's layout of every example pipeline: dagre ended some edges on a box's top or bottom (the quickstart's
// finetune → evaluate entered evaluate from below), against the left-to-right reading.
for (const file of ['quickstart', 'defect-detection', 'candidate-fan-out', 'scheduled-retrain', 'sweep'])
  test(`pipelines/${file}.yaml: every edge leaves its source on the right, enters its target on the left, crosses no box`, () => {
    const path = `pipelines/${file}.yaml`;
    const plan = compilePlan(readFileSync(path, 'utf8'), path).plan;
    assert.ok(plan, `${path} compiles`);
    const layout = layoutOf(planGraph(plan));
    const sizeOf = (id: string): NodeSize => layout.boxes.get(id) ?? SIZE;
    assert.deepEqual(offSides(layout, sizeOf), []);
    assert.deepEqual(edgesThroughNodes(layout, sizeOf), []);
  });
