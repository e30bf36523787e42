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
  querySelector(selector: string): ElementLike | null;
}

async function drawChart(page: Page, trials: readonly TrialPoint[] = TRIALS): Promise<Drawn> {
  await page.evaluate(
    ({ trials }) => {
      const w = globalThis as unknown as {
        parallelCoordinates(t: unknown, metric: string): unknown;
        document: { getElementById(id: string): { appendChild(node: unknown): void } };
      };
      w.document.getElementById('box').appendChild(w.parallelCoordinates(trials, 'validation.accuracy'));
    },
    { trials },
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
      name: labels[i]?.querySelector('title')?.textContent ?? '',
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

/** Param names as long as pipelines give them: drawn whole on one line, each ran into its neighbours. */
const LONG_NAMES = [
  'learningRateWarmupEpochsBeforeDecay',
  'optimizer.adam.beta2DecayScheduleFactor',
  'unfreezeLayersFromTopOfTheBackboneNetwork',
  'batch_size_per_replica_during_training_phase',
  'seed',
];
const LONG_TRIALS: TrialPoint[] = TRIALS.map((trial, i) => ({
  ...trial,
  params: Object.fromEntries(LONG_NAMES.map((name, n) => [name, (i + 1) * (n + 1)])),
}));

interface AxisName {
  readonly full: string;
  readonly lines: string[];
  readonly box: Box;
}

for (const width of [390, 1280])
  for (const colorScheme of ['light', 'dark'] as const)
    test(`parallel coordinates at ${width} px (${colorScheme}): long axis names never overlap`, async () => {
      const page = await chartPage(browser, script, {
        body: '<div class="charts"><div class="chart parallel-box" id="box"></div></div>',
        colorScheme,
        viewport: { width, height: 500 },
      });
      try {
        const drawn = await drawChart(page, LONG_TRIALS);
        const names = await page.locator('svg.parallel').evaluate((svg: ElementLike) =>
          [...svg.querySelectorAll('text.axis-label')].map((label) => {
            const r = label.getBoundingClientRect();
            const spans = [...label.querySelectorAll('tspan')].map((span) => span.textContent ?? '');
            return {
              // A label drawn as one plain text (no lines, no tooltip) is its own full name.
              full: label.querySelector('title')?.textContent ?? label.textContent ?? '',
              lines: spans.length > 0 ? spans : [label.textContent ?? ''],
              box: { left: r.left, top: r.top, right: r.right, bottom: r.bottom },
            };
          }),
        );
        assert.deepEqual(
          names.map((n: AxisName) => n.full),
          [...[...LONG_NAMES].sort(), 'validation.accuracy'],
        );
        const axisTop = Math.min(
          ...(await page
            .locator('svg.parallel line.axis')
            .evaluateAll((lines) => lines.map((line) => (line as unknown as ElementLike).getBoundingClientRect().top))),
        );
        for (const [i, name] of names.entries()) {
          assert.ok(name.lines.length <= 2, `${name.full}: ${name.lines.length} lines`);
          assert.ok(
            name.box.left >= drawn.chart.left && name.box.right <= drawn.chart.right,
            `${name.full} lies inside the chart: ${JSON.stringify(name.box)} in ${JSON.stringify(drawn.chart)}`,
          );
          assert.ok(name.box.bottom <= axisTop, `${name.full} ends above the axes (${name.box.bottom} > ${axisTop})`);
          const next = names[i + 1];
          if (next)
            assert.ok(
              name.box.right + 4 <= next.box.left,
              `${name.full} (right ${name.box.right.toFixed(1)}) clears ${next.full} (left ${next.box.left.toFixed(1)})`,
            );
          // What is shown is the name, or its start cut with an ellipsis: never another name's text.
          const shown = name.lines.join('');
          assert.ok(
            shown === name.full || (shown.endsWith('…') && name.full.startsWith(shown.slice(0, -1))),
            `${name.full} shown as ${JSON.stringify(name.lines)}`,
          );
        }
        const short = names.find((n: AxisName) => n.full === 'seed');
        assert.deepEqual(short?.lines, ['seed'], 'a short name is whole, on one line');
        mkdirSync(SCREENSHOTS, { recursive: true });
        await page.screenshot({
          path: path.join(SCREENSHOTS, `parallel-coordinates-long-names-${width}-${colorScheme}.png`),
          fullPage: true,
        });
      } finally {
        await page.context().close();
      }
    });
