/**
 * The DAG's drawing holds everything it draws (dag-layout.ts): every stage's box with its border at its widest and
 * every edge with its arrow head lies inside 0…width × 0…height, for every example pipeline and for a large graph.
 * dagre sizes its drawing by the nodes only, so an edge it bent outside them (sklearn-baseline's ran 11 px above the
 * top) or along the edge of the drawing (sweep's, at y = 0) was cut off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { gatedPlan } from '../../../bench/ui-bench-plan';
import { compilePlan } from '../../../src/spec/compile';
import { pipelineFileSource } from '../../../src/spec/pipeline-files';
import { planGraph } from '../../../src/ui/run-plan';
import { DRAWING_PAD, layoutOf, NODE_HEIGHT, NODE_WIDTH, type GraphData } from '../../../src/ui/web/dag-layout';

/**
 * The most a drawn thing reaches past its geometry: a focused node's 4 px border (2 px outside its box), a selected
 * node's 3.5 px border and 3 px glow, and half of an arrow head (7 × the 1.4 px edge stroke, drawn about the end).
 */
const REACH = Math.max(4 / 2, 3.5 / 2 + 3, (7 * 1.4) / 2);

/** What is drawn outside 0…width × 0…height, by name. */
function outside(graph: GraphData): string[] {
  const layout = layoutOf(graph);
  const out = (left: number, top: number, right: number, bottom: number): boolean =>
    left < 0 || top < 0 || right > layout.width || bottom > layout.height;
  const problems: string[] = [];
  for (const [id, centre] of layout.nodes) {
    const [left, top] = [centre.x - NODE_WIDTH / 2 - REACH, centre.y - NODE_HEIGHT / 2 - REACH];
    if (out(left, top, left + NODE_WIDTH + 2 * REACH, top + NODE_HEIGHT + 2 * REACH)) problems.push(`stage ${id}`);
  }
  for (const edge of layout.edges)
    for (const p of edge.points)
      if (out(p.x - REACH, p.y - REACH, p.x + REACH, p.y + REACH)) {
        problems.push(`edge ${edge.from}→${edge.to} at (${p.x.toFixed(1)}, ${p.y.toFixed(1)})`);
        break;
      }
  return problems;
}

const examples = readdirSync('pipelines')
  .filter((name) => name.endsWith('.yaml'))
  .map((name) => `pipelines/${name}`);

test('the drawing pads what it draws by enough for every border and arrow head', () => {
  assert.ok(DRAWING_PAD >= REACH, `DRAWING_PAD ${DRAWING_PAD} < ${REACH}`);
});

for (const file of examples)
  test(`${file}: every stage's box and every edge with its arrow head is inside the drawing`, () => {
    const plan = compilePlan(readFileSync(file, 'utf8'), file, { pipelineFiles: pipelineFileSource(file) }).plan;
    assert.ok(plan, `${file} compiles`);
    assert.deepEqual(outside(planGraph(plan)), []);
  });

test('a 500-stage graph (the layered layout) is inside its drawing too', () => {
  const plan = gatedPlan(500, 'cpu');
  assert.deepEqual(outside(planGraph(plan)), []);
});

test('the drawing is no larger than what it holds: its padding on each side, no more', () => {
  const file = 'pipelines/defect-detection.yaml';
  const plan = compilePlan(readFileSync(file, 'utf8'), file).plan;
  assert.ok(plan);
  const layout = layoutOf(planGraph(plan));
  const xs = [...layout.nodes.values()].flatMap((c) => [c.x - NODE_WIDTH / 2, c.x + NODE_WIDTH / 2]);
  const ys = [...layout.nodes.values()].flatMap((c) => [c.y - NODE_HEIGHT / 2, c.y + NODE_HEIGHT / 2]);
  for (const p of layout.edges.flatMap((edge) => edge.points)) {
    xs.push(p.x);
    ys.push(p.y);
  }
  assert.equal(Math.min(...xs), DRAWING_PAD);
  assert.equal(Math.min(...ys), DRAWING_PAD);
  assert.equal(layout.width, Math.max(...xs) + DRAWING_PAD);
  assert.equal(layout.height, Math.max(...ys) + DRAWING_PAD);
});
