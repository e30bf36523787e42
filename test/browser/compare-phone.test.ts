/**
 * Compare on a 390 px phone, served by the real UI server (the run client answers `state` only) and drawn by the real
 * app in Chromium: every compared run can be reached (its column scrolled into view shows its id and its values), and
 * a run's id is never broken at its hyphens where the line could hold it (the squeezed table broke
 * "quickstart-/20261206-/…" in the header links and the curves table, which read as several names). Light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/compare-phone.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { newRunId } from '../../src/client/run-client';
import type { RunState } from '../../src/core/run/run-types';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startRunStatesUi } from './browser-ui';
import { manualRun, succeededStage } from './run-fixtures';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const at = new Date('2026-12-06T08:01:21Z');
const IDS = [
  newRunId('quickstart', at, () => 'yn0l'),
  newRunId('quickstart', new Date(at.getTime() + 60_000), () => 'q7c2'),
  newRunId('defect-detector-line-b', new Date(at.getTime() + 120_000), () => 'a1b2'),
];

function stateOf(runId: string, index: number): RunState {
  const history = [1, 2, 3, 4].map((epoch) => ({
    epoch,
    trainLoss: 1 / (epoch + index),
    validationLoss: 1.1 / (epoch + index),
    trainAccuracy: 0.5 + epoch / 10,
    validationAccuracy: 0.45 + epoch / 10 - index / 50,
  }));
  return manualRun({
    runId,
    status: index === 2 ? 'failed' : 'succeeded',
    startedAt: at.toISOString(),
    endedAt: new Date(at.getTime() + 95_000).toISOString(),
    // The third run has no minAccuracy param: its cell says so.
    params: { learningRate: 0.001 * (index + 1), ...(index === 2 ? {} : { minAccuracy: 0.8 }) },
    stages: [
      succeededStage('finetune', 'fine-tune', 'train', {
        history,
        metrics: { bestEpoch: 3, accuracy: 0.8 - index / 20 },
      }),
    ],
  });
}

let browser: Browser;
let ui: RunningUi;

before(async () => {
  ({ ui, browser } = await startRunStatesUi(IDS.map(stateOf)));
});
after(() => closeBrowserUi({ ui, browser }));

/**
 * Each element's text: how many lines it takes, and how many it needs (its width on one line over its room, rounded
 * up: the page's content box, or in the compare table what the row labels leave), in the browser.
 */
const MEASURE = (selector: string): string => `(() => {
  const inner = (box) => {
    const style = getComputedStyle(box);
    return box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  };
  const main = document.querySelector('main');
  return [...document.querySelectorAll(${JSON.stringify(selector)})].map((element) => {
    // The room of a run's column in the compare table: the table's box beside the row labels.
    const table = element.closest('table.compare');
    const labels = table?.querySelector('th:first-child');
    const room = table ? table.clientWidth - labels.offsetWidth - 16 : inner(main);
    // Lines of its text only (a colour swatch beside it is a box of its own height).
    const tops = new Set();
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const rect of range.getClientRects()) if (rect.width > 0) tops.add(Math.round(rect.bottom));
    }
    const lines = tops.size;
    const probe = document.createElement('span');
    probe.style.whiteSpace = 'nowrap';
    probe.style.font = getComputedStyle(element).font;
    probe.textContent = element.textContent;
    document.body.appendChild(probe);
    const natural = probe.getBoundingClientRect().width;
    probe.remove();
    return { text: element.textContent, lines, needed: Math.ceil(natural / room - 0.001) };
  });
})()`;

for (const colorScheme of ['light', 'dark'] as const) {
  test(`compare on a 390 px phone: every run reachable, run ids unbroken (${colorScheme})`, async () => {
    const { page, errors } = await openPage(browser, colorScheme, { width: 390, height: 844 });
    try {
      await page.goto(`${ui.url}/#/compare?runs=${IDS.join(',')}`);
      await page
        .locator('table.best-epochs tbody tr')
        .nth(IDS.length - 1)
        .waitFor();
      await page.locator('[data-chart="compare-accuracy"] canvas').waitFor();
      await screenshot(page, `compare-390-${colorScheme}`);
      await assertNoSideScroll(page);
      // The best-epochs table's five columns fit: with compact tables' padding it scrolled its last column off screen.
      const bestScroll = await page.evaluate(
        `(() => { const t = document.querySelector('table.best-epochs'); return t.scrollWidth - t.clientWidth; })()`,
      );
      assert.equal(bestScroll, 0, 'the best-epochs table scrolls sideways');
      // The run links of the side-by-side table and the rows of the best-epochs table.
      const texts = (await page.evaluate(MEASURE('table.compare a[href^="#/runs/"], table.best-epochs tbody th'))) as {
        text: string;
        lines: number;
        needed: number;
      }[];
      assert.equal(texts.length, IDS.length * 2, JSON.stringify(texts));
      for (const text of texts)
        assert.ok(text.lines <= text.needed, `"${text.text}" takes ${text.lines} lines where ${text.needed} hold it`);
      // Every run: its link, scrolled into view, is on screen together with its status and its accuracy.
      for (const id of IDS) {
        const link = page.locator('table.compare a', { hasText: id });
        await link.scrollIntoViewIfNeeded();
        const seen = (await page.evaluate(`(() => {
          const link = [...document.querySelectorAll('table.compare a')].find((a) => a.textContent === ${JSON.stringify(id)});
          // What the element shows (its contents, not its padding) is inside the window and not covered.
          const onScreen = (element) => {
            const range = document.createRange();
            range.selectNodeContents(element);
            const r = range.getBoundingClientRect();
            if (r.width === 0 || r.left < 0 || r.right > window.innerWidth) return false;
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return hit !== null && (hit === element || element.contains(hit) || hit.contains(element));
          };
          const table = link.closest('table');
          const column = [...link.closest('tr').children].indexOf(link.closest('th'));
          const cells = column > 0
            ? [...table.tBodies[0].rows].map((row) => row.children[column])
            : [...link.closest('[data-run]').querySelectorAll('td')];
          return { link: onScreen(link), cells: cells.map((cell) => onScreen(cell)) };
        })()`)) as { link: boolean; cells: boolean[] };
        assert.ok(seen.link, `${id}: its link is not on screen`);
        assert.ok(seen.cells.length > 0, `${id}: no values found`);
        assert.ok(
          seen.cells.every(Boolean),
          `${id}: ${seen.cells.filter((s) => !s).length} of its values are off screen`,
        );
      }
      await screenshot(page, `compare-390-last-run-${colorScheme}`);
      const minAccuracy = page.locator('table.compare tbody tr', { hasText: 'param minAccuracy' }).locator('td');
      assert.deepEqual(await minAccuracy.allTextContents(), ['0.8', '0.8', '–'], 'a param a run lacks reads –');
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
}
