/** Layout checks the phone-width browser tests share. */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';

/** Fails when the page is wider than its viewport (the user would scroll the whole page sideways). */
export async function assertNoSideScroll(page: Page): Promise<void> {
  const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
  assert.equal(overflow, 0, 'nothing scrolls the page sideways');
}

/**
 * For each card (table row) `rows` finds: the cells whose content is not wholly inside the window (left of 0, right of
 * its width, or cut by a box that scrolls), and the cells that have a value but no visible label (a `data-label`
 * drawn before it; a card's title, a mark beside it (`card-mark`: a best trial's ★) and buttons need none).
 */
const CARDS = (rows: string): string => `(() => [...document.querySelectorAll(${JSON.stringify(rows)})].map((row) => {
  const offScreen = [];
  const unlabelled = [];
  for (const cell of row.cells) {
    const range = document.createRange();
    range.selectNodeContents(cell);
    for (const rect of range.getClientRects()) {
      if (rect.width === 0) continue;
      let clipped = rect.left < 0 || rect.right > window.innerWidth + 0.5;
      for (let box = cell; box && !clipped; box = box.parentElement) {
        const style = getComputedStyle(box);
        if (style.overflowX !== 'visible' && box.scrollWidth > box.clientWidth + 1) clipped = true;
      }
      if (clipped) { offScreen.push(cell.textContent); break; }
    }
    const label = getComputedStyle(cell, '::before').content;
    const titled = cell.classList.contains('card-title') || cell.classList.contains('card-mark') || cell.querySelector('button');
    if (!titled && cell.textContent.trim() !== '' && (label === 'none' || label === 'normal')) unlabelled.push(cell.textContent);
  }
  return { row: row.cells[0]?.textContent, offScreen, unlabelled };
}))()`;

/** Fails unless `expected` rows match `rows`, each a card whose every value is on screen and labelled (table.grid.cards). */
export async function assertCards(page: Page, rows: string, expected: number): Promise<void> {
  const cards = (await page.evaluate(CARDS(rows))) as { row: string; offScreen: string[]; unlabelled: string[] }[];
  assert.equal(cards.length, expected, JSON.stringify(cards));
  for (const card of cards) {
    assert.deepEqual(card.offScreen, [], `${card.row}: cells not on screen`);
    assert.deepEqual(card.unlabelled, [], `${card.row}: values without a label`);
  }
  await assertNoSideScroll(page);
}
