/**
 * The datasets pages, served by the real UI server from an in-memory store and drawn by the real app in Chromium: the
 * list shows every prefix's versions newest first (id, sealed, objects, size, who sealed it first and again, the
 * quality verdict of the newest run that read it: failed checks, still reading, or the read failed); a version's page
 * shows its manifest a page at a time, the runs that read it (linked) with their checks, and what changed since the
 * version before it. With no versions, the page says how to push one. 390 and 1280 px, light and dark; on a phone
 * every value is on screen and labelled, and nothing scrolls the page sideways.
 *
 * No stack needed. Run with: bash scripts/test.sh integration --quick test/browser/datasets-pages.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { sealDatasetVersion } from '../../src/datasets/version-store';
import {
  qualityVerdict,
  versionReadUri,
  type VersionRead,
  type VersionReadFailed,
  type VersionReading,
} from '../../src/datasets/version-reads';
import { DATASET_LIMITS } from '../../src/ui/datasets';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { RunningUi } from '../../src/ui/server';
import { closeBrowserUi, startBrowserUi } from './browser-ui';
import { openPage, screenshot } from '../e2e/helpers/ui-browser';
import { assertCards, assertNoSideScroll } from './page-layout';

const PREFIX = 's3://datasets/surface-defects/';
const OBJECTS = DATASET_LIMITS.objectsPerPage + 30;
let browser: Browser;
let ui: RunningUi;
let emptyUi: RunningUi;
let first = '';
let second = '';
let third = '';
const FAILED_RUN = 'defects-20261206-0300';
const REPORTED_RUN = 'defects-20261206-0400';
const READING_RUN = 'defects-20261207-0300';
// Sorts after the others by key: the list reads the newest few records, by write time and then key.
const FAILED_READ_RUN = 'defects-retry-0500';
const THIRD_FAILED_RUN = 'defects-20261207-0400';

before(async () => {
  const store = createMemoryObjectStore({ buckets: ['fineflow', 'datasets'] });
  const key = (i: number): string => `${i % 2 === 0 ? 'ok' : 'defect'}/img-${String(i).padStart(4, '0')}.png`;
  for (let i = 0; i < OBJECTS; i += 1) await store.putBytes(`${PREFIX}${key(i)}`, `image ${i}`);
  first = (await sealDatasetVersion(store, 'fineflow', PREFIX, { createdBy: 'data push', now: new Date('2026-12-01') }))
    .id;
  // The next push: one image changed, one removed, two added.
  await store.putBytes(`${PREFIX}${key(0)}`, 'image 0, relabelled');
  await store.remove(`${PREFIX}${key(1)}`);
  await store.putBytes(`${PREFIX}new/a.png`, 'a');
  await store.putBytes(`${PREFIX}new/b.png`, 'b');
  second = (
    await sealDatasetVersion(store, 'fineflow', PREFIX, { createdBy: 'data push', now: new Date('2026-12-05') })
  ).id;
  // The watcher sees the push and seals the same contents again: the page must still name the push as the sealer.
  const resealed = await sealDatasetVersion(store, 'fineflow', PREFIX, {
    createdBy: 'watcher',
    now: new Date('2026-12-05T00:00:05Z'),
  });
  assert.equal(resealed.id, second);
  const checks = [
    { check: 'blankImages', outcome: 'warned' as const, count: 3 },
    { check: 'imbalance', outcome: 'ok' as const, count: 0 },
  ];
  const read: VersionRead = {
    runId: 'defects-20261205-0300',
    stage: 'prepare',
    at: '2026-12-05T03:01:00.000Z',
    report: 's3://fineflow/runs/defects-20261205-0300/prepare/data-report.json',
    verdict: qualityVerdict(checks),
    checks,
    records: OBJECTS + 1,
    kept: OBJECTS - 2,
    classes: 2,
  };
  await store.putJson(versionReadUri('fineflow', PREFIX, second, read.runId, read.stage), read);
  // A later run whose stricter checks stopped its prepare-data: no data report, a failed verdict.
  const failedChecks = [
    { check: 'smallClasses', outcome: 'failed' as const, count: 1 },
    { check: 'blankImages', outcome: 'warned' as const, count: 3 },
  ];
  const failed: VersionRead = {
    runId: FAILED_RUN,
    stage: 'prepare',
    at: '2026-12-06T03:01:00.000Z',
    verdict: qualityVerdict(failedChecks),
    checks: failedChecks,
    records: OBJECTS + 1,
    kept: OBJECTS - 2,
    classes: 2,
  };
  await store.putJson(versionReadUri('fineflow', PREFIX, second, failed.runId, failed.stage), failed);
  // Since checks that stop the stage leave a data report, the record names it.
  const reported: VersionRead = {
    ...failed,
    state: 'read',
    runId: REPORTED_RUN,
    at: '2026-12-06T04:01:00.000Z',
    startedAt: '2026-12-06T04:00:00.000Z',
    attempt: 1,
    report: `s3://fineflow/runs/${REPORTED_RUN}/prepare/dataset/data-report.json`,
  };
  await store.putJson(versionReadUri('fineflow', PREFIX, second, reported.runId, reported.stage), reported);
  // A run whose stage failed reading it, not by its checks: the store failed on its second attempt.
  const failedRead: VersionReadFailed = {
    state: 'failed',
    runId: FAILED_READ_RUN,
    stage: 'prepare',
    at: '2026-12-06T05:02:00.000Z',
    startedAt: '2026-12-06T05:00:00.000Z',
    attempt: 2,
    errorType: 'FineflowDependencyUnavailable',
    error: 'object store unavailable: GET s3://datasets/surface-defects/ok/img-0002.png: connection reset',
  };
  await store.putJson(versionReadUri('fineflow', PREFIX, second, failedRead.runId, failedRead.stage), failedRead);
  // And a run whose stage has resolved the version and is reading it now: no verdict yet.
  const reading: VersionReading = {
    state: 'reading',
    runId: READING_RUN,
    stage: 'prepare',
    at: '2026-12-07T03:00:00Z',
    attempt: 1,
  };
  await store.putJson(versionReadUri('fineflow', PREFIX, second, reading.runId, reading.stage), reading);
  // A third push, whose only reader so far failed reading it: the list's quality cell says so, not "–".
  await store.putBytes(`${PREFIX}new/c.png`, 'c');
  third = (
    await sealDatasetVersion(store, 'fineflow', PREFIX, { createdBy: 'data push', now: new Date('2026-12-07T04:00Z') })
  ).id;
  const thirdFailed: VersionReadFailed = {
    ...failedRead,
    runId: THIRD_FAILED_RUN,
    at: '2026-12-07T04:02:00.000Z',
    startedAt: '2026-12-07T04:01:00.000Z',
    attempt: 1,
  };
  await store.putJson(versionReadUri('fineflow', PREFIX, third, thirdFailed.runId, thirdFailed.stage), thirdFailed);
  ({ ui, browser } = await startBrowserUi({ runs: {}, store, bucket: 'fineflow' }));
  ({ ui: emptyUi } = await startBrowserUi({
    runs: {},
    store: createMemoryObjectStore({ buckets: ['fineflow'] }),
    bucket: 'fineflow',
  }).then(async (started) => {
    await started.browser.close();
    return started;
  }));
});
after(async () => {
  await closeBrowserUi({ ui, browser });
  await emptyUi?.close();
});

const VIEWPORTS = [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
] as const;

for (const viewport of VIEWPORTS) {
  for (const colorScheme of ['light', 'dark'] as const) {
    const size = `${viewport.width}-${colorScheme}`;
    test(`the datasets list shows each version, newest first, with its verdict (${size})`, async () => {
      const { page, errors } = await openPage(browser, colorScheme, viewport);
      try {
        await page.goto(`${ui.url}/#/datasets`);
        await page.locator('section.dataset tbody tr').nth(2).waitFor();
        assert.equal(await page.locator('header nav a[aria-current="page"]').textContent(), 'Datasets');
        assert.equal(await page.locator('section.dataset h2').textContent(), PREFIX);
        const rows = await page.locator('section.dataset tbody tr').evaluateAll((trs) =>
          trs.map((tr) => ({
            version: tr.getAttribute('data-version'),
            cells: [...tr.querySelectorAll('td')].map((cell) => cell.innerText.replace(/\s+/g, ' ').trim()),
          })),
        );
        assert.deepEqual(
          rows.map((r) => r.version),
          [third, second, first],
          'newest first',
        );
        const [ofThird, ofSecond, ofFirst] = rows.map((r) =>
          r.cells.map((c) => c.replace(/^(sealed \(UTC\)|objects|size|by|quality|read by) /, '')),
        );
        assert.equal(ofThird?.[5], 'read failed', 'its only reader failed reading it: no verdict');
        assert.equal(ofThird?.[6], '1 run stage');
        assert.equal(await page.locator(`tr[data-version="${third}"] .badge.read-failed`).count(), 1);
        assert.equal(ofSecond?.[0], second.slice(0, 12));
        assert.equal(ofSecond?.[1], '2026-12-05 00:00:00', 'when it was first sealed, as the version page says');
        assert.equal(ofSecond?.[2], String(OBJECTS + 1));
        assert.equal(
          ofSecond?.[4],
          'data push (re-sealed 2026-12-05 00:00:05 UTC by watcher)',
          'who sealed it first, then when and who sealed it again',
        );
        assert.equal(
          (await page.locator('section.dataset thead th').allTextContents())[4],
          'Sealed by',
          'a watcher or a stage seals versions too: not "Pushed by"',
        );
        assert.equal(ofSecond?.[5], 'reading', 'the newest reader is reading it now: no verdict yet');
        assert.equal(ofSecond?.[6], '5 run stages');
        assert.equal(ofFirst?.[4], 'data push');
        assert.equal(ofFirst?.[5], '–', 'no run read the first version');
        if (viewport.width === 390) await assertCards(page, 'section.dataset tbody tr', 3);
        await assertNoSideScroll(page);
        await screenshot(page, `datasets-list-${size}`);
        assert.deepEqual(errors, []);
      } finally {
        await page.context().close();
      }
    });

    test(`a version's page: its readers, the diff with the previous one, its manifest paged (${size})`, async () => {
      const { page, errors } = await openPage(browser, colorScheme, viewport);
      try {
        await page.goto(`${ui.url}/#/datasets`);
        await page.locator(`tr[data-version="${second}"] a`).click();
        await page.locator('#compare-summary').waitFor();
        assert.equal(await page.locator('dd[data-fact="version"]').textContent(), second);
        assert.equal(await page.locator('dd[data-fact="by"]').textContent(), 'data push');
        assert.equal(await page.locator('dd[data-fact="sealed"]').textContent(), '2026-12-05 00:00:00');
        assert.equal(
          await page.locator('dd[data-fact="re-sealed"]').textContent(),
          '2026-12-05 00:00:05 UTC by watcher (the same contents)',
        );
        const stopped = page.locator(`table.reads tr[data-run="${FAILED_RUN}"]`);
        assert.match(await stopped.innerText(), /checks failed/);
        assert.match(await stopped.innerText(), /smallClasses: 1 \(failed\), blankImages: 3 \(warned\)/);
        assert.match(await stopped.innerText(), /none: the checks stopped the stage/);
        assert.equal(await stopped.locator('a[href*="/report"]').count(), 0, 'no report to link to');
        // Checks that stop the stage now leave a data report: the failed read links to it.
        const reported = page.locator(`table.reads tr[data-run="${REPORTED_RUN}"]`);
        assert.match(await reported.innerText(), /checks failed/);
        assert.equal(
          await reported.locator('a', { hasText: 'data report' }).getAttribute('href'),
          `/api/runs/${REPORTED_RUN}/stages/prepare/report`,
        );
        const reading = page.locator(`table.reads tr[data-run="${READING_RUN}"]`);
        assert.match(await reading.innerText(), /began 2026-12-07 03:00:00/);
        assert.match(await reading.innerText(), /reading/);
        assert.match(await reading.innerText(), /not yet: the stage is reading/);
        // Failed for a reason other than its checks: says so, when, on which attempt and why.
        const failedRead = page.locator(`table.reads tr[data-run="${FAILED_READ_RUN}"]`);
        const failedText = (await failedRead.innerText()).replace(/\s+/g, ' ');
        assert.match(failedText, /failed 2026-12-06 05:02:00/);
        assert.equal(await failedRead.locator('.badge.read-failed').innerText(), 'read failed');
        assert.ok(
          failedText.includes(
            'never run: attempt 2 failed first (FineflowDependencyUnavailable): object store unavailable: ' +
              'GET s3://datasets/surface-defects/ok/img-0002.png: connection reset',
          ),
          failedText,
        );
        assert.match(failedText, /none: the stage failed before it finished/);
        const run = page.locator('table.reads tr[data-run="defects-20261205-0300"]');
        assert.equal(await run.locator('a').first().getAttribute('href'), '#/runs/defects-20261205-0300?stage=prepare');
        assert.match(await run.innerText(), /blankImages: 3 \(warned\)/);
        assert.match(await run.innerText(), new RegExp(`${OBJECTS - 2} of ${OBJECTS + 1} records, 2 classes`));
        assert.match(
          await page.locator('#compare-summary').innerText(),
          new RegExp(`^Since ${first.slice(0, 12)}: 2 added, 1 removed, 1 changed, ${OBJECTS - 2} unchanged\\.$`),
        );
        const marks = await page
          .locator('table.compare-objects tbody tr')
          .evaluateAll((trs) => trs.map((tr) => tr.textContent?.replace(/\d+\s*B.*$/, '')));
        assert.deepEqual(marks, [
          '+addednew/a.png',
          '+addednew/b.png',
          '-removeddefect/img-0001.png',
          '~changedok/img-0000.png',
        ]);
        assert.equal(
          await page.locator('#objects-range').innerText(),
          `Objects 1–${DATASET_LIMITS.objectsPerPage} of ${OBJECTS + 1}, in key order. next →`,
        );
        assert.equal(await page.locator('table.objects tbody tr').count(), DATASET_LIMITS.objectsPerPage);
        if (viewport.width === 390) {
          await assertCards(page, 'table.reads tbody tr', 5);
          await assertCards(page, 'table.compare-objects tbody tr', 4);
        }
        await screenshot(page, `dataset-version-${size}`);
        await page.locator('#objects-range a', { hasText: 'next' }).click();
        await page.locator('#objects-range', { hasText: `Objects ${DATASET_LIMITS.objectsPerPage + 1}–` }).waitFor();
        assert.equal(await page.locator('table.objects tbody tr').count(), OBJECTS + 1 - DATASET_LIMITS.objectsPerPage);
        // The first version: nothing before it, no run read it.
        await page.goto(`${ui.url}/#/datasets/${encodeURIComponent(PREFIX)}/${first}`);
        await page.locator('#compare-summary', { hasText: 'first recorded version' }).waitFor();
        assert.match(await page.locator('#no-reads').innerText(), /No run has read this version/);
        await assertNoSideScroll(page);
        assert.deepEqual(errors, []);
      } finally {
        await page.context().close();
      }
    });

    test(`with no versions, the datasets page says how to push one (${size})`, async () => {
      const { page, errors } = await openPage(browser, colorScheme, viewport);
      try {
        await page.goto(`${emptyUi.url}/#/datasets`);
        await page.locator('.empty-state').waitFor();
        assert.match(
          await page.locator('.empty-state').innerText(),
          /fineflow data push \.\/my-data s3:\/\/datasets\/my-data\//,
        );
        await assertNoSideScroll(page);
        await screenshot(page, `datasets-empty-${size}`);
        assert.deepEqual(errors, []);
      } finally {
        await page.context().close();
      }
    });
  }
}
