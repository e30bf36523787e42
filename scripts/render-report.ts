/**
 * Renders an HTML report (e.g. an evaluate stage's report.html) to a full-page PNG in headless
 * Chromium, to look at it or to refresh docs/images/ (docs/evaluation.md says which report each image shows):
 *   node --import tsx scripts/render-report.ts .fineflow/dev/reports/<quickstart run>.html out.png   # after npm run demo
 *   node --import tsx scripts/render-report.ts test-artifacts/reports/iris-evaluate.html out.png    # after the Iris e2e test
 * The report is self-contained (inline SVG and PNG), so the page is loaded with the network off.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from './chromium';

async function render(input: string, output: string): Promise<void> {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1060, height: 900 }, offline: true });
    const page = await context.newPage();
    await page.goto(pathToFileURL(resolve(input)).href, { waitUntil: 'load' });
    await page.screenshot({ path: output, fullPage: true });
  } finally {
    await browser.close();
  }
}

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: node --import tsx scripts/render-report.ts REPORT.html OUT.png\n');
  process.exit(2);
}
render(input, output).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
