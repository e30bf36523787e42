/**
 * No page scrolls sideways as a whole, served by the real UI server and drawn by the real app in Chromium:
 * - a run of a two-stage pipeline (the screenshot script's ui-sweep-demo: 376 px of drawing) on a 390 px phone: its
 *   DAG scrolled 12 px inside its box, where shrinking it to 12 px titles fits it; it now shrinks to fit as it does on
 *   a wide screen, and a DAG too wide even then scrolls inside its own box, never the page;
 * - the pipelines page at 1280 and 390 px with a YAML line far wider than the page (a long comment, a long URL): the
 *   page does not scroll, and the listing wraps the line in its box (at 1280 px it scrolled inside its box, hiding the
 *   line's end and the words of a diagnostic under it).
 * Light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/no-page-side-scroll.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { RunState } from '../../src/core/run/run-types';
import { useEmptyBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';
import { manualRun, succeededStage } from './run-fixtures';

/** The UI server with no data, and Chromium (browser-ui.ts). */
const web = useEmptyBrowserUi();

const SWEEP_RUN = 'ui-sweep-demo-20261207-041500-sw2p';
/** A run whose graph the test gives: every stage succeeded. */
function runOf(runId: string, nodes: { id: string; uses: string; pool: string }[]): RunState {
  return manualRun({
    runId,
    startedAt: '2026-12-07T04:15:00.000Z',
    endedAt: '2026-12-07T04:19:00.000Z',
    stages: nodes.map((node) => succeededStage(node.id, node.uses, node.pool, {})),
  });
}

async function openRun(
  page: Page,
  runId: string,
  graph: { nodes: { id: string; uses: string; pool: string }[]; edges: { from: string; to: string }[] },
): Promise<void> {
  await page.route(`**/api/runs/${runId}`, (route) =>
    route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ state: runOf(runId, graph.nodes), graph, sweeps: [] }),
    }),
  );
  await page.route(`**/api/runs/${runId}/stages/*/**`, (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: '{"logs":[],"attempts":[]}' }),
  );
  // A finished run opens on its sweep, whose panel reads the run's sweep tables.
  await page.route(`**/api/runs/${runId}/sweeps`, (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: '{"sweeps":[]}' }),
  );
  await page.goto(`${web.ui.url}/#/runs/${runId}`);
  await page.locator('#run-status[data-status="succeeded"]').waitFor();
  await page.locator('svg.dag g.node[data-status="succeeded"]').first().waitFor();
}

/** How far the DAG's box scrolls sideways, and its smallest rendered stage title in px. */
async function dagFit(page: Page): Promise<{ scroll: number; title: number }> {
  return (await page.evaluate(`(() => {
    const box = document.querySelector('.dag-box');
    const titles = [...box.querySelectorAll('.node-title')].map((t) => t.getBoundingClientRect().height);
    const svg = box.querySelector('svg.dag');
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return { scroll: box.scrollWidth - box.clientWidth, title: 13 * scale, titles: titles.length };
  })()`)) as { scroll: number; title: number };
}

const TWO_STAGES = {
  nodes: [
    { id: 'prepare', uses: 'prepare-data', pool: 'cpu' },
    { id: 'sweep', uses: 'hyperparameter-sweep', pool: 'train' },
  ],
  edges: [{ from: 'prepare', to: 'sweep' }],
};

for (const colorScheme of ['light', 'dark'] as const)
  test(`a two-stage run at 390 px fits its DAG without any sideways scroll (${colorScheme})`, async () => {
    const { page, errors } = await openPage(web.browser, colorScheme, { width: 390, height: 844 });
    try {
      await openRun(page, SWEEP_RUN, TWO_STAGES);
      const fit = await dagFit(page);
      assert.equal(fit.scroll, 0, 'the DAG scrolls sideways in its box');
      assert.ok(fit.title >= 12 - 1e-6, `stage titles drawn at ${fit.title.toFixed(2)} px`);
      await assertNoSideScroll(page);
      await screenshot(page, `run-two-stages-390-${colorScheme}`);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });

test('a DAG too wide for a phone even at 12 px titles scrolls inside its box, not the page', async () => {
  const chain = ['prepare', 'select', 'sweep', 'finetune', 'evaluate', 'register'];
  const graph = {
    nodes: chain.map((id) => ({ id, uses: 'test-echo', pool: 'cpu' })),
    edges: chain.slice(1).map((id, i) => ({ from: chain[i] ?? '', to: id })),
  };
  const { page } = await openPage(web.browser, 'light', { width: 390, height: 844 });
  try {
    await openRun(page, 'chain-20261207-041600-ch6n', graph);
    const fit = await dagFit(page);
    assert.ok(fit.scroll > 0, 'six columns do not fit a phone');
    assert.ok(fit.title >= 12 - 1e-6, `stage titles drawn at ${fit.title.toFixed(2)} px`);
    await assertNoSideScroll(page);
  } finally {
    await page.context().close();
  }
});

/** The quickstart with a description line of 400 characters and a 300-character URL: no space to break at in the URL. */
const LONG_YAML = readFileSync('pipelines/quickstart.yaml', 'utf8').replace(
  /^metadata:.*$/m,
  (line) =>
    `${line}\n# ${'a long comment line that keeps going '.repeat(10)}\n# https://example.com/${'x'.repeat(300)}`,
);

for (const width of [1280, 390])
  for (const colorScheme of ['light', 'dark'] as const)
    test(`pipelines at ${width} px: a long YAML line never scrolls the page sideways (${colorScheme})`, async () => {
      const { page, errors } = await openPage(web.browser, colorScheme, { width, height: 900 });
      try {
        await page.goto(`${web.ui.url}/#/pipelines`);
        await page.locator('#pipeline-yaml').fill(LONG_YAML);
        await page.locator('#validate-pipeline').click();
        await page.locator('.source .src-line').first().waitFor();
        await page.locator('svg.dag').first().waitFor();
        await assertNoSideScroll(page);
        // The listing keeps to the page, and wraps the long lines in its box: their ends (and the words of the
        // diagnostics under them) were behind a sideways scroll inside the box.
        const listing = (await page.evaluate(`(() => {
          const box = document.querySelector('.source');
          return { right: box.getBoundingClientRect().right, scroll: box.scrollWidth - box.clientWidth };
        })()`)) as { right: number; scroll: number };
        assert.ok(listing.right <= width, `the listing's box ends at ${listing.right} px`);
        assert.equal(listing.scroll, 0, 'the listing scrolls sideways in its box');
        await screenshot(page, `pipelines-long-line-${width}-${colorScheme}`);
        assert.deepEqual(errors, []);
      } finally {
        await page.context().close();
      }
    });
