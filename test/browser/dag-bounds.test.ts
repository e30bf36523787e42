/**
 * Every example pipeline's DAG at 1280 px (drawn by the app's dag.ts in Chromium, under the app's styles, in a
 * `.dag-box` inside `main` as the run and pipelines pages put it): every stage's box, border included, is inside the
 * visible graph area, with no scroll in either direction. Before, defect-detection's six columns (1,374 px) needed the
 * sideways scroll in a 1,226 px box, and in a 400 px high window the box (46vh) cut off `select`'s bottom border.
 * Each box is as wide as its text; the drawing may shrink to fit its box only while its titles stay at 12 px or more (at
 * one box width for all, 188 px, six columns were shrunk to 89 %, titles 10.7 px); on a phone it keeps its size and
 * scrolls.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/dag-bounds.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { compilePlan } from '../../src/spec/compile';
import { pipelineFileSource } from '../../src/spec/pipeline-files';
import { planGraph } from '../../src/ui/run-plan';
import { assertNoSideScroll } from './page-layout';
import { screenshot } from '../e2e/helpers/ui-browser';
import type { Page } from 'playwright-core';
import { chartPage, usePageModule } from './web-page';

const web = usePageModule('./dag', ['drawDag']);

/**
 * The stages whose box (with half its border's width, and for edges the arrow head) is outside the box's visible
 * area, and how far the box scrolls each way.
 */
const OUTSIDE = `(() => {
  const box = document.getElementById('box');
  const frame = box.getBoundingClientRect();
  const visible = {
    left: frame.left + box.clientLeft, top: frame.top + box.clientTop,
    right: frame.left + box.clientLeft + box.clientWidth, bottom: frame.top + box.clientTop + box.clientHeight,
  };
  const outside = [];
  for (const g of box.querySelectorAll('svg.dag g.node')) {
    const rect = g.querySelector('rect');
    const r = rect.getBoundingClientRect();
    const svg = g.ownerSVGElement;
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    const half = (parseFloat(getComputedStyle(rect).strokeWidth) / 2) * scale;
    if (r.left - half < visible.left - 0.5 || r.top - half < visible.top - 0.5 ||
        r.right + half > visible.right + 0.5 || r.bottom + half > visible.bottom + 0.5)
      outside.push(g.dataset.stage + ' ' + JSON.stringify([r.left - half, r.top - half, r.right + half, r.bottom + half].map(Math.round)));
  }
  return {
    outside,
    visible: [visible.left, visible.top, visible.right, visible.bottom].map(Math.round),
    scrollX: box.scrollWidth - box.clientWidth,
    scrollY: box.scrollHeight - box.clientHeight,
  };
})()`;

const examples = readdirSync('pipelines')
  .filter((name) => name.endsWith('.yaml'))
  .map((name) => name.replace(/\.yaml$/, ''));

async function drawn(pipeline: string, viewport: { width: number; height: number }, colorScheme: 'light' | 'dark') {
  const file = `pipelines/${pipeline}.yaml`;
  const plan = compilePlan(readFileSync(file, 'utf8'), file, { pipelineFiles: pipelineFileSource(file) }).plan;
  assert.ok(plan, `${file} compiles`);
  const page = await chartPage(web.browser, web.script, {
    body: '<h1>run</h1><div class="dag-box" id="box"></div>',
    colorScheme,
    viewport,
  });
  await page.evaluate(
    `document.getElementById('box').appendChild(drawDag(${JSON.stringify(planGraph(plan))}).element)`,
  );
  return page;
}

for (const pipeline of examples)
  for (const height of [800, 400])
    test(`${pipeline}'s DAG at 1280×${height}: every stage's box is inside the visible graph area, no scroll`, async () => {
      const page = await drawn(pipeline, { width: 1280, height }, 'light');
      try {
        const seen = (await page.evaluate(OUTSIDE)) as {
          outside: string[];
          visible: number[];
          scrollX: number;
          scrollY: number;
        };
        assert.deepEqual(seen.outside, [], `visible area ${JSON.stringify(seen.visible)}`);
        assert.equal(seen.scrollX, 0, 'the graph needs no sideways scroll');
        assert.equal(seen.scrollY, 0, 'the graph needs no vertical scroll');
      } finally {
        await page.context().close();
      }
    });

/**
 * The smallest title as drawn (its font size times the drawing's scale), every two boxes that overlap, and every title
 * or subtitle that runs past its box's border.
 */
const READABLE = `(() => {
  const svg = document.querySelector('svg.dag');
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const titles = [...svg.querySelectorAll('g.node .node-title')].map((t) => parseFloat(getComputedStyle(t).fontSize) * scale);
  const boxes = [...svg.querySelectorAll('g.node')].map((g) => ({ id: g.dataset.stage, r: g.querySelector('rect').getBoundingClientRect(), g }));
  const overlaps = [];
  for (const [i, a] of boxes.entries())
    for (const b of boxes.slice(i + 1))
      if (a.r.left < b.r.right && b.r.left < a.r.right && a.r.top < b.r.bottom && b.r.top < a.r.bottom) overlaps.push(a.id + ' ' + b.id);
  const textOut = [];
  for (const { id, r, g } of boxes)
    for (const t of g.querySelectorAll('text')) {
      const tr = t.getBoundingClientRect();
      if (tr.left < r.left || tr.right > r.right || tr.top < r.top || tr.bottom > r.bottom) textOut.push(id + ': ' + t.textContent);
    }
  return { scale, smallestTitle: Math.min(...titles), overlaps, textOut };
})()`;

interface Readable {
  scale: number;
  smallestTitle: number;
  overlaps: string[];
  textOut: string[];
}

async function assertReadable(page: Page, where: string): Promise<Readable> {
  const seen = (await page.evaluate(READABLE)) as Readable;
  assert.ok(
    seen.smallestTitle >= 12,
    `${where}: smallest title ${seen.smallestTitle.toFixed(2)} px (scale ${seen.scale})`,
  );
  assert.deepEqual(seen.overlaps, [], `${where}: boxes that overlap`);
  assert.deepEqual(seen.textOut, [], `${where}: text past its box`);
  return seen;
}

for (const pipeline of examples)
  test(`${pipeline}'s DAG at 1280 px: titles drawn at 12 px or more, no box over another, no text past its box`, async () => {
    const page = await drawn(pipeline, { width: 1280, height: 800 }, 'light');
    try {
      await assertReadable(page, pipeline);
    } finally {
      await page.context().close();
    }
  });

for (const colorScheme of ['light', 'dark'] as const)
  for (const width of [1280, 390])
    test(`defect-detection's six columns at ${width} px (${colorScheme}): titles at 12 px or more`, async () => {
      const page = await drawn('defect-detection', { width, height: 800 }, colorScheme);
      try {
        const seen = await assertReadable(page, `defect-detection at ${width}`);
        // A wide screen needs no shrinking for six columns; a phone shrinks them as far as 12 px titles allow (the
        // rest scrolls inside the DAG's box, never the page).
        if (width === 1280) assert.equal(seen.scale, 1);
        else assert.ok(Math.abs(seen.scale - 12 / 13) < 0.01, `scale ${seen.scale} at ${width} px`);
        await assertNoSideScroll(page);
        await screenshot(page, `dag-bounds-defect-detection-${width}-${colorScheme}`);
      } finally {
        await page.context().close();
      }
    });

test('seven columns of the usual stage types fit a 1280 px page with titles at 12 px or more, no scroll', async () => {
  const uses = [
    'prepare-data',
    'select-model',
    'hyperparameter-sweep',
    'fine-tune',
    'evaluate',
    'register-model',
    'notify',
  ];
  const ids = ['prepare', 'select', 'sweep', 'finetune', 'evaluate', 'register', 'notify'];
  const graph = {
    nodes: ids.map((id, i) => ({ id, uses: uses[i] ?? 'evaluate', pool: i === 2 || i === 3 ? 'train' : 'cpu' })),
    edges: ids.slice(1).map((id, i) => ({ from: ids[i] ?? '', to: id })),
  };
  const page = await chartPage(web.browser, web.script, {
    body: '<h1>run</h1><div class="dag-box" id="box"></div>',
    colorScheme: 'light',
    viewport: { width: 1280, height: 800 },
  });
  try {
    await page.evaluate(`document.getElementById('box').appendChild(drawDag(${JSON.stringify(graph)}).element)`);
    await assertReadable(page, 'seven columns');
    const seen = (await page.evaluate(OUTSIDE)) as { outside: string[]; scrollX: number };
    assert.deepEqual(seen.outside, []);
    assert.equal(seen.scrollX, 0, 'the graph needs no sideways scroll');
  } finally {
    await page.context().close();
  }
});

test('a stage id too long for the widest box is cut with an ellipsis inside it; its tooltip and label have it whole', async () => {
  const id = `a-very-long-stage-id-${'x'.repeat(40)}`;
  const graph = { nodes: [{ id, uses: 'hyperparameter-sweep', pool: 'a-long-pool-name' }], edges: [] };
  const page = await chartPage(web.browser, web.script, {
    body: '<div class="dag-box" id="box"></div>',
    colorScheme: 'light',
    viewport: { width: 1280, height: 800 },
  });
  try {
    await page.evaluate(`document.getElementById('box').appendChild(drawDag(${JSON.stringify(graph)}).element)`);
    await assertReadable(page, 'long id');
    const seen = (await page.evaluate(
      `(() => { const g = document.querySelector('g.node'); return { title: g.querySelector('.node-title').textContent, tip: g.querySelector('title').textContent, label: g.getAttribute('aria-label') }; })()`,
    )) as { title: string; tip: string; label: string };
    assert.match(seen.title, /^a-very-long-stage-id-x*…$/);
    assert.ok(seen.tip.startsWith(`${id}: `), seen.tip);
    assert.ok(seen.label.includes(id), seen.label);
  } finally {
    await page.context().close();
  }
});
