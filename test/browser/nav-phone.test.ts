/**
 * The header on a 390 px phone: its six sections wrapped to a second line (the header 90 px high, "Pipelines" alone
 * below). It is one line with a Menu button that opens the nav as a list below it: a disclosure a keyboard and a
 * screen reader use (a button named Menu with aria-expanded, Tab goes from it into the list, Escape closes it and gives
 * the focus back, following a link closes it). At 1280 px the nav is one line and the button is not shown. Nothing
 * scrolls sideways. Light and dark, real UI server and app in Chromium.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/nav-phone.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { useEmptyBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const SECTIONS = ['Runs', 'Compare', 'Models', 'Datasets', 'Schedules', 'Pipelines'];
/** A header of one line: the brand's and the button's height plus its padding, well under two lines of links. */
const ONE_LINE = 56;

/** The UI server with no data, and Chromium (browser-ui.ts). */
const web = useEmptyBrowserUi();

async function header(page: Page): Promise<{ height: number; overflow: number }> {
  return page.locator('header.top').evaluate((el) => ({
    height: el.getBoundingClientRect().height,
    overflow: el.scrollWidth - el.clientWidth,
  }));
}

/** The focused element's text, without the menu button's icon. */
async function focused(page: Page): Promise<string> {
  return page.evaluate<string>(`(document.activeElement?.textContent ?? '').replace('☰', '').trim()`);
}

/** The nav's links a reader sees now, with whether each lies within the screen's width. */
async function visibleLinks(page: Page): Promise<[string, boolean][]> {
  return page.locator('header nav a').evaluateAll((links) =>
    links
      .filter((a) => a.getClientRects().length > 0)
      .map((a) => {
        const box = a.getBoundingClientRect();
        const width = (globalThis as unknown as { innerWidth: number }).innerWidth;
        return [a.textContent ?? '', box.left >= 0 && box.right <= width] as [string, boolean];
      }),
  );
}

for (const colorScheme of ['light', 'dark'] as const) {
  test(`390 px: the header is one line; Menu opens the sections, by keyboard too (${colorScheme})`, async () => {
    const { page, errors } = await openPage(web.browser, colorScheme, { width: 390, height: 844 });
    try {
      await page.goto(`${web.ui.url}/#/models`);
      await page.locator('main h1').waitFor();
      const closed = await header(page);
      assert.ok(closed.height <= ONE_LINE, `the header is ${closed.height} px high`);
      assert.equal(closed.overflow, 0, 'nothing in the header runs past its edge');
      assert.deepEqual(await visibleLinks(page), [], 'the sections are folded behind the button');
      const button = page.getByRole('button', { name: 'Menu' });
      assert.equal(await button.getAttribute('aria-expanded'), 'false');
      assert.equal(await button.getAttribute('aria-controls'), 'main-nav');
      await assertNoSideScroll(page);
      await screenshot(page, `nav-390-closed-${colorScheme}`);

      // By keyboard: skip link, brand, then the button; Enter opens, Tab walks into the list.
      await page.locator('body').focus();
      for (let i = 0; i < 3; i += 1) await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'Menu');
      await page.keyboard.press('Enter');
      assert.equal(await button.getAttribute('aria-expanded'), 'true');
      assert.deepEqual(
        await visibleLinks(page),
        SECTIONS.map((s) => [s, true]),
      );
      const open = await header(page);
      assert.equal(open.overflow, 0);
      await assertNoSideScroll(page);
      await screenshot(page, `nav-390-open-${colorScheme}`);
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'Runs');
      // Escape closes it and the focus goes back to the button.
      await page.keyboard.press('Escape');
      assert.equal(await button.getAttribute('aria-expanded'), 'false');
      assert.deepEqual(await visibleLinks(page), []);
      assert.equal(await focused(page), 'Menu');

      // Following a section closes the menu on the new page, which is marked current.
      await page.keyboard.press('Enter');
      for (let i = 0; i < 4; i += 1) await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'Datasets');
      await page.keyboard.press('Enter');
      await page.waitForURL(/#\/datasets$/);
      // The menu closes on the hashchange that follows the URL's change.
      await page.locator('button.nav-toggle[aria-expanded="false"]').waitFor();
      assert.deepEqual(await visibleLinks(page), []);
      assert.equal(await page.locator('header nav a[aria-current="page"]').textContent(), 'Datasets');
      // A click outside the header closes it too.
      await button.click();
      assert.equal(await button.getAttribute('aria-expanded'), 'true');
      await page.locator('main').click({ position: { x: 5, y: 300 } });
      assert.equal(await button.getAttribute('aria-expanded'), 'false');
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });

  test(`1280 px: the sections on one line, no menu button (${colorScheme})`, async () => {
    const { page, errors } = await openPage(web.browser, colorScheme, { width: 1280, height: 800 });
    try {
      await page.goto(`${web.ui.url}/#/models`);
      await page.locator('main h1').waitFor();
      const shown = await header(page);
      assert.ok(shown.height <= ONE_LINE, `the header is ${shown.height} px high`);
      assert.deepEqual(
        await visibleLinks(page),
        SECTIONS.map((s) => [s, true]),
      );
      assert.equal(await page.getByRole('button', { name: 'Menu' }).isVisible(), false);
      await assertNoSideScroll(page);
      await screenshot(page, `nav-1280-${colorScheme}`);
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });
}
