/**
 * The browser tests' page: the web app's code (src/ui/web/charts.ts or a page module, bundled by esbuild as the UI
 * server does) with the app's stylesheet and uPlot's, in a blank page of Debian's Chromium. No stack, no server: the
 * charts and views are functions of their data.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/chromium';

const WEB = path.join(__dirname, '../../src/ui/web');
const UPLOT_CSS = require.resolve('uplot/dist/uPlot.min.css');

/** A script that puts the named exports of charts.ts on `window`. */
export async function bundleCharts(names: readonly string[]): Promise<string> {
  return bundleWeb('./charts', names);
}

/** A script that puts the named exports of a web module (`./pages/sweep-view`, relative to src/ui/web) on `window`. */
export async function bundleWeb(module: string, names: readonly string[]): Promise<string> {
  const bundled = await build({
    stdin: {
      contents: `import { ${names.join(', ')} } from '${module}'; Object.assign(window, { ${names.join(', ')} });`,
      resolveDir: WEB,
      loader: 'ts',
    },
    bundle: true,
    write: false,
    format: 'iife',
    logLevel: 'silent',
  });
  // tsx names the functions a test hands to the page through a helper the page lacks.
  return `${bundled.outputFiles[0]?.text ?? ''}\nwindow.__name = (f) => f;`;
}

/**
 * A page-module test file's set-up: before its tests, the named exports of `module` bundled (see {@link bundleWeb}) and
 * Chromium started; after them, Chromium closed. Read `browser` and `script` inside tests, not at load time.
 */
export function usePageModule(
  module: string,
  names: readonly string[],
): { readonly browser: Browser; readonly script: string } {
  const started: { browser?: Browser; script?: string } = {};
  before(async () => {
    started.script = await bundleWeb(module, names);
    started.browser = await launchChromium();
  });
  after(async () => {
    await started.browser?.close();
  });
  return {
    get browser(): Browser {
      if (!started.browser)
        throw new Error(`usePageModule(${module}): Chromium is not started (read it inside a test)`);
      return started.browser;
    },
    get script(): string {
      if (started.script === undefined)
        throw new Error(`usePageModule(${module}): not bundled yet (read it inside a test)`);
      return started.script;
    },
  };
}

/** A page at `viewport` in `colorScheme` holding `body` under the app's styles (plus `css`) and `script` (if any). */
export async function chartPage(
  browser: Browser,
  script: string,
  options: {
    readonly body: string;
    readonly css?: string;
    readonly colorScheme: 'light' | 'dark';
    readonly viewport: { readonly width: number; readonly height: number };
  },
): Promise<Page> {
  const context = await browser.newContext({ viewport: options.viewport, colorScheme: options.colorScheme });
  const page = await context.newPage();
  const styles = [
    readFileSync(UPLOT_CSS, 'utf8'),
    readFileSync(path.join(WEB, 'styles.css'), 'utf8'),
    options.css ?? '',
  ];
  await page.setContent(
    `<!doctype html><html><head>${styles.map((css) => `<style>${css}</style>`).join('')}</head>` +
      `<body><main>${options.body}</main></body></html>`,
  );
  if (script !== '') await page.addScriptTag({ content: script });
  return page;
}
