/**
 * Every example pipeline's DAG at 1280 px (drawn by the app's dag.ts in Chromium, under the app's styles, in a
 * `.dag-box` inside `main` as the run and pipelines pages put it): every stage's box, border included, is inside the
 * visible graph area, with no scroll in either direction. Before, defect-detection's six columns (1,374 px) needed the
 * sideways scroll in a 1,226 px box, and in a 400 px high window the box (46vh) cut off `select`'s bottom border.
 * The drawing scales down to fit its box, to no less than 80 %; on a phone it keeps its size and scrolls.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/dag-bounds.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { compilePlan } from '../../src/spec/compile';
import { pipelineFileSource } from '../../src/spec/pipeline-files';
import { planGraph } from '../../src/ui/run-plan';
import { screenshot } from '../e2e/helpers/ui-browser';
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

for (const colorScheme of ['light', 'dark'] as const)
  for (const width of [1280, 390])
    test(`defect-detection's DAG at ${width} px (${colorScheme}): text stays at least 80 % of its size`, async () => {
      const page = await drawn('defect-detection', { width, height: 800 }, colorScheme);
      try {
        const scale = (await page.evaluate(
          `(() => { const svg = document.querySelector('svg.dag'); return svg.getBoundingClientRect().width / svg.viewBox.baseVal.width; })()`,
        )) as number;
        // A phone keeps the drawing's own size (and scrolls it); a wide screen may shrink it a little to fit.
        if (width === 390) assert.equal(scale, 1);
        else assert.ok(scale >= 0.8 && scale <= 1, `scale ${scale}`);
        await screenshot(page, `dag-bounds-defect-detection-${width}-${colorScheme}`);
      } finally {
        await page.context().close();
      }
    });
