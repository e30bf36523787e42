/**
 * Every page that reads before it draws, on a 390 px phone, served by the real UI server and drawn by the real app in
 * Chromium, while its read hangs and when it fails: a loading note on screen until the data arrives (and, when the read
 * is slow, what may be slow), then the data; a failed read says what failed, what to do, and offers Retry. The models
 * list and a model's versions were blank on a phone while the registry was read (their card tables hide their
 * headings), and stayed blank on a slow or failing read; compare and schedules drew nothing either. Light and dark.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/page-loading-states.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { RunClient } from '../../src/client/run-client';
import { DependencyUnavailableError } from '../../src/core/errors';
import type { RunState } from '../../src/core/run/run-types';
import type { ScheduleService } from '../../src/schedules/schedule-client';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { ObjectStore } from '../../src/storage/object-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertNoSideScroll } from './page-layout';

const BUCKET = 'fineflow';
const RUN = 'quickstart-20261206-080121-yn0l';
const OTHER = 'quickstart-20261206-080221-q7c2';

/**
 * Every read the pages make passes through here: `hold()` makes the next reads wait, `fail()` rejects them (the held
 * ones too) as an unreachable object store or Temporal would, `pass()` lets them through.
 */
const gate = {
  mode: 'pass' as 'pass' | 'hold' | 'fail',
  /** Reads refused so far (a page that refreshes itself keeps reading while it fails). */
  refused: 0,
  held: [] as { resolve(): void; reject(error: Error): void }[],
  failure: (): Error =>
    new DependencyUnavailableError('list s3://fineflow/models/: object store unavailable (ECONNREFUSED)'),
  hold(): void {
    this.mode = 'hold';
  },
  fail(): void {
    this.mode = 'fail';
    for (const waiter of this.held.splice(0)) waiter.reject(this.failure());
  },
  pass(): void {
    this.mode = 'pass';
    for (const waiter of this.held.splice(0)) waiter.resolve();
  },
  async through(): Promise<void> {
    if (this.mode === 'fail') {
      this.refused += 1;
      throw this.failure();
    }
    if (this.mode === 'hold') await new Promise<void>((resolve, reject) => this.held.push({ resolve, reject }));
  },
};

function gated<T extends object>(target: T, names: readonly (keyof T)[]): T {
  const wrapped = { ...target };
  for (const name of names) {
    const method = target[name] as (...args: unknown[]) => Promise<unknown>;
    (wrapped as Record<keyof T, unknown>)[name] = async (...args: unknown[]) => {
      await gate.through();
      return method.apply(target, args);
    };
  }
  return wrapped;
}

function stateOf(runId: string): RunState {
  return {
    runId,
    pipeline: 'quickstart',
    status: 'succeeded',
    trigger: { kind: 'manual' },
    startedAt: '2026-12-06T08:01:21.000Z',
    endedAt: '2026-12-06T08:02:56.000Z',
    params: { epochs: 4 },
    stages: [
      {
        id: 'evaluate',
        uses: 'evaluate',
        pool: 'cpu',
        status: 'succeeded',
        attempts: 1,
        outputs: { metrics: { accuracy: 0.85 } },
      },
    ],
  } as RunState;
}

let browser: Browser;
let ui: RunningUi;

before(async () => {
  const memory = createMemoryObjectStore({ buckets: [BUCKET] });
  for (const version of [1, 2]) {
    await memory.putJson(`s3://${BUCKET}/models/digits/${version}/card.json`, {
      name: 'digits',
      version,
      createdAt: `2026-12-0${version + 3}T08:49:00.000Z`,
      source: `s3://${BUCKET}/runs/r-${version}/finetune/model/model.json`,
      lineage: { runId: RUN },
      metrics: { accuracy: 0.8 + version / 100 },
    });
  }
  const store = gated<ObjectStore>(memory, ['list', 'getJson', 'getBytes', 'stat', 'getStream']);
  const runs = gated<Partial<RunClient>>(
    {
      list: async () => [
        {
          runId: RUN,
          pipeline: 'quickstart',
          status: 'succeeded',
          trigger: 'manual',
          startedAt: stateOf(RUN).startedAt,
        },
      ],
      state: async (runId: string) => stateOf(runId),
    },
    ['list', 'state'],
  );
  const schedules = {
    list: async () => {
      await gate.through();
      return [];
    },
    watchers: { listWithState: async () => [] },
  } as unknown as Partial<ScheduleService>;
  ({ ui, browser } = await startBrowserUi({ runs, store, bucket: BUCKET, schedules }));
});
after(async () => {
  gate.pass();
  await closeBrowserUi({ ui, browser });
});

/** The pages that read before they draw: where, what shows once the read is through. */
const PAGES = [
  { name: 'models', hash: '#/models', loaded: 'tr[data-model="digits"]' },
  { name: 'model', hash: '#/models/digits', loaded: 'tr[data-version="2"]' },
  { name: 'runs', hash: '#/runs', loaded: `tr[data-run-id="${RUN}"]` },
  { name: 'compare', hash: `#/compare?runs=${RUN},${OTHER}`, loaded: 'table.compare' },
  { name: 'schedules', hash: '#/schedules', loaded: 'td.empty' },
] as const;

/** Fails unless `selector`'s first match is drawn, wholly inside the window, with text. */
async function assertOnScreen(page: Page, selector: string, what: string): Promise<string> {
  const box = (await page.evaluate(
    `(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return null;
      const r = e.getBoundingClientRect();
      return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, text: e.textContent.trim() }; })()`,
  )) as { left: number; right: number; top: number; bottom: number; text: string } | null;
  assert.ok(box, `${what}: nothing matches ${selector}`);
  assert.ok(box.right > box.left && box.bottom > box.top, `${what}: ${selector} is not drawn`);
  assert.ok(box.left >= 0 && box.right <= 390.5 && box.top >= 0 && box.bottom <= 844, `${what}: off screen`);
  assert.notEqual(box.text, '', `${what}: ${selector} is empty`);
  return box.text;
}

for (const colorScheme of ['light', 'dark'] as const)
  for (const { name, hash, loaded } of PAGES)
    test(`${name} on a 390 px phone: a loading note while its read hangs, what to do when it fails (${colorScheme})`, async () => {
      const { page, errors } = await openPage(browser, colorScheme, { width: 390, height: 844 });
      try {
        gate.hold();
        await page.goto(`${ui.url}/${hash}`);
        const note = page.locator('.page [role="status"].loading');
        await note.waitFor();
        assert.match(await assertOnScreen(page, '.page [role="status"].loading', name), /^Loading .+…$/);
        await screenshot(page, `loading-${name}-390-${colorScheme}`);
        if (colorScheme === 'light') {
          // A slow read says what it waits for (no fixed wait: the note changes after a few seconds).
          await note.filter({ hasText: 'Still loading' }).waitFor();
          await assertOnScreen(page, '.page [role="status"].loading', `${name}, slow`);
        }

        gate.fail();
        const alert = page.locator('.page [role="alert"].load-failure');
        await alert.waitFor();
        const told = await assertOnScreen(page, '.page [role="alert"].load-failure', `${name}, failed`);
        assert.match(told, /object store unavailable \(ECONNREFUSED\)/, 'the server’s reason is shown');
        assert.match(told, /fineflow dev status/, 'the note says what to check');
        assert.equal(await note.count(), 0, 'the loading note is gone once the read failed');
        await screenshot(page, `load-failed-${name}-390-${colorScheme}`);
        await assertNoSideScroll(page);

        gate.pass();
        await alert.getByRole('button', { name: 'Retry' }).click();
        await page.locator(loaded).first().waitFor();
        assert.equal(await alert.count(), 0, 'the failure note is gone once the retry read the data');
        assert.equal(await note.count(), 0, 'no loading note once the data is drawn');
        await assertNoSideScroll(page);
        // The browser logs each failed response (503) itself; anything else is the page's.
        assert.deepEqual(
          errors.filter((e) => !/Failed to load resource: .* 503/.test(e)),
          [],
        );
      } finally {
        gate.pass();
        await page.context().close();
      }
    });

/** Resolves once `count()` has grown by `by` (the gate counts reads; each refresh is one). */
async function readsGrow(count: () => number, by: number): Promise<void> {
  const target = count() + by;
  while (count() < target) await new Promise((resolve) => setTimeout(resolve, 100));
}

// Runs and schedules refresh themselves every few seconds; a refresh that fails as the last one did must leave the
// failure note as it is: redrawn, it took the focus off Retry (a keyboard user lost their place every 3 s) and a
// screen reader announced the same alert again.
for (const { name, hash } of PAGES.filter((p) => p.name === 'runs' || p.name === 'schedules'))
  test(`${name}: a refresh that fails again keeps the failure note, and the focus on its Retry`, async () => {
    const { page } = await openPage(browser, 'light', { width: 390, height: 844 });
    try {
      gate.fail();
      await page.goto(`${ui.url}/${hash}`);
      const retry = page.locator('.page [role="alert"].load-failure').getByRole('button', { name: 'Retry' });
      await retry.waitFor();
      await retry.focus();
      await page.evaluate(`window.__firstFailure = document.querySelector('.page [role="alert"].load-failure')`);
      await readsGrow(() => gate.refused, 2);
      // The page draws a failed read's note when its response arrives: wait for the one after the counted reads.
      await readsGrow(() => gate.refused, 1);
      const kept = (await page.evaluate(`(() => {
        const note = document.querySelector('.page [role="alert"].load-failure');
        return { same: note === window.__firstFailure, notes: document.querySelectorAll('.page .load-failure').length,
          focused: document.activeElement?.textContent ?? null };
      })()`)) as { same: boolean; notes: number; focused: string | null };
      assert.deepEqual(kept, { same: true, notes: 1, focused: 'Retry' });
    } finally {
      gate.pass();
      await page.context().close();
    }
  });
