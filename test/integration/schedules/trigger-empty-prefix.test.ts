/**
 * `fineflow schedule trigger NAME` for a pipeline whose data watcher looks at an empty prefix: the watcher ignores a
 * trigger there (it only logs a warning), and the CLI said it had asked it "to run the version its prefix holds now".
 * It now says what the UI's confirmation says, from the same rule: nothing was under the prefix at the last look, no
 * run starts until data arrives; and once data is there, that the watcher runs the version its prefix holds. Real
 * Temporal dev server, MinIO and watcher; the command runs through the CLI's entry point.
 *
 * Run with: bash scripts/test.sh integration --quick test/integration/schedules/trigger-empty-prefix.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { main } from '../../../src/cli/main';
import { watcherIdFor } from '../../../src/schedules/data-watch-client';
import type { DataWatcherStatus } from '../../../src/core/schedules/data-watch-types';
import { startScheduleHarness, waitFor, type ScheduleHarness } from './harness';

let h: ScheduleHarness;
let bucket: string;
before(async () => {
  h = await startScheduleHarness();
  bucket = `fftrg-${h.suffix}`;
  await h.store.ensureBucket(bucket);
});
after(async () => {
  await h?.close();
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    ({ write: (chunk: string | Uint8Array) => (append(String(chunk)), true) }) as unknown as NodeJS.WritableStream;
  const code = await main(args, {
    stdout: sink((t) => (stdout += t)),
    stderr: sink((t) => (stderr += t)),
    env: process.env,
    cwd: process.cwd(),
  });
  return { code, stdout, stderr };
}

void describe('schedule trigger on a watched prefix', () => {
  void it(
    'says an empty prefix starts no run, and a prefix with data runs its version',
    { timeout: 120_000 },
    async (t) => {
      const name = `trg-${h.suffix}`;
      const prefix = `s3://${bucket}/not-pushed-yet/`;
      t.after(async () => {
        await h.schedules.delete(name).catch(() => undefined);
        await h.terminateRuns(name).catch(() => undefined);
      });
      const plan = h.compile(`apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
params: {dataset: ${prefix}}
defaults: {pool: ${h.pools.cpu}, timeout: 1m, retry: {maxAttempts: 1}, onFailure: fail}
triggers:
  - newData: {path: "\${{ params.dataset }}", debounce: 1s, pollInterval: 1s}
stages:
  echo: {uses: test-echo, cache: false, with: {value: x}}
`);
      await h.schedules.apply(plan);
      const watcherId = watcherIdFor(name, prefix);
      // A query the loaded machine did not answer in time is asked again (the watcher is there all along).
      const status = (): Promise<DataWatcherStatus | undefined> =>
        h.schedules.watchers.status(watcherId).catch(() => undefined);
      await waitFor('the first look', status, (s) => s?.lastObservation !== undefined);

      const empty = await cli(['schedule', 'trigger', name]);
      assert.equal(empty.code, 0, empty.stderr);
      assert.equal(
        empty.stdout,
        `asked 1 data watcher(s) of ${name}: ${watcherId}\n` +
          `Nothing was under ${prefix} at the last look: no run starts there until data arrives.\n` +
          `(see \`fineflow schedule describe ${name}\`)\n`,
      );
      const json = JSON.parse((await cli(['schedule', 'trigger', name, '--json'])).stdout) as Record<string, unknown>;
      assert.deepEqual(json, {
        pipeline: name,
        triggered: true,
        runIds: [],
        watcherIds: [watcherId],
        startsNothing: true,
        emptyPrefixes: [prefix],
      });

      // Data arrives: once the watcher has looked at it, a trigger runs it, and the CLI says so.
      await h.store.putBytes(`${prefix}a.csv`, 'a\n1\n');
      await waitFor('a look at the data', status, (s) => (s?.lastObservation?.count ?? 0) > 0);
      const held = await cli(['schedule', 'trigger', name]);
      assert.equal(held.code, 0, held.stderr);
      assert.match(held.stdout, new RegExp(`runs the dataset version its prefix holds now: ${prefix}\\.\\n`));
      assert.doesNotMatch(held.stdout, /Nothing was under/);
    },
  );
});
