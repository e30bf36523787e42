/**
 * A stage whose `report` output is JSON (prepare-data's data-report.json) shows it as indented JSON in the stage
 * panel, not in the report frame meant for HTML reports (evaluate's report.html): the frame drew the JSON as one
 * unreadable run of text (the UI pass of session 12, on the demo's prepare stage). An HTML report keeps its frame.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/stage-json-report.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunState } from '../../src/core/run/run-types';
import { manualRun, succeededStage } from './run-fixtures';
import { chartPage, usePageModule } from './web-page';
import { screenshot } from '../e2e/helpers/ui-browser';

const RUN = 'quickstart-20261206-080121-yn0l';
const DATA_REPORT = { source: 's3://datasets/surface-cast/', records: 400, classes: [{ name: 'crack', count: 100 }] };

const web = usePageModule('./pages/stage-panel', ['StagePanel']);

function run(stageId: string, uses: string, report: string): RunState {
  return manualRun({
    runId: RUN,
    startedAt: '2026-12-06T08:01:21.000Z',
    stages: [succeededStage(stageId, uses, 'cpu', { report })],
  });
}

/** The panel for the stage, with the API answered in the page: the report endpoint gives `body`, the rest 404. */
async function panel(
  state: RunState,
  stageId: string,
  body: string,
  colorScheme: 'light' | 'dark',
  viewport = { width: 1280, height: 800 },
) {
  const page = await chartPage(web.browser, web.script, { body: '<div id="panel"></div>', colorScheme, viewport });
  await page.evaluate(
    ([text, json, id]) => {
      const w = globalThis as unknown as {
        fetch: (url: string) => Promise<unknown>;
        Response: new (body: string, init: { status: number; headers: Record<string, string> }) => unknown;
        StagePanel: new (runId: string, root: unknown) => { show(state: unknown, stageId: string): void };
        document: { getElementById(id: string): unknown };
      };
      w.fetch = async (url: string) =>
        url.endsWith('/report')
          ? new w.Response(text, { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' } })
          : new w.Response('{"error":{"message":"not in this test"}}', { status: 404, headers: {} });
      new w.StagePanel(JSON.parse(json).runId, w.document.getElementById('panel')).show(JSON.parse(json), id);
    },
    [body, JSON.stringify(state), stageId] as const,
  );
  return page;
}

for (const colorScheme of ['light', 'dark'] as const)
  test(`a JSON report reads as indented JSON, an HTML report keeps its frame (${colorScheme})`, async () => {
    const prepare = await panel(
      run('prepare', 'prepare-data', `s3://fineflow/runs/${RUN}/prepare/dataset/data-report.json`),
      'prepare',
      JSON.stringify(DATA_REPORT),
      colorScheme,
    );
    try {
      await prepare.locator('.stage-panel h2').waitFor();
      const shown = prepare.locator('details[data-section="report"][data-loaded="true"] pre.json');
      await shown.waitFor();
      assert.equal(await shown.textContent(), JSON.stringify(DATA_REPORT, null, 2));
      assert.equal(await prepare.locator('iframe.report').count(), 0, 'no HTML frame for a JSON report');
    } finally {
      await prepare.context().close();
    }
    const evaluate = await panel(
      run('evaluate', 'evaluate', `s3://fineflow/runs/${RUN}/evaluate/report/report.html`),
      'evaluate',
      '<h1>Evaluation</h1>',
      colorScheme,
    );
    try {
      await evaluate.locator('iframe.report').waitFor();
      assert.equal(await evaluate.locator('details[data-section="report"]').count(), 0);
    } finally {
      await evaluate.context().close();
    }
  });

// A JSON report that is not valid JSON (a stage cut off while writing it, or a command stage's own report) read as
// `{}`, an empty report: it is shown as written, under a note that says it is not valid JSON and where it breaks.
const CUT_OFF =
  '{\n  "source": "s3://datasets/surface-cast/",\n  "records": 400,\n  "classes": [{"name": "crack", "count"';

for (const colorScheme of ['light', 'dark'] as const)
  test(`a JSON report that is not valid JSON shows as written, with a note saying so (${colorScheme})`, async () => {
    const page = await panel(
      run('prepare', 'prepare-data', `s3://fineflow/runs/${RUN}/prepare/dataset/data-report.json`),
      'prepare',
      CUT_OFF,
      colorScheme,
    );
    try {
      const section = page.locator('details[data-section="report"][data-loaded="true"]');
      await section.waitFor();
      assert.equal(await section.locator('pre').textContent(), CUT_OFF, 'the report as written');
      const note = (await section.locator('p.report-note').textContent()) ?? '';
      assert.match(note, /^data-report\.json is not valid JSON: .+ \(line 4 column \d+\)\./);
      assert.match(note, /shown as written/);
      await screenshot(page, `stage-report-invalid-json-${colorScheme}`);
    } finally {
      await page.context().close();
    }
  });

// An evaluate stage's outputs took a line per number of its confusion matrix (about a hundred lines for four
// classes): the matrix now takes a line per row, and the whole still reads as JSON.
test("a stage's outputs show a confusion matrix a row per line", async () => {
  const matrix = [
    [12, 1, 7, 0],
    [0, 17, 3, 0],
    [2, 0, 18, 0],
    [0, 0, 0, 20],
  ];
  const outputs = {
    passed: true,
    metrics: { accuracy: 0.85, confusionMatrix: matrix },
    report: `s3://fineflow/runs/${RUN}/evaluate/report/report.html`,
  };
  const state = manualRun({
    runId: RUN,
    startedAt: '2026-12-06T08:01:21.000Z',
    stages: [succeededStage('evaluate', 'evaluate', 'cpu', outputs)],
  });
  const page = await panel(state, 'evaluate', '<h1>Evaluation</h1>', 'dark');
  try {
    const shown = page.locator('details', { hasText: 'Outputs' }).locator('pre.json');
    await shown.waitFor();
    const text = (await shown.textContent()) ?? '';
    assert.deepEqual(JSON.parse(text), outputs);
    assert.ok(text.includes('      [0, 17, 3, 0],\n'), text);
    assert.ok(text.split('\n').length <= 16, `${text.split('\n').length} lines`);
    await screenshot(page, 'stage-outputs-matrix-dark');
  } finally {
    await page.context().close();
  }
});

// On a phone a stage's outputs (and a model's card) ran off the box's right edge: every s3:// address, the part that
// says which run and stage, was behind a sideways scroll inside the box (seen in the UI pass on the demo's run).
for (const colorScheme of ['light', 'dark'] as const)
  test(`on a 390 px phone a stage's outputs wrap their long lines inside the box, still the same JSON (${colorScheme})`, async () => {
    const outputs = {
      dataset: `s3://fineflow/runs/${RUN}/prepare/dataset/manifest.json`,
      report: `s3://fineflow/runs/${RUN}/prepare/dataset/data-report.json`,
      classes: ['crack', 'ok', 'scratch', 'spot'],
    };
    const state = manualRun({
      runId: RUN,
      startedAt: '2026-12-06T08:01:21.000Z',
      stages: [succeededStage('prepare', 'prepare-data', 'cpu', outputs)],
    });
    const page = await panel(state, 'prepare', '{}', colorScheme, { width: 390, height: 844 });
    try {
      const shown = page.locator('details', { hasText: 'Outputs' }).locator('pre.json');
      await shown.waitFor();
      assert.deepEqual(JSON.parse((await shown.textContent()) ?? ''), outputs);
      const scroll = await shown.evaluate((pre: unknown) => {
        const box = pre as { scrollWidth: number; clientWidth: number };
        return box.scrollWidth - box.clientWidth;
      });
      assert.equal(scroll, 0, 'the outputs box scrolls sideways');
      await screenshot(page, `stage-outputs-390-${colorScheme}`);
    } finally {
      await page.context().close();
    }
  });
