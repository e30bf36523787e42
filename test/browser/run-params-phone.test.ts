/**
 * A run's params on the run page at 390 px: each reads `name=value` and a line breaks between params, never inside a
 * name (the one-line JSON broke where the line was full: "epoc" / "hs", found in the UI pass on the demo's run). The
 * real run page, bundled, with the API answered in the page. Light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/run-params-phone.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualRun } from './run-fixtures';
import { chartPage, usePageModule } from './web-page';
import { screenshot } from '../e2e/helpers/ui-browser';

const PARAMS = { dataset: 's3://datasets/surface-cast/', examplesPerClass: 20, epochs: 20, minAccuracy: 0.6 };
const STATE = manualRun({
  runId: 'quickstart-20261206-110450-rycy',
  startedAt: '2026-12-06T11:04:51.003Z',
  endedAt: '2026-12-06T11:05:32.920Z',
  params: PARAMS,
  stages: [],
});

const web = usePageModule('./pages/run', ['runPage']);

/** For each name, the lines its letters sit on, in the Params fact's text. */
const NAME_LINES = `(() => {
  const dd = [...document.querySelectorAll('dl.facts dt')].find((dt) => dt.textContent === 'Params').nextElementSibling;
  const texts = [];
  const walker = document.createTreeWalker(dd, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) texts.push(node);
  return ${JSON.stringify(Object.keys(PARAMS))}.map((name) => {
    const node = texts.find((t) => t.textContent.includes(name));
    if (!node) return { name, lines: 0 };
    const range = document.createRange();
    const at = node.textContent.indexOf(name);
    range.setStart(node, at);
    range.setEnd(node, at + name.length);
    return { name, lines: new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size };
  });
})()`;

for (const colorScheme of ['light', 'dark'] as const)
  test(`a run's params break between params, never inside a name, at 390 px (${colorScheme})`, async () => {
    const page = await chartPage(web.browser, web.script, {
      body: '',
      colorScheme,
      viewport: { width: 390, height: 844 },
    });
    try {
      await page.evaluate(
        (details: string) => {
          const w = globalThis as unknown as {
            fetch: (url: string) => Promise<unknown>;
            Response: new (body: string, init: { status: number; headers: Record<string, string> }) => unknown;
            EventSource: unknown;
            runPage: (runId: string, params: unknown) => { element: unknown };
            URLSearchParams: new () => unknown;
            document: { querySelector(selector: string): { appendChild(node: unknown): void } };
          };
          w.fetch = async (url: string) =>
            url.endsWith('/runs/quickstart-20261206-110450-rycy')
              ? new w.Response(details, { status: 200, headers: { 'Content-Type': 'application/json' } })
              : new w.Response('{"error":{"message":"not in this test"}}', { status: 404, headers: {} });
          // An ended run: the page closes its event stream at once.
          w.EventSource = class {
            addEventListener(): void {}
            close(): void {}
          };
          w.document
            .querySelector('main')
            .appendChild(w.runPage(JSON.parse(details).state.runId, new w.URLSearchParams()).element);
        },
        JSON.stringify({ state: STATE, graph: { nodes: [], edges: [] }, sweeps: [] }),
      );
      await page.locator('dl.facts dt', { hasText: 'Params' }).waitFor();
      await screenshot(page, `run-params-390-${colorScheme}`);
      const names = (await page.evaluate(NAME_LINES)) as { name: string; lines: number }[];
      for (const { name, lines } of names) assert.equal(lines, 1, `param name "${name}" is on ${lines} lines`);
    } finally {
      await page.context().close();
    }
  });
