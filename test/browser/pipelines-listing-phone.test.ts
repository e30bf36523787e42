/**
 * The pipelines page's numbered listing on a 390 px phone, served by the real UI server (its /api/validate compiles the
 * pipeline) and drawn by the real app in Chromium: a long line wraps under itself, right of its number, and the box
 * does not scroll sideways. It kept each line on one line (white-space: pre), so most of the quickstart's lines and
 * every diagnostic's message ran off the screen's right edge behind a sideways scroll inside the box. Light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/pipelines-listing-phone.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { useEmptyBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

/** The UI server with no data, and Chromium (browser-ui.ts). */
const web = useEmptyBrowserUi();

/** The quickstart with a mistyped stage type: an error (with its hint) under line 28. */
const YAML = readFileSync('pipelines/quickstart.yaml', 'utf8').replace('uses: select-model', 'uses: select-modle');

/** How far the listing's box scrolls sideways, and the lines whose number or text is not inside the box. */
const LISTING = `(() => {
  const box = document.querySelector('.source');
  const inner = box.getBoundingClientRect();
  const outside = [];
  for (const row of box.querySelectorAll('.src-line, .diag')) {
    const range = document.createRange();
    range.selectNodeContents(row);
    for (const r of range.getClientRects())
      if (r.width > 0 && (r.left < inner.left - 0.5 || r.right > inner.right + 0.5)) { outside.push(row.dataset.line + ' ' + row.textContent.slice(0, 40)); break; }
  }
  const wrapped = [...box.querySelectorAll('.src-line code')].filter((code) => code.getClientRects().length > 0 && code.getBoundingClientRect().height > 30).length;
  return { scroll: box.scrollWidth - box.clientWidth, outside, wrapped, lines: box.querySelectorAll('.src-line').length };
})()`;

for (const colorScheme of ['light', 'dark'] as const)
  test(`pipelines at 390 px: the numbered listing wraps its long lines in its box, no sideways scroll (${colorScheme})`, async () => {
    const { page, errors } = await openPage(web.browser, colorScheme, { width: 390, height: 844 });
    try {
      await page.goto(`${web.ui.url}/#/pipelines`);
      await page.locator('#pipeline-yaml').fill(YAML);
      await page.locator('#validate-pipeline').click();
      await page.locator('.source .diag[data-line="28"]').waitFor();
      const seen = (await page.evaluate(LISTING)) as {
        scroll: number;
        outside: string[];
        wrapped: number;
        lines: number;
      };
      assert.equal(seen.lines, YAML.split('\n').length);
      assert.deepEqual(seen.outside, [], 'lines past the box’s edges');
      assert.equal(seen.scroll, 0, 'the listing’s box scrolls sideways');
      assert.ok(seen.wrapped > 0, 'some long line is wrapped');
      await assertNoSideScroll(page);
      await screenshot(page, `pipelines-listing-390-${colorScheme}`);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
