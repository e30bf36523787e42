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
import {
  DRAWING_PAD,
  estimateTextWidth,
  fitText,
  layoutOf,
  MIN_NODE_WIDTH,
  NODE_HEIGHT,
  NODE_WIDTH,
  nodeLabel,
  type GraphData,
} from '../../../src/ui/web/dag-layout';

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
    const box = layout.boxes.get(id) ?? { width: NaN, height: NaN };
    const [left, top] = [centre.x - box.width / 2 - REACH, centre.y - box.height / 2 - REACH];
    if (!(box.width >= MIN_NODE_WIDTH && box.width <= NODE_WIDTH && box.height === NODE_HEIGHT))
      problems.push(`stage ${id}'s box ${JSON.stringify(box)}`);
    else if (out(left, top, left + box.width + 2 * REACH, top + box.height + 2 * REACH)) problems.push(`stage ${id}`);
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
  const box = (id: string) => layout.boxes.get(id) ?? { width: NODE_WIDTH, height: NODE_HEIGHT };
  const xs = [...layout.nodes].flatMap(([id, c]) => [c.x - box(id).width / 2, c.x + box(id).width / 2]);
  const ys = [...layout.nodes].flatMap(([id, c]) => [c.y - box(id).height / 2, c.y + box(id).height / 2]);
  for (const p of layout.edges.flatMap((edge) => edge.points)) {
    xs.push(p.x);
    ys.push(p.y);
  }
  assert.equal(Math.min(...xs), DRAWING_PAD);
  assert.equal(Math.min(...ys), DRAWING_PAD);
  assert.equal(layout.width, Math.max(...xs) + DRAWING_PAD);
  assert.equal(layout.height, Math.max(...ys) + DRAWING_PAD);
});

test('a box is as wide as its text, between MIN_NODE_WIDTH and NODE_WIDTH; longer text is cut with an ellipsis', () => {
  const measure = (text: string, fontPx: number): number => text.length * fontPx * 0.5;
  assert.equal(nodeLabel({ id: 'a', uses: 'notify', pool: 'cpu' }, measure).width, MIN_NODE_WIDTH);
  // 'register-model · cpu' is 20 characters at 11 px: 110 px, and 10 px of padding each side.
  assert.equal(nodeLabel({ id: 'register', uses: 'register-model', pool: 'cpu' }, measure).width, 130);
  const long = nodeLabel({ id: 'x'.repeat(60), uses: 'hyperparameter-sweep', pool: 'p'.repeat(40) }, measure);
  // Cut to fit the widest box: within one character (6.5 px at 13 px) of it.
  assert.ok(long.width <= NODE_WIDTH && long.width > NODE_WIDTH - 7, `width ${long.width}`);
  assert.ok(long.title.endsWith('…') && measure(long.title, 13) <= NODE_WIDTH - 20, long.title);
  assert.ok(long.sub.startsWith('hyperparameter-sweep · p') && long.sub.endsWith('…'), long.sub);
  assert.equal(fitText('short', 100, 10, measure), 'short');
  assert.equal(fitText('abcdefghij', 30, 10, measure), 'abcde…');
  assert.equal(fitText('abcdefghij', 1, 10, measure), '…');
});

test("defect-detection's six columns need no more than a 1280 px page's room (1,226 px) at the Node estimate", () => {
  const file = 'pipelines/defect-detection.yaml';
  const plan = compilePlan(readFileSync(file, 'utf8'), file).plan;
  assert.ok(plan);
  assert.ok(layoutOf(planGraph(plan), estimateTextWidth).width <= 1226);
});
