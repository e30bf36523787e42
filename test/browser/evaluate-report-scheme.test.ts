/**
 * An evaluate stage's HTML report (report.html as the evaluate stage writes it: gate, metrics, confusion matrix,
 * reliability, ROC and PR curves, learning curves, baselines, sweep trials) in the run page's sandboxed report frame,
 * served by the real UI server: in dark it is a dark document (it was a white box inside the dark page, polish5's
 * note), in light a light one, and in both every text of the report, charts' included, reads on its background.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/evaluate-report-scheme.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import type { Browser, Frame } from 'playwright-core';
import { runPrefix } from '../../src/core/storage/layout';
import { classCurves, reliabilityBins } from '../../src/ml/eval/curves';
import { applyGate, classificationMetrics, compareMetrics } from '../../src/ml/eval/metrics';
import { renderReportHtml } from '../../src/ml/eval/report';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startRunStatesUi } from './browser-ui';
import { manualRun, succeededStage } from './run-fixtures';
import { screenshot } from '../e2e/helpers/ui-browser';
import { backgroundAndText, contrast, luminance, parseRgb } from './page-colours';
import { chartPage } from './web-page';

const BUCKET = 'fineflow';
const RUN = 'quickstart-20261206-080121-yn0l';
const REPORT = `${runPrefix(BUCKET, RUN, 'evaluate')}report/report.html`;
const CLASSES = ['crack', 'dent', 'scratch'];

/** What both reports were computed from: the quickstart run's evaluate stage, on its test split. */
const REPORT_SOURCE = {
  origin: { pipeline: 'quickstart', runId: RUN, stageId: 'evaluate' },
  model: `s3://${BUCKET}/runs/${RUN}/finetune/model/model.json`,
  dataset: `s3://${BUCKET}/runs/${RUN}/prepare/dataset/manifest.json`,
  split: 'test',
  backend: 'tensorflow',
} as const;

/** A report with every section the evaluate stage writes for a fine-tuned image model. */
function reportHtml(): string {
  const probabilities = [
    0.8, 0.1, 0.1, 0.6, 0.3, 0.1, 0.2, 0.7, 0.1, 0.1, 0.1, 0.8, 0.2, 0.2, 0.6, 0.3, 0.5, 0.2, 0.7, 0.2, 0.1, 0.1, 0.2,
    0.7,
  ];
  const labels = [0, 1, 1, 2, 2, 0, 0, 2];
  const metrics = classificationMetrics(probabilities, labels, CLASSES);
  const scratch = classificationMetrics(
    probabilities.map((p, i) => (i % 3 === 0 ? 1 - p : p)),
    labels,
    CLASSES,
  );
  const epoch = (n: number, loss: number, accuracy: number) => ({
    epoch: n,
    phase: n <= 2 ? 'head' : 'all',
    learningRate: 0.001,
    trainLoss: loss,
    trainAccuracy: accuracy,
    validationLoss: loss + 0.1,
    validationAccuracy: accuracy - 0.05,
    seconds: 2,
    samplesPerSecond: 120,
  });
  return renderReportHtml({
    ...REPORT_SOURCE,
    metrics,
    intervals: { accuracy: { low: 0.5, high: 0.9 } },
    bootstrap: { resamples: 1000, confidence: 0.95 },
    reliability: reliabilityBins(probabilities, labels, CLASSES.length),
    curves: classCurves(probabilities, labels, CLASSES),
    baselines: {
      scratch: {
        uri: 's3://fineflow/scratch/model.json',
        metrics: scratch,
        comparison: compareMetrics(metrics, scratch),
      },
    },
    gate: { ...applyGate({ metric: 'accuracy', min: 0.6 }, metrics), spec: { metric: 'accuracy', min: 0.6 } },
    bestEpoch: 3,
    history: [epoch(1, 1.2, 0.4), epoch(2, 0.8, 0.6), epoch(3, 0.5, 0.8), epoch(4, 0.55, 0.78)],
    trials: {
      xLabel: 'learningRate',
      yLabel: 'validation.accuracy',
      points: [
        { trial: 1, x: 0.0001, value: 0.55 },
        { trial: 2, x: 0.001, value: 0.8 },
        { trial: 3, x: 0.01, value: 0.4, status: 'pruned' },
      ],
    },
    createdAt: '2026-12-06T08:02:56.000Z',
  });
}

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const store = createMemoryObjectStore({ buckets: [BUCKET] });
  await store.putBytes(REPORT, Buffer.from(reportHtml()));
  const state = manualRun({
    runId: RUN,
    startedAt: '2026-12-06T08:01:21.000Z',
    stages: [succeededStage('evaluate', 'evaluate', 'cpu', { report: REPORT })],
  });
  ({ ui, browser } = await startRunStatesUi([state], store, BUCKET));
});
after(() => closeBrowserUi({ ui, browser }));

/**
 * Every text of the report with its colour and what it is drawn on: the page's background, or for a count in a
 * confusion-matrix cell the cell's fill. Chart text drawn in its series' colour is `coloured` (a 3:1 bar: it is a
 * label beside a line of the same colour, not body text).
 */
const TEXTS = `(() => {
  // A body without a background shows the canvas: white, for a document that does not say it has a dark scheme.
  const body = getComputedStyle(document.body).backgroundColor;
  const page = body === 'rgba(0, 0, 0, 0)' ? 'rgb(255, 255, 255)' : body;
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!element || node.textContent.trim() === '' || element.closest('title')) continue;
    const svgText = element.closest('text');
    const style = getComputedStyle(svgText ?? element);
    let on = page;
    const cell = svgText?.previousElementSibling;
    if (svgText && cell?.tagName === 'rect' && cell.getAttribute('x') !== null &&
        Number(cell.getAttribute('x')) + Number(cell.getAttribute('width')) / 2 === Number(svgText.getAttribute('x')))
      on = getComputedStyle(cell).fill;
    out.push({ text: node.textContent.trim().slice(0, 40), color: svgText ? style.fill : style.color, on,
      coloured: Boolean(svgText?.hasAttribute('fill')) && on === page });
  }
  return { page, texts: out };
})()`;

function reportFrame(frames: readonly Frame[]): Frame {
  const frame = frames.find((candidate) => candidate.url().endsWith('/stages/evaluate/report'));
  assert.ok(frame, 'the report frame is loaded');
  return frame;
}

/** The app's stylesheet and the evaluate panel's frame, as stage-panel.ts draws it (a desktop window by default). */
function reportPage(
  colorScheme: 'light' | 'dark',
  viewport = { width: 1280, height: 800 },
): ReturnType<typeof chartPage> {
  return chartPage(browser, '', {
    body:
      '<section><h3>Report</h3><iframe class="report" title="Report of evaluate" sandbox ' +
      `src="${ui.url}/api/runs/${RUN}/stages/evaluate/report"></iframe></section>`,
    colorScheme,
    viewport,
  });
}

for (const colorScheme of ['light', 'dark'] as const)
  test(`the evaluate report follows the ${colorScheme} scheme in its frame, and every text reads on it`, async () => {
    const page = await reportPage(colorScheme);
    try {
      await page.frameLocator('iframe.report').getByRole('heading', { name: /Gate/ }).waitFor();
      await screenshot(page, `evaluate-report-frame-${colorScheme}`);
      const inFrame = backgroundAndText(PNG.sync.read(await page.locator('iframe.report').screenshot()));
      const pageBackground = backgroundAndText(
        PNG.sync.read(await page.screenshot({ clip: { x: 0, y: 0, width: 1280, height: 8 } })),
      ).background;
      assert.deepEqual(inFrame.background, pageBackground, 'the report has the page’s background');
      const { page: background, texts } = (await reportFrame(page.frames()).evaluate(TEXTS)) as {
        page: string;
        texts: { text: string; color: string; on: string; coloured: boolean }[];
      };
      assert.equal(luminance(parseRgb(background)) < 0.05, colorScheme === 'dark', `report background ${background}`);
      assert.ok(texts.length > 100, `${texts.length} texts found`);
      const unreadable = texts
        .map((t) => ({ ...t, ratio: contrast(parseRgb(t.color), parseRgb(t.on)) }))
        .filter((t) => t.ratio < (t.coloured ? 3 : 4.5))
        .map((t) => `${t.text} (${t.color} on ${t.on}: ${t.ratio.toFixed(1)}:1)`);
      assert.deepEqual(unreadable, []);
    } finally {
      await page.context().close();
    }
  });

/** Every confusion-matrix cell's fill and its count's colour (cells are the rects a count is centred on). */
const MATRIX_CELLS = `(() => {
  const svg = document.querySelector('svg[aria-label="confusion matrix"]');
  return [...svg.querySelectorAll('text')].flatMap((text) => {
    const cell = text.previousElementSibling;
    if (!cell || cell.tagName !== 'rect') return [];
    return [{ count: text.textContent, fill: getComputedStyle(cell).fill, color: getComputedStyle(text).fill }];
  });
})()`;

// The matrix was a heat map from white in both schemes: in dark, a block of light cells in a dark page.
for (const colorScheme of ['light', 'dark'] as const)
  test(`the report's confusion matrix in ${colorScheme}: cells of the scheme, counts that read, full cells stand out`, async () => {
    const page = await reportPage(colorScheme);
    try {
      const frame = page.frameLocator('iframe.report');
      await frame.getByRole('heading', { name: 'Confusion matrix' }).scrollIntoViewIfNeeded();
      await screenshot(page, `evaluate-report-matrix-${colorScheme}`);
      const cells = (await reportFrame(page.frames()).evaluate(MATRIX_CELLS)) as {
        count: string;
        fill: string;
        color: string;
      }[];
      assert.equal(cells.length, CLASSES.length ** 2);
      // In dark every cell is dark (the page's text is light on them); in light the map starts from white.
      const light = cells
        .filter((cell) => luminance(parseRgb(cell.fill)) > 0.2)
        .map((cell) => `${cell.count} on ${cell.fill}`);
      if (colorScheme === 'dark') assert.deepEqual(light, [], 'light cells in the dark scheme');
      else assert.ok(light.length > 0, 'no light cell in the light scheme');
      const unreadable = cells
        .map((cell) => ({ ...cell, ratio: contrast(parseRgb(cell.color), parseRgb(cell.fill)) }))
        .filter((cell) => cell.ratio < 4.5)
        .map((cell) => `${cell.count} (${cell.color} on ${cell.fill}: ${cell.ratio.toFixed(1)}:1)`);
      assert.deepEqual(unreadable, []);
      // The heat map still says which cells are full: the fullest and the emptiest diagonal cells differ by 2:1.
      const diagonal = cells.filter((_, i) => i % (CLASSES.length + 1) === 0);
      const byCount = [...diagonal].sort((a, b) => Number(a.count) - Number(b.count));
      const [emptiest, fullest] = [byCount[0], byCount[byCount.length - 1]];
      assert.ok(emptiest && fullest && Number(fullest.count) > Number(emptiest.count));
      const apart = contrast(parseRgb(emptiest.fill), parseRgb(fullest.fill));
      assert.ok(apart >= 2, `${emptiest.fill} and ${fullest.fill}: ${apart.toFixed(1)}:1`);
    } finally {
      await page.context().close();
    }
  });

/**
 * A report whose matrix has every colour step (0 to 10, MATRIX_DARK_STEPS) on and off the diagonal: 11 classes, the
 * largest count 10, so a count of n is step n; the diagonal holds 0…10, and each row's other cells 0…10 in turn.
 */
function everyStepReportHtml(): string {
  const classes = Array.from({ length: 11 }, (_, i) => `class-${i}`);
  const matrix = classes.map((_, actual) =>
    classes.map((__, predicted) => (actual === predicted ? actual : (actual + predicted) % 11)),
  );
  const base = classificationMetrics([0.8, 0.1, 0.1, 0.1, 0.8, 0.1], [0, 1], CLASSES);
  return renderReportHtml({
    ...REPORT_SOURCE,
    metrics: { ...base, classes, confusionMatrix: matrix },
    createdAt: '2026-12-06T08:02:56.000Z',
  });
}

/** Every matrix cell's step class (cm-hit-N, cm-miss-N), fill and count colour, as drawn. */
const MATRIX_STEPS = `(() => [...document.querySelectorAll('svg[aria-label="confusion matrix"] rect[class^="cm-"]')].map((cell) => {
  const text = cell.nextElementSibling;
  return { step: cell.getAttribute('class'), count: text.textContent, fill: getComputedStyle(cell).fill, color: getComputedStyle(text).fill };
}))()`;

// The dark matrix test checked only the steps the fixture's counts fell on (a few of the 22): every step, hit and
// miss, now has its count checked at 4.5:1 on its fill, in both schemes.
for (const colorScheme of ['light', 'dark'] as const)
  test(`every colour step of the confusion matrix (hit and miss, 0 to 10) has a count that reads 4.5:1 in ${colorScheme}`, async () => {
    const page = await chartPage(browser, '', { body: '', colorScheme, viewport: { width: 1280, height: 800 } });
    try {
      await page.setContent(everyStepReportHtml());
      const cells = (await page.evaluate(MATRIX_STEPS)) as {
        step: string;
        count: string;
        fill: string;
        color: string;
      }[];
      assert.equal(cells.length, 121);
      const steps = [...new Set(cells.map((cell) => cell.step))].sort();
      const expected = ['hit', 'miss']
        .flatMap((kind) => Array.from({ length: 11 }, (_, n) => `cm-${kind}-${n}`))
        .sort();
      assert.deepEqual(steps, expected, 'every step is drawn');
      for (const cell of cells)
        assert.equal(cell.step.replace(/^cm-(hit|miss)-/, ''), cell.count, `${cell.step}'s count`);
      const unreadable = [
        ...new Map(
          cells
            .map((cell) => ({ ...cell, ratio: contrast(parseRgb(cell.color), parseRgb(cell.fill)) }))
            .filter((cell) => cell.ratio < 4.5)
            .map((cell) => [cell.step, `${cell.step} (${cell.color} on ${cell.fill}: ${cell.ratio.toFixed(2)}:1)`]),
        ).values(),
      ];
      assert.deepEqual(unreadable, []);
      // The steps still read as a scale: each kind's fill moves one way from step 0 to 10 (darker in light, away from
      // the panel in dark), no two neighbours the same.
      for (const kind of ['hit', 'miss']) {
        const fills = Array.from({ length: 11 }, (_, n) => cells.find((cell) => cell.step === `cm-${kind}-${n}`)?.fill);
        assert.equal(new Set(fills).size, 11, `${kind}: ${fills.join(' ')}`);
      }
      await screenshot(page, `evaluate-report-matrix-steps-${colorScheme}`);
    } finally {
      await page.context().close();
    }
  });

// On a phone the report's frame is about 330 px wide: the title at 2em (a long run id in it) took seven lines, most of
// the frame's first screen, before the gate's verdict.
test('the evaluate report on a 390 px phone: a title of at most four lines, the gate’s verdict on the first screen', async () => {
  const page = await reportPage('light', { width: 390, height: 844 });
  try {
    await page.frameLocator('iframe.report').getByRole('heading', { name: /Gate/ }).waitFor();
    await screenshot(page, 'evaluate-report-frame-390');
    const { lines, gateBottom, screen } = (await reportFrame(page.frames()).evaluate(`(() => {
      const title = document.querySelector('h1');
      const range = document.createRange();
      range.selectNodeContents(title);
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size;
      const gate = [...document.querySelectorAll('h2')].find((h) => h.textContent.startsWith('Gate'));
      return { lines, gateBottom: gate.getBoundingClientRect().bottom, screen: window.innerHeight };
    })()`)) as { lines: number; gateBottom: number; screen: number };
    assert.ok(lines <= 4, `the title takes ${lines} lines`);
    assert.ok(gateBottom <= screen, `the gate's verdict ends at ${gateBottom} px, below the frame's ${screen} px`);
  } finally {
    await page.context().close();
  }
});
