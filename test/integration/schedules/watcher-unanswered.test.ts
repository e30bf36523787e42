/**
 * A data watcher nobody runs (no control worker polls its task queue) is said to be unanswered in plain words, what is
 * wrong and what to do, by `describe` and by the schedules page's API; the message ended in the SDK's gRPC text
 * ("Failed to query Workflow"). Temporal's words stay where an operator looks: `describe --verbose` (and --json) and
 * the UI server's log, once per change, not on every refresh of the page. Real Temporal dev server and MinIO.
 *
 * Run with: bash scripts/test.sh integration --quick test/integration/schedules/watcher-unanswered.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeText } from '../../../src/cli/commands/schedule';
import { ScheduleService } from '../../../src/schedules/schedule-client';
import { watcherIdFor } from '../../../src/schedules/data-watch-client';
import { UiApi, type UiServices } from '../../../src/ui/api';
import { startScheduleHarness, type ScheduleHarness } from './harness';

let h: ScheduleHarness;
before(async () => {
  h = await startScheduleHarness();
});
after(async () => {
  await h?.close();
});

void it('an unanswered watcher in plain words; Temporal’s text with --verbose and in the log', async (t) => {
  const name = `unanswered-${h.suffix}`;
  const prefix = `s3://${h.config.s3.bucket}/test-unanswered/${h.suffix}/`;
  // Watchers on a task queue no worker polls: every state query goes unanswered.
  const schedules = new ScheduleService(h.client, {
    bucket: h.config.s3.bucket,
    workflowTaskQueue: `nobody-${h.suffix}`,
  });
  const watcherId = watcherIdFor(name, prefix);
  t.after(() =>
    h.client.workflow
      .getHandle(watcherId)
      .terminate('test cleanup')
      .catch(() => undefined),
  );
  await schedules.apply(
    h.compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
params: {dataset: ${prefix}}
defaults: {pool: ${h.pools.cpu}, timeout: 1m}
triggers:
  - newData: {path: "\${{ params.dataset }}", debounce: 1s, pollInterval: 1s}
stages:
  echo: {uses: test-echo, cache: false, with: {value: x}}
`),
  );

  const details = await schedules.describe(name);
  const [row] = details.watchers;
  assert.ok(row && 'error' in row, JSON.stringify(row));
  assert.equal(row.path, prefix);
  assert.equal(
    row.error,
    'no control worker answered within 5 s: none is running, or it is busy. Start one with `fineflow worker --pool ' +
      'control`; `fineflow dev status` says which pools have workers',
  );
  assert.match(row.detail ?? '', /Failed to query Workflow/);
  const text = describeText(details);
  assert.match(text, new RegExp(`^watcher ${watcherId} \\(.+\\): state unavailable: no control worker answered`, 'm'));
  assert.doesNotMatch(text, /Failed to query|DEADLINE|CANCELLED|Temporal said/i);
  assert.match(describeText(details, true), /^ {2}Temporal said: Failed to query Workflow/m);

  // The page's API: plain words, no Temporal text; that goes to the log, once while it stays the same.
  const logged: string[] = [];
  const api = new UiApi({ schedules, log: (line: string) => logged.push(line) } as unknown as UiServices);
  const watcherOf = async () => {
    const listing = (await api.schedules()) as { watchers: { watcherId: string; error?: string; detail?: string }[] };
    return listing.watchers.find((w) => w.watcherId === watcherId);
  };
  const shown = await watcherOf();
  assert.match(shown?.error ?? '', /^no control worker answered within 3 s: none is running/);
  assert.equal(shown?.detail, undefined, 'Temporal’s words are not sent to the page');
  await watcherOf();
  const ours = logged.filter((line) => line.startsWith(`watcher ${watcherId}:`));
  assert.equal(ours.length, 1, JSON.stringify(logged));
  assert.match(
    ours[0] ?? '',
    /state unavailable: no control worker answered .*; Temporal said: Failed to query Workflow/,
  );
});
