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
import type { RuntimeHarness } from '../../fixtures/runtime/harness';

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
