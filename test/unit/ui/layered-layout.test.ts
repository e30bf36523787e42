import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatedPlan } from '../../../bench/ui-bench-plan';
import { layeredLayout, type LayoutInput } from '../../../src/ui/web/layered-layout';

const SIZES = { nodeWidth: 168, nodeHeight: 46, nodeGap: 18, rankGap: 46, margin: 8 };

function inputOf(stages: readonly { id: string; needs: readonly string[] }[]): LayoutInput {
  return {
    ...SIZES,
    nodes: stages.map((s) => ({ id: s.id })),
    edges: stages.flatMap((s) => s.needs.map((from) => ({ from, to: s.id }))),
  };
}

/** Pairs of edges between the same two ranks whose ends are in opposite orders. */
function crossings(layout: ReturnType<typeof layeredLayout>): number {
  const edges = layout.edges.map((e) => ({ a: e.points[0]!, b: e.points[e.points.length - 1]! }));
  let count = 0;
  for (let i = 0; i < edges.length; i++)
    for (let j = i + 1; j < edges.length; j++) {
      const [p, q] = [edges[i]!, edges[j]!];
      if (p.a.x !== q.a.x || p.b.x !== q.b.x) continue;
      if ((p.a.y - q.a.y) * (p.b.y - q.b.y) < 0) count++;
    }
  return count;
}

test('every edge runs left to right, nodes never overlap, and everything fits the canvas', () => {
  const plan = gatedPlan(500, 'cpu');
  const layout = layeredLayout(inputOf(plan.stages));
  assert.equal(layout.nodes.size, 500);
  assert.equal(
    layout.edges.length,
    plan.stages.reduce((n, s) => n + s.needs.length, 0),
  );
  for (const edge of layout.edges) {
    const [from, to] = [layout.nodes.get(edge.from)!, layout.nodes.get(edge.to)!];
    assert.ok(from.x < to.x, `${edge.from} → ${edge.to} goes right`);
  }
  const boxes = [...layout.nodes.values()];
  for (const box of boxes) {
    assert.ok(box.x - SIZES.nodeWidth / 2 >= 0 && box.x + SIZES.nodeWidth / 2 <= layout.width);
    assert.ok(box.y - SIZES.nodeHeight / 2 >= 0 && box.y + SIZES.nodeHeight / 2 <= layout.height);
  }
  const seen = new Set(boxes.map((b) => `${b.x},${b.y}`));
  assert.equal(seen.size, boxes.length, 'no two nodes at the same place');
  for (const a of boxes)
    for (const b of boxes)
      if (a !== b && a.x === b.x) assert.ok(Math.abs(a.y - b.y) >= SIZES.nodeHeight + SIZES.nodeGap);
});

test('a node sits one rank right of its furthest dependency (longest path)', () => {
  const layout = layeredLayout(
    inputOf([
      { id: 'a', needs: [] },
      { id: 'b', needs: ['a'] },
      { id: 'c', needs: ['b'] },
      { id: 'd', needs: ['a', 'c'] },
    ]),
  );
  const x = (id: string) => layout.nodes.get(id)!.x;
  const step = SIZES.nodeWidth + SIZES.rankGap;
  assert.deepEqual(
    ['a', 'b', 'c', 'd'].map((id) => (x(id) - x('a')) / step),
    [0, 1, 2, 3],
  );
});

test('barycenter ordering removes the crossings of a shuffled two-rank graph', () => {
  // Parents p0..p9 each feed child c(9-i): listed in the same order, every pair of edges crosses.
  const stages = [
    ...Array.from({ length: 10 }, (_, i) => ({ id: `p${i}`, needs: [] as string[] })),
    ...Array.from({ length: 10 }, (_, i) => ({ id: `c${i}`, needs: [`p${9 - i}`] })),
  ];
  assert.equal(crossings(layeredLayout(inputOf(stages))), 0);
});
