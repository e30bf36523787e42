/**
 * The browser side of the UI tests: Debian's Chromium (scripts/ensure-chromium.sh installs it)
 * driven by playwright-core, and a `fineflow ui` server over a runtime harness's clients.
 * Screenshots go to test-artifacts/ui/ (gitignored).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshotWholePage } from '../../../scripts/chromium';
import { taskQueueForPool } from '../../../src/core/run/task-queues';
import { ScheduleService } from '../../../src/schedules/schedule-client';
import { startUiServer, type RunningUi, type UiServerOptions } from '../../../src/ui/server';
import { startRuntimeHarness, type RuntimeHarness } from '../../fixtures/runtime/harness';

export const SCREENSHOTS = path.join(__dirname, '../../../test-artifacts/ui');
/** Debian's Chromium through playwright-core (scripts/chromium.ts, shared with the UI bench and screenshots). */
export const launchBrowser = launchChromium;

export function startUiFor(h: RuntimeHarness, options: UiServerOptions = {}): Promise<RunningUi> {
  return startUiServer(
    {
      runs: h.runs,
      store: h.store,
      bucket: h.config.s3.bucket,
      // Watchers started from the UI's schedule service run on the harness's own control worker.
      schedules: new ScheduleService(h.client, {
        bucket: h.config.s3.bucket,
        workflowTaskQueue: taskQueueForPool(h.pools.control),
      }),
      namespace: h.config.temporal.namespace,
      temporalUiUrl: `http://127.0.0.1:${process.env.FINEFLOW_TEMPORAL_UI_PORT ?? '8233'}`,
    },
    { pollMs: 250, ...options },
  );
}

/** What a UI test drives: a runtime harness, `fineflow ui` over its clients, and a headless Chromium. */
export interface UiStack {
  readonly h: RuntimeHarness;
  readonly ui: RunningUi;
  readonly browser: Browser;
  /** Closes the browser, the UI server and the harness, in that order. */
  close(): Promise<void>;
}

/** Starts a UI test's stack; what started before a failing step is closed again before the error is thrown. */
export async function startUiStack(): Promise<UiStack> {
  const h = await startRuntimeHarness();
  let ui: RunningUi | undefined;
  try {
    ui = await startUiFor(h);
    const browser = await launchBrowser();
    const started = ui;
    return {
      h,
      ui: started,
      browser,
      close: async () => {
        await browser.close();
        await started.close();
        await h.close();
      },
    };
  } catch (error) {
    await ui?.close();
    await h.close();
    throw error;
  }
}

/** A laptop-sized page that fails the test on any script error. */
export async function openPage(
  browser: Browser,
  colorScheme: 'light' | 'dark' = 'light',
  viewport: { readonly width: number; readonly height: number } = { width: 1366, height: 800 },
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  // Not Playwright's fullPage: it leaves a report's frame below the fold blank.
  await screenshotWholePage(page, file);
  return file;
}
