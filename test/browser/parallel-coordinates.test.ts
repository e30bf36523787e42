/**
 * The sweep page's parallel-coordinates chart, drawn by the web app's own code and stylesheet in a real headless
 * Chromium, with an axis of every kind (numeric, log, categorical, a single number, a single category): every tick
 * label is readable, that is no trial's line changes a pixel inside it, it lies inside the chart, and an axis whose
 * trials all share one value shows that value once, level with where the lines cross it.
 *
 * No stack needed: the chart is a pure function of the trials. Run with:
 *   bash scripts/test.sh integration --quick test/browser/parallel-coordinates.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/chromium';
import { SCREENSHOTS } from '../e2e/helpers/ui-browser';
import { bundleCharts, chartPage } from './web-page';

let browser: Browser;
let script: string;

before(async () => {
  script = await bundleCharts(['parallelCoordinates']);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** Eight trials as a TPE sweep leaves them: two batch sizes, a log-scale rate, one freeze setting, one epoch count. */
/** src/ui/web/charts.ts's TrialPoint (that file compiles with the DOM's types, this one without). */
interface TrialPoint {
  readonly trialId: number;
  readonly params: Readonly<Record<string, unknown>>;
  readonly objective?: number;
  readonly best: boolean;
  readonly state: string;
}

const TRIALS: TrialPoint[] = [
  [16, 0.005838, 'adam', 0.5375, 'finished'],
  [16, 0.00198, 'sgd', 0.2625, 'pruned'],
  [16, 0.05799, 'adam', 0.7625, 'finished'],
  [16, 0.001535, 'rmsprop', 0.25, 'pruned'],
  [16, 0.01013, 'sgd', 0.275, 'pruned'],
  [8, 0.08925, 'adam', 0.825, 'finished'],
  [8, 0.07124, 'rmsprop', 0.6375, 'pruned'],
  [8, 0.023, 'sgd', 0.25, 'pruned'],
].map(([batchSize, learningRate, optimizer, objective, state], trialId) => ({
  trialId,
  params: { batchSize, learningRate, optimizer, freeze: 'all', warmupEpochs: 2 },
  objective: objective as number,
  best: trialId === 5,
  state: state as string,
}));

interface Box {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}
interface Drawn {
  readonly chart: Box;
  readonly axes: { readonly name: string; readonly x: number; readonly ticks: { label: string; box: Box }[] }[];
  /** Where each trial's line crosses each axis, by axis index. */
  readonly crossings: number[][];
}

/** The chart's geometry as the page laid it out (this file compiles without the DOM's types). */
interface ElementLike {
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): Box;
  querySelectorAll(selector: string): Iterable<ElementLike>;
}

async function drawChart(page: Page): Promise<Drawn> {
  await page.evaluate(
    ({ trials }) => {
      const w = globalThis as unknown as {
        parallelCoordinates(t: unknown, metric: string): unknown;
        document: { getElementById(id: string): { appendChild(node: unknown): void } };
      };
      w.document.getElementById('box').appendChild(w.parallelCoordinates(trials, 'validation.accuracy'));
    },
    { trials: TRIALS },
  );
  return page.locator('svg.parallel').evaluate((svg: ElementLike) => {
    const box = (e: ElementLike): Box => {
      const r = e.getBoundingClientRect();
      return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    };
    const axisLines = [...svg.querySelectorAll('line.axis')];
    const labels = [...svg.querySelectorAll('text.axis-label')];
    const ticks = [...svg.querySelectorAll('text.tick')];
    const xs = axisLines.map((line) => box(line).left);
    // A tick label belongs to the axis nearest its left edge.
    const axisOf = (t: ElementLike): number => {
      const gaps = xs.map((x) => Math.abs(box(t).left - x));
      return gaps.indexOf(Math.min(...gaps));
    };
    const axes = xs.map((x, i) => ({
      name: labels[i]?.textContent ?? '',
      x,
      ticks: ticks.filter((t) => axisOf(t) === i).map((t) => ({ label: t.textContent ?? '', box: box(t) })),
    }));
    const origin = box(svg);
    const crossings = [...svg.querySelectorAll('polyline')].map((line) =>
      (line.getAttribute('points') ?? '').split(' ').map((p) => origin.top + Number(p.split(',')[1])),
    );
    return { chart: origin, axes, crossings };
  });
}

/** RGBA pixels of the page inside `clip`, in device pixels (scale 1). */
async function pixels(page: Page, clip: Box): Promise<PNG> {
  const shot = await page.screenshot({
    clip: { x: clip.left, y: clip.top, width: clip.right - clip.left, height: clip.bottom - clip.top },
  });
  return PNG.sync.read(shot);
}

for (const colorScheme of ['light', 'dark'] as const) {
  test(`parallel coordinates (${colorScheme}): no trial line crosses a tick label, on every kind of axis`, async () => {
    const page = await chartPage(browser, script, {
      // The page's chart box scrolls sideways past 660 px; unbounded here, so every axis is on screen to be read.
      body: '<div class="charts"><div class="chart parallel-box" id="box"></div></div>',
      css: '.chart { max-width: none; }',
      colorScheme,
      viewport: { width: 1100, height: 400 },
    });
    try {
      const drawn = await drawChart(page);
      assert.deepEqual(
        drawn.axes.map((a) => a.name),
        ['batchSize', 'freeze', 'learningRate (log)', 'optimizer', 'warmupEpochs', 'validation.accuracy'],
      );
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, `parallel-coordinates-${colorScheme}.png`) });
      const withLines = await pixels(page, drawn.chart);
      await page.addStyleTag({ content: 'svg.parallel polyline { visibility: hidden; }' });
      const withoutLines = await pixels(page, drawn.chart);
      for (const axis of drawn.axes) {
        assert.ok(axis.ticks.length > 0, `${axis.name} has tick labels`);
        for (const tick of axis.ticks) {
          const where = `${axis.name}'s tick "${tick.label}"`;
          assert.ok(
            tick.box.left >= drawn.chart.left && tick.box.right <= drawn.chart.right,
            `${where} lies inside the chart: ${JSON.stringify(tick.box)} in ${JSON.stringify(drawn.chart)}`,
          );
          // Inside the label's box (less a pixel of anti-aliasing), the lines change nothing.
          let changed = 0;
          for (let y = Math.ceil(tick.box.top - drawn.chart.top) + 1; y < tick.box.bottom - drawn.chart.top - 1; y++) {
            for (
              let x = Math.ceil(tick.box.left - drawn.chart.left) + 1;
              x < tick.box.right - drawn.chart.left - 1;
              x++
            ) {
              const at = (y * withLines.width + x) * 4;
              for (let c = 0; c < 3; c++) if (withLines.data[at + c] !== withoutLines.data[at + c]) changed++;
            }
          }
          assert.equal(changed, 0, `no trial line drawn over ${where} (${changed} colour values changed)`);
        }
      }
      // A single value (a category or a number) is labelled once, level with where every line crosses its axis.
      for (const name of ['freeze', 'warmupEpochs']) {
        const index = drawn.axes.findIndex((a) => a.name === name);
        const axis = drawn.axes[index];
        assert.ok(axis);
        assert.deepEqual(
          axis.ticks.map((t) => t.label),
          [name === 'freeze' ? 'all' : '2'],
          `${name}: one label`,
        );
        const ys = new Set(drawn.crossings.map((c) => c[index]));
        assert.equal(ys.size, 1, `${name}: every line crosses at one height`);
        const [crossing] = [...ys];
        const tick = axis.ticks[0]?.box;
        assert.ok(tick && crossing !== undefined && tick.top <= crossing && crossing <= tick.bottom, `${name}: level`);
      }
    } finally {
      await page.context().close();
    }
  });
}
