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
import type { Browser, Locator, Page } from 'playwright-core';
import type { RunClient } from '../../src/client/run-client';
import { DependencyUnavailableError } from '../../src/core/errors';
import type { RunState } from '../../src/core/run/run-types';
import type { ScheduleService } from '../../src/schedules/schedule-client';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { ObjectStore } from '../../src/storage/object-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { contrast, parseRgb } from './page-colours';
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

/** Where the keyboard focus is: the element, and what a screen reader says there (its live region's text). */
/**
 * Opens `hash` with its read failing, presses its Retry from the keyboard and holds the retried read: resolves once the
 * loading note is shown (the page's clock installed, so refreshes wait for the test). Returns the failure note.
 */
async function retryIntoLoading(page: Page, hash: string): Promise<Locator> {
  await page.clock.install();
  gate.fail();
  await page.goto(`${ui.url}/${hash}`);
  const alert = page.locator('.page [role="alert"].load-failure');
  await alert.getByRole('button', { name: 'Retry' }).focus();
  gate.hold();
  await page.keyboard.press('Enter');
  await page.locator('.page [role="status"].loading').waitFor();
  return alert;
}

const FOCUS = `(() => {
  const focused = document.activeElement;
  if (!focused || focused === document.body) return null;
  const live = focused.closest('[role="status"], [role="alert"]') ?? focused.querySelector('[role="status"], [role="alert"]');
  return { tag: focused.tagName, text: focused.textContent.trim(), inPage: Boolean(focused.closest('.page')),
    announced: live ? live.textContent.trim() : null };
})()`;

type Focus = { tag: string; text: string; inPage: boolean; announced: string | null } | null;

// Retry replaced the failure note (and its button, which had the focus) with the loading note: the focus fell to the
// page, and a keyboard user started again from the top, with nothing said. It now follows the read: the loading note,
// a failure's new Retry, then the page's status region saying what loaded; a refresh after that keeps it there.
for (const { name, hash, loaded } of PAGES)
  test(`${name}: after Retry the focus stays with the read (loading note, new Retry, what loaded), announced`, async () => {
    const { page } = await openPage(browser, 'light', { width: 1280, height: 800 });
    try {
      const alert = await retryIntoLoading(page, hash);
      const loading = (await page.evaluate(FOCUS)) as Focus;
      assert.ok(loading?.inPage, `while loading the focus is on ${JSON.stringify(loading)}`);
      assert.match(loading.announced ?? '', /^Loading .+…$/);

      gate.fail();
      await alert.waitFor();
      const failed = (await page.evaluate(FOCUS)) as Focus;
      assert.equal(failed?.tag, 'BUTTON', `after a failed retry the focus is on ${JSON.stringify(failed)}`);
      assert.equal(failed.text, 'Retry');
      assert.match(failed.announced ?? '', /^Could not load /);

      gate.pass();
      await page.keyboard.press('Enter');
      await page.locator(loaded).first().waitFor();
      const done = (await page.evaluate(FOCUS)) as Focus;
      assert.ok(done?.inPage, `once loaded the focus is on ${JSON.stringify(done)}`);
      assert.match(done.announced ?? '', /^Loaded /);

      if (name === 'runs' || name === 'schedules') {
        await page.evaluate(`window.__drawn = document.querySelector(${JSON.stringify(loaded)})`);
        await page.clock.runFor(3_500);
        // Poll (the page's timers are Playwright's) until the refresh has drawn again.
        while (await page.evaluate(`document.querySelector(${JSON.stringify(loaded)}) === window.__drawn`))
          await new Promise((resolve) => setTimeout(resolve, 50));
        const refreshed = (await page.evaluate(FOCUS)) as Focus;
        assert.ok(refreshed?.inPage, `after a refresh the focus is on ${JSON.stringify(refreshed)}`);
      }
    } finally {
      gate.pass();
      await page.context().close();
    }
  });

/**
 * The focused element's outline as drawn (style, width, colour), the page's background under it, its box, and whether
 * its centre is its own (not covered by anything else on the page).
 */
const FOCUS_RING = `(() => {
  const focused = document.activeElement;
  if (!focused || focused === document.body) return null;
  const style = getComputedStyle(focused);
  const r = focused.getBoundingClientRect();
  const atCentre = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return { className: focused.className, text: focused.textContent.trim(),
    outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth), outlineColor: style.outlineColor,
    background: getComputedStyle(document.body).backgroundColor,
    box: { width: r.width, height: r.height, top: r.top, bottom: r.bottom, left: r.left, right: r.right },
    unobscured: Boolean(atCentre && (atCentre === focused || focused.contains(atCentre))) };
})()`;

interface FocusRing {
  className: string;
  text: string;
  outlineStyle: string;
  outlineWidth: number;
  outlineColor: string;
  background: string;
  box: { width: number; height: number; top: number; bottom: number; left: number; right: number };
  unobscured: boolean;
}

/**
 * Fails unless the focus is on something drawn, with text, on screen and not covered (WCAG 2.4.11), outlined solid and
 * at least 2 px in a colour 3:1 or more against the page (2.4.7, and the focus-appearance rule's contrast).
 */
async function assertFocusRing(
  page: Page,
  where: string,
  viewport: { width: number; height: number },
): Promise<FocusRing> {
  const ring = (await page.evaluate(FOCUS_RING)) as FocusRing | null;
  assert.ok(ring, `${where}: nothing has the focus`);
  const at = `${where}: the focus on .${ring.className} '${ring.text}'`;
  assert.notEqual(ring.text, '', `${at} says nothing`);
  assert.ok(ring.box.width > 0 && ring.box.height > 0, `${at} is not drawn`);
  assert.ok(
    ring.box.top >= 0 && ring.box.bottom <= viewport.height && ring.box.left >= 0 && ring.box.right <= viewport.width,
    `${at} is off screen: ${JSON.stringify(ring.box)}`,
  );
  assert.ok(ring.unobscured, `${at} is covered`);
  assert.equal(ring.outlineStyle, 'solid', `${at}: outline ${ring.outlineStyle}`);
  assert.ok(ring.outlineWidth >= 2, `${at}: outline ${ring.outlineWidth} px`);
  const ratio = contrast(parseRgb(ring.outlineColor), parseRgb(ring.background));
  assert.ok(ratio >= 3, `${at}: outline ${ring.outlineColor} on ${ring.background} is ${ratio.toFixed(2)}:1`);
  return ring;
}

// The region the focus moves to after Retry (b1f324f) had outline: none: a keyboard user could not see where they were,
// while it loaded or once it had. The loading note and then 'Loaded …' are now outlined as a control is, in both schemes.
for (const colorScheme of ['light', 'dark'] as const)
  for (const { name, hash, loaded } of PAGES)
    test(`${name}: where Retry puts the focus is outlined, on screen, while loading and once loaded (${colorScheme})`, async () => {
      const viewport = { width: 1280, height: 800 };
      const { page } = await openPage(browser, colorScheme, viewport);
      try {
        await retryIntoLoading(page, hash);
        const loading = await assertFocusRing(page, `${name} loading`, viewport);
        assert.match(loading.text, /^Loading .+…$/);
        gate.pass();
        await page.locator(loaded).first().waitFor();
        const done = await assertFocusRing(page, `${name} loaded`, viewport);
        assert.match(done.text, /^Loaded .+\.$/);
        await screenshot(page, `retry-focus-${name}-${colorScheme}`);
        // Tab goes on into the page; what loaded is no longer said, so it takes no room.
        await page.keyboard.press('Tab');
        assert.equal(await page.evaluate(`document.querySelectorAll('.load-status > .loaded').length`), 0);
      } finally {
        gate.pass();
        await page.context().close();
      }
    });

/**
 * The requests for `path` (`/api/runs`) the page has sent so far. `settled()` resolves once every request the page
 * sent before it is counted: the page fetches a marker after them, and the browser reports requests in order.
 */
function isRead(url: string, path: string): boolean {
  return new URL(url).pathname === path;
}

function countRequests(page: Page, path: string): { count(): number; settled(): Promise<void> } {
  let count = 0;
  page.on('request', (request) => {
    if (isRead(request.url(), path)) count += 1;
  });
  return {
    count: () => count,
    settled: async () => {
      const marker = page.waitForRequest((request) => request.url().endsWith('/api/models?marker'));
      await page.evaluate(`fetch('/api/models?marker').catch(() => undefined)`);
      await marker;
    },
  };
}

/** Tells the page its tab is hidden or shown again, as the browser does when the user switches tabs. */
async function setTabHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate(`(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => ${JSON.stringify(hidden ? 'hidden' : 'visible')} });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} });
    document.dispatchEvent(new Event('visibilitychange'));
  })()`);
}

// Runs and schedules keep themselves current through loadInto's refresh: every few seconds while shown, never while
// the tab is hidden (a tab left open in the background read Temporal every 3 s), at once when shown again, and never
// after the page is left. The page's clock is Playwright's, so "a minute passes" takes no time and no sleep.
for (const { name, hash, path } of [
  { name: 'runs', hash: '#/runs', path: '/api/runs' },
  { name: 'schedules', hash: '#/schedules', path: '/api/schedules' },
])
  test(`${name}: refreshes while shown, not while the tab is hidden, and not after the page is left`, async () => {
    const { page, errors } = await openPage(browser, 'light', { width: 1280, height: 800 });
    try {
      gate.pass();
      await page.clock.install();
      const reads = countRequests(page, path);
      await page.goto(`${ui.url}/${hash}`);
      await page
        .locator(PAGES.find((p) => p.name === name)?.loaded ?? '')
        .first()
        .waitFor();
      await reads.settled();
      assert.equal(reads.count(), 1, 'one read to draw the page');

      const refreshed = page.waitForRequest((request) => isRead(request.url(), path));
      await page.clock.runFor(3_500);
      await refreshed;
      await reads.settled();
      assert.equal(reads.count(), 2, 'a refresh while the page is shown');

      await setTabHidden(page, true);
      await page.clock.runFor(60_000);
      await reads.settled();
      assert.equal(reads.count(), 2, 'no read while the tab is hidden');

      const shown = page.waitForRequest((request) => isRead(request.url(), path));
      await setTabHidden(page, false);
      await shown;
      await reads.settled();
      assert.equal(reads.count(), 3, 'one read at once when the tab is shown again');

      await page.evaluate(`location.hash = '#/models'`);
      await page.locator('tr[data-model="digits"]').waitFor();
      await page.clock.runFor(60_000);
      await reads.settled();
      assert.equal(reads.count(), 3, 'no read once the page is left');
      assert.deepEqual(errors, []);
    } finally {
      await page.context().close();
    }
  });

// A refresh redraws the runs' rows; a keyboard user on a run's checkbox stayed on it (the redraw dropped the focus to
// the page every 3 s).
test('runs: a refresh keeps the focus on the run checkbox a keyboard user is on', async () => {
  const { page } = await openPage(browser, 'light', { width: 1280, height: 800 });
  try {
    gate.pass();
    await page.clock.install();
    await page.goto(`${ui.url}/#/runs`);
    const box = page.getByRole('checkbox', { name: `select ${RUN} to compare` });
    await box.focus();
    await page.evaluate(`window.__row = document.querySelector('tr[data-run-id="${RUN}"]')`);
    await page.clock.runFor(3_500);
    // The page's timers are Playwright's now: poll from here until the refresh has drawn new rows.
    while (await page.evaluate(`document.querySelector('tr[data-run-id="${RUN}"]') === window.__row`))
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await page.evaluate('document.activeElement?.getAttribute("aria-label")'), `select ${RUN} to compare`);
  } finally {
    await page.context().close();
  }
});

// A successful answer that is not JSON (a proxy's or a login page in front of the UI) read as `{}`: the models page
// drew an empty list as if there were no models. It is a failed read now, saying what arrived.
test('models: a 200 answer that is not JSON is a failed read naming what arrived, not an empty list', async () => {
  const { page, errors } = await openPage(browser, 'light', { width: 1280, height: 800 });
  await page.route('**/api/models', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Sign in</title>' }),
  );
  try {
    gate.pass();
    await page.goto(`${ui.url}/#/models`);
    const alert = page.locator('.page [role="alert"].load-failure');
    await alert.waitFor();
    const told = (await alert.innerText()).replace(/\s+/g, ' ');
    assert.match(told, /the answer to \/api\/models was not JSON \(text\/html, 37 characters\)/);
    assert.match(told, /proxy or login page/);
    assert.equal(await page.locator('tr[data-model]').count(), 0);
    assert.deepEqual(errors, []);
  } finally {
    await page.context().close();
  }
});

// The run page's read goes through a control worker's state query (ui-charts shows its note on the real stack); here
// its one read is held in the browser, then refused as a server without Temporal refuses it, then answered.
for (const colorScheme of ['light', 'dark'] as const)
  test(`run page on a 390 px phone: a loading note while its read hangs, what to do when it fails (${colorScheme})`, async () => {
    const { page, errors } = await openPage(browser, colorScheme, { width: 390, height: 844 });
    let answer: (reply: { status: number; body: unknown }) => void = () => undefined;
    await page.route(`**/api/runs/${RUN}`, async (route) => {
      const reply = await new Promise<{ status: number; body: unknown }>((resolve) => (answer = resolve));
      await route.fulfill({ status: reply.status, contentType: 'application/json', body: JSON.stringify(reply.body) });
    });
    try {
      const asked = page.waitForRequest((request) => request.url().endsWith(`/api/runs/${RUN}`));
      await page.goto(`${ui.url}/#/runs/${RUN}`);
      await asked;
      const note = page.locator('.page [role="status"].loading');
      await note.waitFor();
      assert.equal(await assertOnScreen(page, '.page [role="status"].loading', 'run'), `Loading run ${RUN}…`);
      if (colorScheme === 'light') {
        await note.filter({ hasText: 'no control worker has answered its state query yet' }).waitFor();
        assert.match(
          await assertOnScreen(page, '.page [role="status"].loading', 'run, slow'),
          /fineflow worker --pool control/,
        );
      }
      await screenshot(page, `loading-run-390-${colorScheme}`);

      answer({ status: 503, body: { error: { message: gate.failure().message } } });
      const alert = page.locator('.page [role="alert"].load-failure');
      await alert.waitFor();
      const told = await assertOnScreen(page, '.page [role="alert"].load-failure', 'run, failed');
      assert.match(told, new RegExp(`^Could not load run ${RUN}: .*ECONNREFUSED`));
      assert.match(told, /fineflow dev status/);
      assert.equal(await note.count(), 0, 'the loading note is gone once the read failed');
      await screenshot(page, `load-failed-run-390-${colorScheme}`);
      await assertNoSideScroll(page);

      const again = page.waitForRequest((request) => request.url().endsWith(`/api/runs/${RUN}`));
      await alert.getByRole('button', { name: 'Retry' }).click();
      await again;
      await note.waitFor();
      answer({ status: 200, body: { state: stateOf(RUN), graph: { nodes: [], edges: [] }, sweeps: [] } });
      await page.locator('#run-status[data-status="succeeded"]').waitFor();
      assert.equal(await alert.count(), 0, 'the failure note is gone once the retry read the run');
      assert.equal(await note.count(), 0, 'no loading note once the run is drawn');
      await assertNoSideScroll(page);
      assert.deepEqual(
        errors.filter((e) => !/Failed to load resource: .* 503/.test(e)),
        [],
      );
    } finally {
      await page.context().close();
    }
  });
