/**
 * When a run gives up on a stage after Temporal timed its last attempt out (its worker killed, a heartbeat missed),
 * the UI's stage log ends that attempt's log with the line `fineflow logs` prints ("[fineflow] attempt 2 ended
 * without finishing: … (heartbeat timeout) …", src/core/run/unfinished-attempt.ts): the log stopped at an epoch and
 * said nothing of why. The line stays last as more of the log streams in, is not on an earlier attempt's log, is
 * there when the attempt wrote no log at all, and a stage that failed on its own error gets none. The real
 * StagePanel, bundled as the UI server bundles it, with the API and the log stream answered in the page.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/stage-log-given-up.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { StageState } from '../../src/core/run/run-types';
import { unfinishedLastAttempts } from '../../src/client/run-logs';
import { manualRun } from './run-fixtures';
import { screenshot } from '../e2e/helpers/ui-browser';
import { chartPage, usePageModule } from './web-page';

const RUN = 'quickstart-20261206-080121-yn0l';
const web = usePageModule('./pages/stage-panel', ['StagePanel']);

function failedStage(error: { type: string; message: string }): StageState {
  return { id: 'finetune', uses: 'fine-tune', pool: 'train', status: 'failed', attempts: 2, error };
}
const TIMED_OUT = failedStage({ type: 'Timeout:HEARTBEAT', message: 'activity Heartbeat timeout' });
const stateOf = (stage: StageState) =>
  manualRun({ runId: RUN, startedAt: '2026-12-06T08:01:21.000Z', status: 'failed', stages: [stage] });

/** The panel on `stage`, with these attempts' logs listed; each opened log streams `chunks` (one every `gapMs`). */
async function showPanel(
  page: Page,
  stage: StageState,
  attempts: readonly number[],
  chunks: readonly string[],
): Promise<void> {
  await page.evaluate(
    ([json, listed, texts]) => {
      const w = globalThis as unknown as {
        fetch: (url: string) => Promise<unknown>;
        Response: new (body: string, init: { status: number; headers: Record<string, string> }) => unknown;
        EventSource: unknown;
        StagePanel: new (runId: string, root: unknown) => { show(state: unknown, stageId: string): void };
        document: { getElementById(id: string): unknown };
        sendLog: (text: string) => void;
      };
      const logs = (listed as number[]).map((attempt) => ({ attempt, size: 100 }));
      w.fetch = async (url: string) =>
        url.endsWith('/logs')
          ? new w.Response(JSON.stringify({ logs }), { status: 200, headers: { 'Content-Type': 'application/json' } })
          : new w.Response('{"error":{"message":"not in this test"}}', { status: 404, headers: {} });
      // The log's server-sent events: each opened stream gets `texts`; the test sends more with sendLog.
      let listener: ((event: { data: string }) => void) | undefined;
      w.sendLog = (text: string) => listener?.({ data: JSON.stringify({ text }) });
      w.EventSource = class {
        constructor(readonly url: string) {}
        addEventListener(_name: string, fn: (event: { data: string }) => void): void {
          listener = fn;
          for (const text of texts as string[])
            fn({ data: JSON.stringify({ text: `${this.url.split('/logs/')[1]?.split('/')[0]}: ${text}` }) });
        }
        close(): void {
          listener = undefined;
        }
      };
      const state = JSON.parse(json as string);
      new w.StagePanel(state.runId, w.document.getElementById('panel')).show(state, 'finetune');
    },
    [JSON.stringify(stateOf(stage)), attempts, chunks] as const,
  );
}

const givenUpLine = (): string => {
  const [found] = unfinishedLastAttempts(stateOf(TIMED_OUT), 'finetune');
  assert.ok(found, '`fineflow logs` says the attempt ended without finishing');
  return `[fineflow] ${found.line}`;
};

for (const width of [390, 1280])
  for (const colorScheme of ['light', 'dark'] as const)
    test(`the log of an attempt Temporal timed out ends with fineflow logs' give-up line (${width}, ${colorScheme})`, async () => {
      const page = await chartPage(web.browser, web.script, {
        body: '<div id="panel"></div>',
        colorScheme,
        viewport: { width, height: 844 },
      });
      try {
        await showPanel(page, TIMED_OUT, [1, 2], ['epoch 3/10 loss 0.41\n']);
        const line = page.locator('#stage-log .give-up');
        await line.waitFor();
        assert.equal(await line.textContent(), givenUpLine());
        assert.match(givenUpLine(), /^\[fineflow\] attempt 2 ended without finishing: .*\(heartbeat timeout\)/);
        // More of the log arrives (a chunk the store took late): the line stays last.
        await page.evaluate(() =>
          (globalThis as unknown as { sendLog: (t: string) => void }).sendLog('2: epoch 4/10\n'),
        );
        const text = (await page.locator('#stage-log').textContent()) ?? '';
        assert.equal(text, `2: epoch 3/10 loss 0.41\n2: epoch 4/10\n${givenUpLine()}`);
        assert.equal(
          await page.locator('#stage-log').evaluate((pre) => pre.lastElementChild === pre.lastChild),
          true,
          'the line is the last node of the log box',
        );
        await screenshot(page, `stage-log-given-up-${width}-${colorScheme}`);
        // Attempt 1's log: its end was said by attempt 2's own log, not here.
        await page.locator('#log-attempt').selectOption('1');
        await page.locator('#stage-log', { hasText: '1: epoch 3/10' }).waitFor();
        assert.equal(await line.count(), 0);
        await page.locator('#log-attempt').selectOption('2');
        await line.waitFor();
      } finally {
        await page.context().close();
      }
    });

test('an attempt that wrote no log still gets the line; a stage failed by its own error gets none', async () => {
  const page = await chartPage(web.browser, web.script, {
    body: '<div id="panel"></div>',
    colorScheme: 'light',
    viewport: { width: 1280, height: 800 },
  });
  try {
    await showPanel(page, TIMED_OUT, [], []);
    await page.locator('#stage-log .give-up').waitFor();
    assert.equal(
      await page.locator('#stage-log').textContent(),
      "(no log in the store for this attempt: its worker stopped before the store took any line; see the worker's " +
        `own output)${givenUpLine()}`,
    );
  } finally {
    await page.context().close();
  }
  const other = await chartPage(web.browser, web.script, {
    body: '<div id="panel"></div>',
    colorScheme: 'light',
    viewport: { width: 1280, height: 800 },
  });
  try {
    await showPanel(other, failedStage({ type: 'InvalidInputError', message: 'bad data' }), [1, 2], ['boom\n']);
    await other.locator('#stage-log', { hasText: 'boom' }).waitFor();
    assert.equal(await other.locator('#stage-log .give-up').count(), 0);
  } finally {
    await other.context().close();
  }
});
