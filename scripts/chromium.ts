/**
 * Headless Chromium for the browser tests, the UI benchmark and the README screenshots: Debian's
 * `chromium` package (scripts/ensure-chromium.sh installs it; npm cannot download browsers here)
 * driven by playwright-core. `FINEFLOW_CHROMIUM` names another binary.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.FINEFLOW_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: run scripts/ensure-chromium.sh (apt-get install chromium) or set FINEFLOW_CHROMIUM`,
    );
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** The tallest capture Chromium draws in one piece (its largest texture is 16384 px). */
const MAX_CAPTURE_HEIGHT = 16_000;

/**
 * A whole-page screenshot in which embedded frames are drawn. Playwright's `fullPage` captures past the viewport, but
 * Chromium paints a cross-origin frame (a stage report's sandboxed iframe) only inside the viewport, so a report below
 * the fold came out blank. So the viewport grows to the page's height, each frame's `load` is awaited (not a fixed
 * time), and two animation frames pass so the grown page is painted; the viewport is restored afterwards.
 */
export async function screenshotWholePage(page: Page, file: string): Promise<void> {
  const viewport = page.viewportSize();
  if (!viewport) throw new Error('screenshotWholePage needs a page with a fixed viewport');
  const height = Number(await page.evaluate('document.documentElement.scrollHeight'));
  await page.setViewportSize({
    width: viewport.width,
    height: Math.min(Math.max(height, viewport.height), MAX_CAPTURE_HEIGHT),
  });
  try {
    for (const element of await page.locator('iframe').elementHandles())
      await (await element.contentFrame())?.waitForLoadState('load');
    await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
    await page.screenshot({ path: file, fullPage: height > MAX_CAPTURE_HEIGHT });
  } finally {
    await page.setViewportSize(viewport);
  }
}
