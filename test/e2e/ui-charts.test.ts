/**
 * The run page's epoch charts, read off the canvas uPlot drew in a real headless Chromium, for a real two-phase
 * fine-tune of 80 epochs on the real stack: each marker's label is drawn in its marker's colour, right of its line
 * (or left of it at the plot's right edge), the phase change and the best epoch in different colours, the phase
 * in the report's words, and the epoch axis ticks at nice whole numbers. And a run page that waits for its run's
 * state says so, and why it can take a while.
 *
 * Run with: bash scripts/test.sh integration test/e2e/ui-charts.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { RunningUi } from '../../src/ui/server';
import { randomSuffix, type RuntimeHarness } from '../fixtures/runtime/harness';
import { writeSweepData } from '../integration/sweep/sweep-fixture';
import { openPage, screenshot, startUiStack, type UiStack } from './helpers/ui-browser';

let stack: UiStack | undefined;
let h: RuntimeHarness, ui: RunningUi, browser: Browser;
before(async () => {
  ({ h, ui, browser } = stack = await startUiStack());
});
after(() => stack?.close());

interface DrawnMarker {
  readonly label: string;
  readonly color: string;
  readonly lineX: number;
  readonly box: { readonly left: number; readonly top: number; readonly right: number; readonly bottom: number };
}

/** The canvas as the page sees it (this file compiles without the DOM's types). */
interface CanvasLike {
  readonly width: number;
  getBoundingClientRect(): { readonly width: number };
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

function rgb(hex: string): number[] {
  const parsed = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  assert.ok(parsed, `a #rrggbb colour: ${hex}`);
  return parsed.slice(1).map((part) => parseInt(part, 16));
}

/**
 * The inked pixels (far from the white page) inside `box` of the chart's canvas, each sorted to the nearest of
 * `colours`: how many went to each.
 */
async function inkByColour(page: Page, chart: string, box: DrawnMarker['box'], colours: readonly string[]) {
  const pixels = await page.locator(`[data-chart="${chart}"] canvas`).evaluate((canvas: CanvasLike, at) => {
    const ratio = canvas.width / canvas.getBoundingClientRect().width;
    const [x, y] = [Math.round(at.left * ratio), Math.round(at.top * ratio)];
    const [w, h] = [Math.round((at.right - at.left) * ratio), Math.round((at.bottom - at.top) * ratio)];
    return Array.from(canvas.getContext('2d')?.getImageData(x, y, w, h).data ?? []);
  }, box);
  const targets = colours.map(rgb);
  const distance = (a: readonly number[], b: readonly number[]): number =>
    Math.hypot((a[0] ?? 0) - (b[0] ?? 0), (a[1] ?? 0) - (b[1] ?? 0), (a[2] ?? 0) - (b[2] ?? 0));
  const counts = colours.map(() => 0);
  for (let i = 0; i + 3 < pixels.length; i += 4) {
    const pixel = pixels.slice(i, i + 3);
    if ((pixels[i + 3] ?? 0) < 128 || distance(pixel, [255, 255, 255]) < 60) continue;
    const gaps = targets.map((target) => distance(pixel, target));
    const nearest = gaps.indexOf(Math.min(...gaps));
    counts[nearest] = (counts[nearest] ?? 0) + 1;
  }
  return counts;
}

test(
  'epoch charts: labels in their markers’ colours beside their lines, phase in the report’s words, nice epoch ticks',
  { timeout: 240_000 },
  async () => {
    const data = await writeSweepData(h.store, h.config.s3.bucket, `test-ui/charts-${randomSuffix()}`);
    const plan = h.plan('ui-charts', [
      {
        id: 'train',
        uses: 'fine-tune',
        timeoutMs: 180_000,
        with: {
          model: data.baseModel,
          data: data.dataset,
          epochs: 80,
          batchSize: 16,
          seed: 1,
          twoPhase: { headEpochs: 30, unfreeze: 1 },
        },
      },
    ]);
    const runId = await h.runs.submit(plan);
    const result = await h.runs.result(runId);
    const train = result.stages.find((s) => s.id === 'train');
    assert.equal(train?.status, 'succeeded', JSON.stringify(train?.error));
    const bestEpoch = (train?.outputs?.metrics as { bestEpoch: number }).bestEpoch;

    const { page, errors } = await openPage(browser);
    await page.goto(`${ui.url}/#/runs/${runId}?stage=train`);
    for (const chart of ['loss', 'accuracy']) {
      const root = page.locator(`[data-chart="${chart}"] .uplot[data-markers]`);
      await root.waitFor({ timeout: 30_000 });
      const markers = JSON.parse((await root.getAttribute('data-markers')) ?? '[]') as DrawnMarker[];
      assert.deepEqual(
        markers.map((m) => m.label),
        ['phase fine-tune', `best epoch ${bestEpoch}`],
      );
      const colours = markers.map((m) => m.color);
      assert.notEqual(colours[0], colours[1], 'the phase change and the best epoch are told apart by colour');
      for (const [i, marker] of markers.entries()) {
        const { box, lineX } = marker;
        assert.ok(box.left >= lineX || box.right <= lineX, `${marker.label} sits beside its line, not across it`);
        const ink = await inkByColour(page, chart, box, colours);
        const own = ink[i] ?? 0;
        const other = ink[1 - i] ?? 0;
        assert.ok(own >= 20 && own > 4 * other, `${chart}: "${marker.label}" inked in its own colour: ${ink}`);
      }
      const ticks = ((await root.getAttribute('data-x-ticks')) ?? '').split(' ').map(Number);
      assert.ok(ticks.length >= 4 && ticks.every((t) => t > 0 && t % 10 === 0), `epoch ticks ${ticks.join(' ')}`);
    }
    await page.locator('#stage-log', { hasText: '(phase fine-tune)' }).waitFor({ timeout: 20_000 });
    await screenshot(page, 'epoch-charts');
    assert.deepEqual(errors, []);
    await page.context().close();
  },
);

test(
  'a run page says it is loading, and why that can take a while, until the run state arrives',
  { timeout: 60_000 },
  async () => {
    const runId = await h.runs.submit(h.plan('ui-loading', [{ id: 'only', with: { value: 1 } }]));
    assert.equal((await h.runs.result(runId)).status, 'succeeded');
    const { page, errors } = await openPage(browser);
    // The state request is held here, as a server with no control worker holds it for its 15 s query timeout.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(`**/api/runs/${runId}`, async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${ui.url}/#/runs/${runId}`);
    await page
      .locator('.page [role="status"].loading', { hasText: `Loading run ${runId}…` })
      .waitFor({ timeout: 10_000 });
    await page
      .locator('.page [role="status"].loading', { hasText: 'no control worker has answered its state query yet' })
      .waitFor({ timeout: 10_000 });
    release();
    await page.locator('#run-status[data-status="succeeded"]').waitFor({ timeout: 30_000 });
    assert.equal(
      await page.locator('.page [role="status"].loading').count(),
      0,
      'the note goes when the state arrives',
    );
    assert.deepEqual(errors, []);
    await page.context().close();
  },
);
