/**
 * The run page's DAG of the quickstart and of defect-detection (drawn by the app's dag.ts in Chromium): every edge
 * leaves its source on the right side and its arrow enters its target on the left side, and no edge passes behind
 * another stage's box. dagre ended the quickstart's finetune → evaluate edge on evaluate's bottom border (an arrow
 * pointing up into the box) and others on a box's top or bottom. Light and dark, at 1280 and 390 px.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/dag-edges.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compilePlan } from '../../src/spec/compile';
import { planGraph } from '../../src/ui/run-plan';
import { screenshot } from '../e2e/helpers/ui-browser';
import { randomDag } from '../unit/ui/large-dag';
import { chartPage, usePageModule } from './web-page';

const web = usePageModule('./dag', ['drawDag']);

/** Each edge's ends and each node's box, in the SVG's coordinates, and the edges that end off their nodes' sides. */
const EDGE_ENDS = `(() => {
  const boxes = new Map([...document.querySelectorAll('svg.dag g.node')].map((g) => {
    const m = /translate\\(([-\\d.]+) ([-\\d.]+)\\)/.exec(g.getAttribute('transform'));
    const r = g.querySelector('rect');
    const x = Number(m[1]), y = Number(m[2]);
    return [g.dataset.stage, { left: x, top: y, right: x + Number(r.getAttribute('width')), bottom: y + Number(r.getAttribute('height')) }];
  }));
  const problems = [];
  for (const path of document.querySelectorAll('svg.dag path.edge')) {
    const start = path.getPointAtLength(0);
    const end = path.getPointAtLength(path.getTotalLength());
    const from = boxes.get(path.dataset.from), to = boxes.get(path.dataset.to);
    const name = path.dataset.from + '→' + path.dataset.to;
    if (Math.abs(start.x - from.right) > 0.5 || start.y < from.top || start.y > from.bottom) problems.push(name + ' leaves off the right side');
    if (Math.abs(end.x - to.left) > 0.5 || end.y < to.top || end.y > to.bottom) problems.push(name + ' enters off the left side');
    const length = path.getTotalLength();
    for (let at = 0; at <= length; at += 2) {
      const p = path.getPointAtLength(at);
      for (const [id, b] of boxes)
        if (id !== path.dataset.from && id !== path.dataset.to && p.x > b.left + 1 && p.x < b.right - 1 && p.y > b.top + 1 && p.y < b.bottom - 1) {
          problems.push(name + ' behind ' + id);
          at = length + 1;
          break;
        }
    }
  }
  return { edges: document.querySelectorAll('svg.dag path.edge').length, problems };
})()`;

for (const pipeline of ['quickstart', 'defect-detection'])
  for (const width of [1280, 390])
    for (const colorScheme of ['light', 'dark'] as const)
      test(`${pipeline}'s DAG at ${width} px: edges on their stages' sides, none behind a stage (${colorScheme})`, async () => {
        const file = `pipelines/${pipeline}.yaml`;
        const plan = compilePlan(readFileSync(file, 'utf8'), file).plan;
        assert.ok(plan);
        const graph = planGraph(plan);
        const page = await chartPage(web.browser, web.script, {
          body: '<div class="dag-box" id="box"></div>',
          colorScheme,
          viewport: { width, height: 400 },
        });
        try {
          await page.evaluate(`document.getElementById('box').appendChild(drawDag(${JSON.stringify(graph)}).element)`);
          const { edges, problems } = (await page.evaluate(EDGE_ENDS)) as { edges: number; problems: string[] };
          assert.equal(edges, graph.edges.length);
          assert.deepEqual(problems, []);
          await screenshot(page, `dag-${pipeline}-${width}-${colorScheme}`);
        } finally {
          await page.context().close();
        }
      });

// Above 150 stages the layered layout drew every edge straight from source to target, under the boxes it crossed:
// a long edge vanished behind stages and seemed to end at one of them (40 of this graph's edges did).
test("a 151-stage graph with long edges: edges on their stages' sides, none behind a stage", async () => {
  const graph = randomDag(151, 40, 20261206);
  const page = await chartPage(web.browser, web.script, {
    body: '<div class="dag-box" id="box"></div>',
    colorScheme: 'dark',
    viewport: { width: 1280, height: 800 },
  });
  try {
    await page.evaluate(`document.getElementById('box').appendChild(drawDag(${JSON.stringify(graph)}).element)`);
    const { edges, problems } = (await page.evaluate(EDGE_ENDS)) as { edges: number; problems: string[] };
    assert.equal(edges, graph.edges.length);
    assert.deepEqual(problems, []);
    await screenshot(page, 'dag-151-stages-1280-dark');
  } finally {
    await page.context().close();
  }
});

// Past the layered layout's waypoint budget an edge stays straight: it is drawn above every box, on a halo, so it
// still cannot be hidden.
test('a graph past the waypoint budget: its straight edges are drawn above the boxes, each on a halo', async () => {
  const nodes = Array.from({ length: 300 }, (_, i) => ({ id: `c${i}`, uses: 'noop', pool: 'cpu' }));
  const edges = nodes
    .slice(1)
    .flatMap((node, i) => [{ from: `c${i}`, to: node.id }, ...(i > 0 ? [{ from: 'c0', to: node.id }] : [])]);
  const page = await chartPage(web.browser, web.script, {
    body: '<div class="dag-box" id="box"></div>',
    colorScheme: 'light',
    viewport: { width: 1280, height: 800 },
  });
  try {
    await page.evaluate(
      `document.getElementById('box').appendChild(drawDag(${JSON.stringify({ nodes, edges })}).element)`,
    );
    const drawn = (await page.evaluate(`(() => {
      const children = [...document.querySelector('svg.dag').children];
      const lastNode = Math.max(...children.map((c, i) => (c.matches('g.node') ? i : -1)));
      const over = children.map((c, i) => [c, i]).filter(([c]) => c.matches('path.edge.over'));
      return { over: over.length, below: over.filter(([, i]) => i < lastNode).length,
        unhaloed: over.filter(([, i]) => !children[i - 1].matches('path.edge-halo')).length };
    })()`)) as { over: number; below: number; unhaloed: number };
    assert.ok(drawn.over > 0, 'some edges are past the budget');
    assert.deepEqual({ below: drawn.below, unhaloed: drawn.unhaloed }, { below: 0, unhaloed: 0 });
  } finally {
    await page.context().close();
  }
});
