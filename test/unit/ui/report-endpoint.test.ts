/**
 * The UI's report endpoint (`GET /api/runs/RUN/stages/STAGE/report`, shown in the evaluate panel's frame) over the
 * real HTTP server: an HTML report is served as the stage's sandboxed page, a JSON one (prepare-data's data report) as
 * JSON and any other as plain text, each under the same sandbox (a JSON report was served as text/html); a report the
 * store could not read gets a page saying why and what to do (the frame drew the JSON error as a blank page); and one over MAX_HTML_REPORT_BYTES (the bucket
 * is writable by pipeline code) gets a page that says what happened and what to do, at once, with a status that says
 * the stored object is at fault, not the request. The run client is a stand-in (the run's state is all the endpoint
 * asks of it); the object store is the memory store, which enforces read bounds as MinIO's does
 * (test/integration/storage/minio-store.test.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunClient } from '../../../src/client/run-client';
import type { RunState } from '../../../src/core/run/run-types';
import { runPrefix } from '../../../src/core/storage/layout';
import type { ScheduleService } from '../../../src/schedules/schedule-client';
import { createMemoryObjectStore } from '../../../src/storage/memory-store';
import { MAX_HTML_REPORT_BYTES, type ObjectStore } from '../../../src/storage/object-store';
import { DependencyUnavailableError } from '../../../src/core/errors';
import { startUiServer, type RunningUi } from '../../../src/ui/server';

const BUCKET = 'fineflow';
const store = createMemoryObjectStore({ buckets: [BUCKET] });
/** Where a run's report is: by the run's name, an HTML page, a JSON data report or a plain-text file. */
const reportOf = (runId: string): string =>
  runId.startsWith('json-')
    ? `${runPrefix(BUCKET, runId, 'evaluate')}data-report.json`
    : runId.startsWith('text-')
      ? `${runPrefix(BUCKET, runId, 'evaluate')}report/notes.md`
      : `${runPrefix(BUCKET, runId, 'evaluate')}report/report.html`;
/** Markup in a JSON report: served as HTML it would be a page (the sandbox's CSP kept its script from running). */
const JSON_REPORT = JSON.stringify({ rows: 600, note: '<img src=x onerror=alert(1)><h1>not a page</h1>' });

function runState(runId: string): RunState {
  // An unchanged resubmit of small-run: its evaluate stage was a cache hit and its outputs name small-run's report
  // (the demo's second run); a stage that ran naming another run's report is pipeline code's and not followed.
  if (runId === 'cached-run' || runId === 'forged-run')
    return {
      ...runState('small-run'),
      runId,
      stages: [
        {
          id: 'evaluate',
          uses: 'evaluate',
          pool: 'cpu',
          status: runId === 'cached-run' ? 'cached' : 'succeeded',
          attempts: runId === 'cached-run' ? 0 : 1,
          reason: 'cache hit from run small-run (2026-12-06T04:00:00.000Z)',
          outputs: { report: reportOf('small-run') },
        },
      ],
    };
  return {
    runId,
    pipeline: 'quickstart',
    status: 'succeeded',
    trigger: { kind: 'manual' },
    startedAt: '2026-12-06T04:00:00.000Z',
    params: {},
    stages: [
      {
        id: 'evaluate',
        uses: 'evaluate',
        pool: 'cpu',
        status: 'succeeded',
        attempts: 1,
        outputs: { report: reportOf(runId) },
      },
    ],
  };
}

/** The one thing the report endpoint asks of the run client. */
const runs: Pick<RunClient, 'state'> = { state: async (runId: string) => runState(runId) };
let ui: RunningUi;

before(async () => {
  await store.putBytes(reportOf('small-run'), '<!doctype html><h1>Evaluation of quickstart</h1>');
  await store.putBytes(reportOf('huge-run'), Buffer.alloc(MAX_HTML_REPORT_BYTES + 1, 0x20));
  await store.putBytes(reportOf('json-run'), JSON_REPORT);
  await store.putBytes(reportOf('text-run'), '# Notes\n<b>plain</b>');
  // The object store is down for one run's report (as MinIO unreachable): the message names the object.
  const reading: ObjectStore = {
    ...store,
    getBytes: async (uri, limit) => {
      if (uri.includes('/down-run/'))
        throw new DependencyUnavailableError(`get ${uri}: object store unavailable (ECONNREFUSED) <b>`);
      return store.getBytes(uri, limit);
    },
  };
  ui = await startUiServer({
    runs: runs as RunClient,
    store: reading,
    bucket: BUCKET,
    schedules: {} as ScheduleService,
    namespace: 'default',
  });
});
after(async () => {
  await ui?.close();
});

test('the report endpoint serves a stage report as a sandboxed page', async () => {
  const response = await fetch(`${ui.url}/api/runs/small-run/stages/evaluate/report`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(response.headers.get('content-security-policy') ?? '', /sandbox/);
  assert.match(await response.text(), /Evaluation of quickstart/);
});

test('a stage served from the cache shows the report of the run that computed it; a stage that ran, only its own', async () => {
  const cached = await fetch(`${ui.url}/api/runs/cached-run/stages/evaluate/report`);
  assert.equal(cached.status, 200);
  assert.match(cached.headers.get('content-security-policy') ?? '', /sandbox/);
  assert.match(await cached.text(), /Evaluation of quickstart/);
  const forged = await fetch(`${ui.url}/api/runs/forged-run/stages/evaluate/report`, {
    headers: { Accept: 'application/json' },
  });
  assert.equal(forged.status, 404);
  assert.match(((await forged.json()) as { error: { message: string } }).error.message, /has no report/);
});

test('a JSON report is served as JSON and any other non-HTML report as plain text, under the same sandbox', async () => {
  const json = await fetch(`${ui.url}/api/runs/json-run/stages/evaluate/report`);
  assert.equal(json.status, 200);
  assert.match(json.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(json.headers.get('x-content-type-options'), 'nosniff');
  assert.match(json.headers.get('content-security-policy') ?? '', /^sandbox; default-src 'none'/);
  assert.deepEqual(await json.json(), JSON.parse(JSON_REPORT), 'the report, unchanged');

  const text = await fetch(`${ui.url}/api/runs/text-run/stages/evaluate/report`);
  assert.equal(text.status, 200);
  assert.match(text.headers.get('content-type') ?? '', /^text\/plain/);
  assert.match(text.headers.get('content-security-policy') ?? '', /^sandbox; default-src 'none'/);
  assert.equal(await text.text(), '# Notes\n<b>plain</b>');
});

test('a report the store cannot read gets a page in the frame: why, and what to do', async () => {
  // As the frame asks for it (a navigation accepts HTML); the panel's JSON read still gets the JSON error.
  const response = await fetch(`${ui.url}/api/runs/down-run/stages/evaluate/report`, {
    headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
  });
  const body = await response.text();
  assert.equal(response.status, 503, 'the status says a dependency is down');
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/, 'a page for the panel’s frame, not JSON');
  assert.match(response.headers.get('content-security-policy') ?? '', /^sandbox; default-src 'none'/);
  assert.match(body, /Report not read/);
  assert.match(body, /object store unavailable \(ECONNREFUSED\) &lt;b&gt;/, 'the reason, escaped');
  assert.match(body, /fineflow dev status/, 'what to check');

  const json = await fetch(`${ui.url}/api/runs/down-run/stages/evaluate/report`, {
    headers: { Accept: 'application/json' },
  });
  assert.equal(json.status, 503);
  assert.match(((await json.json()) as { error: { message: string } }).error.message, /object store unavailable/);
});

test('a report over MAX_HTML_REPORT_BYTES gets a page saying so, at once, not the object', async () => {
  const started = Date.now();
  const response = await fetch(`${ui.url}/api/runs/huge-run/stages/evaluate/report`);
  const body = await response.text();
  assert.ok(Date.now() - started < 5000, `answered in ${Date.now() - started} ms`);
  assert.equal(response.status, 502, 'the stored object is at fault, not the request');
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/, 'a page for the evaluate panel’s frame');
  assert.match(response.headers.get('content-security-policy') ?? '', /sandbox/);
  assert.ok(body.length < 4096, `a short page, not the report (${body.length} characters)`);
  assert.match(body, /larger than 64 MiB/);
  assert.match(body, /runs\/huge-run\/evaluate\/report\/report\.html/, 'names the object');
  assert.match(body, /not written by Fineflow/);
  assert.match(body, /Artifacts/, 'says where the object can still be looked at');
});
