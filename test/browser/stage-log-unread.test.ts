/**
 * A stage whose log list cannot be read (the object store down: /logs answers 503) says so in its log box, with the
 * reason, instead of "(no log yet)", which read as a stage that had written nothing (the UI pass, on the demo's
 * evaluate stage with the object store unreachable); a section read on opening (Cache here; Checkpoints, Artifacts and
 * Resolved inputs alike) that fails says what failed, what to check, and offers Retry, which reads it again (it showed
 * the bare message, and stayed so until the page was reloaded). The real StagePanel, bundled as the UI server bundles it, with the
 * API answered in the page. Light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/stage-log-unread.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualRun, succeededStage } from './run-fixtures';
import { screenshot } from '../e2e/helpers/ui-browser';
import { chartPage, usePageModule } from './web-page';

const RUN = 'quickstart-20261206-080121-yn0l';
const REASON = `list s3://fineflow/runs/${RUN}/evaluate/logs/: object store unavailable (ECONNREFUSED)`;
const STATE = manualRun({
  runId: RUN,
  startedAt: '2026-12-06T08:01:21.000Z',
  stages: [succeededStage('evaluate', 'evaluate', 'cpu', { passed: true })],
});

const web = usePageModule('./pages/stage-panel', ['StagePanel']);

for (const colorScheme of ['light', 'dark'] as const)
  test(`a log that cannot be read says why, not "no log yet" (${colorScheme})`, async () => {
    const page = await chartPage(web.browser, web.script, {
      body: '<div id="panel"></div>',
      colorScheme,
      viewport: { width: 390, height: 844 },
    });
    try {
      await page.evaluate(
        ([json, reason]) => {
          const w = globalThis as unknown as {
            fetch: (url: string) => Promise<unknown>;
            Response: new (body: string, init: { status: number; headers: Record<string, string> }) => unknown;
            StagePanel: new (runId: string, root: unknown) => { show(state: unknown, stageId: string): void };
            document: { getElementById(id: string): unknown };
          };
          const json503 = { status: 503, headers: { 'Content-Type': 'application/json' } };
          // The cache section's first read fails as the log list does; its second (Retry) is answered.
          let cacheReads = 0;
          const cache = { enabled: false, lookups: [], rerunFromHere: { unavailable: 'not in this test' } };
          w.fetch = async (url: string) =>
            url.endsWith('/logs') || (url.endsWith('/cache') && cacheReads++ === 0)
              ? new w.Response(JSON.stringify({ error: { message: reason } }), json503)
              : url.endsWith('/cache')
                ? new w.Response(JSON.stringify(cache), { status: 200, headers: {} })
                : new w.Response('{"error":{"message":"not in this test"}}', { status: 404, headers: {} });
          const state = JSON.parse(json);
          new w.StagePanel(state.runId, w.document.getElementById('panel')).show(state, 'evaluate');
        },
        [JSON.stringify(STATE), REASON] as const,
      );
      const log = page.locator('#stage-log');
      await log.filter({ hasText: /\S/ }).waitFor();
      await screenshot(page, `stage-log-unread-390-${colorScheme}`);
      const text = (await log.textContent()) ?? '';
      assert.doesNotMatch(text, /no log yet/, 'a failed read is not an empty log');
      assert.match(text, /log not read/);
      assert.ok(text.includes(REASON), `the reason is shown: ${text}`);

      await page.locator('details[data-section="cache"] summary').click();
      const failure = page.locator('details[data-section="cache"] [role="alert"].load-failure');
      await failure.waitFor();
      await screenshot(page, `stage-section-unread-390-${colorScheme}`);
      const told = (await failure.textContent()) ?? '';
      assert.ok(told.includes(REASON), `the reason is shown: ${told}`);
      assert.match(told, /fineflow dev status/, 'what to check');
      await failure.getByRole('button', { name: 'Retry' }).click();
      await page.locator('details[data-section="cache"][data-loaded="true"]').waitFor();
      assert.equal(await failure.count(), 0, 'the retry read the section');
    } finally {
      await page.context().close();
    }
  });
