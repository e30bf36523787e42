/** Layout checks the phone-width browser tests share. */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';

/** Fails when the page is wider than its viewport (the user would scroll the whole page sideways). */
export async function assertNoSideScroll(page: Page): Promise<void> {
  const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
  assert.equal(overflow, 0, 'nothing scrolls the page sideways');
}
