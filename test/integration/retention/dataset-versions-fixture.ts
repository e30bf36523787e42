/**
 * What gc.test.ts's dataset-version tests share on the real stack: a prefix of their own with versions pushed (more on
 * demand, or sealed earlier than now), the policy that collects versions at any age, a plan made an hour from now read
 * per prefix, and an open run that the test ends (and waits to see listed, or gone). Each test gets its own prefix and
 * runs, so each passes alone and in the suite's order.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pushDirectory } from '../../../src/cli/commands/data';
import { readDatasetVersion } from '../../../src/datasets/version-store';
import { datasetManifestUri } from '../../../src/datasets/dataset-version';
import { planCollection } from '../../../src/retention/gc';
import type { GcPlan, GcPolicy } from '../../../src/retention/gc-plan';
import { randomSuffix, type RuntimeHarness } from '../../fixtures/runtime/harness';

export const HOUR = 3_600_000;

/** gc --keep-dataset-versions `keep` --older-than 0: every version past a prefix's newest `keep` may go. */
export function versionPolicy(keep = 1): GcPolicy {
  return { olderThanMs: 0, checkpointsAfterMs: 3650 * 24 * HOUR, keepSweeps: 20, keepDatasetVersions: keep };
}

/** A plan an hour from now (every object version settled; nothing is within `olderThanMs: 0`). */
export function planAnHourLater(h: RuntimeHarness, policy: GcPolicy): Promise<GcPlan> {
  return planCollection(h.store, h.config.s3.bucket, h.runs, policy, Date.now() + HOUR);
}

/** The first 12 characters of a version id, as gc names a version (`<prefix>@<start>`). */
export const short = (id: string): string => id.slice(0, 12);

/** What `plan` does with the versions of `prefix`: the dropped ones (short ids, sorted) and the kept ones. */
export function versionsOf(
  plan: GcPlan,
  prefix: string,
): { readonly dropped: string[]; readonly kept: { readonly id: string; readonly reason: string }[] } {
  const mine = (id: string): boolean => id.startsWith(`${prefix}@`);
  return {
    dropped: plan.remove
      .filter((item) => item.kind === 'dataset-version' && mine(item.id))
      .map((item) => item.id.slice(prefix.length + 1))
      .sort(),
    kept: plan.kept.filter((k) => mine(k.id)).map((k) => ({ id: k.id.slice(prefix.length + 1), reason: k.reason })),
  };
}

export interface PushedVersions {
  readonly prefix: string;
  /** Oldest first, more as {@link PushedVersions.push} adds them. */
  readonly ids: string[];
  /** Pushes one version per number (a.csv rewritten with it each time); their ids. */
  push(numbers: readonly number[]): Promise<string[]>;
  /** Rewrites the manifests pushed so far as sealed `minutes` earlier (before a run the test starts next). */
  sealedEarlier(minutes: number): Promise<void>;
}

/**
 * A prefix of its own (in a bucket of its own) with `count` versions: a.csv rewritten each time, and `steady` files
 * the same bytes throughout. Cleaned up when the test ends.
 */
export async function pushVersions(
  h: RuntimeHarness,
  t: TestContext,
  count: number,
  steady: Readonly<Record<string, string>> = {},
): Promise<PushedVersions> {
  const bucket = h.config.s3.bucket;
  const prefix = `s3://ffgcpin-${randomSuffix()}/lines/`;
  const dir = await mkdtemp(join(tmpdir(), 'ff-gc-versions-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(steady)) await writeFile(join(dir, name), text);
  const ids: string[] = [];
  const push = async (numbers: readonly number[]): Promise<string[]> => {
    const pushed: string[] = [];
    for (const n of numbers) {
      await writeFile(join(dir, 'a.csv'), `x,label\n${n},v${n}\n`);
      pushed.push((await pushDirectory(h.store, bucket, dir, prefix, () => undefined)).version);
    }
    ids.push(...pushed);
    return pushed;
  };
  await push(Array.from({ length: count }, (_, n) => n + 1));
  return {
    prefix,
    ids,
    push,
    async sealedEarlier(minutes) {
      for (const id of ids) {
        const manifest = await readDatasetVersion(h.store, bucket, prefix, id);
        const earlier = new Date(Date.parse(manifest.createdAt) - minutes * 60_000).toISOString();
        await h.store.putJson(datasetManifestUri(bucket, prefix, id), { ...manifest, createdAt: earlier });
      }
    },
  };
}

/** Ends `runId` when the test ends, if the test has not (an open run would keep its versions for later tests). */
export function terminateAtEnd(h: RuntimeHarness, t: TestContext, runId: string): void {
  t.after(() =>
    h.client.workflow
      .getHandle(runId)
      .terminate('test over')
      .catch(() => undefined),
  );
}

/** Waits until Temporal's listing of open runs (eventually consistent) shows `runId` open, or no longer. */
export async function untilListedOpen(h: RuntimeHarness, runId: string, open: boolean): Promise<void> {
  while ((await h.runs.openRuns()).some((run) => run.runId === runId) !== open)
    await new Promise((resolve) => setTimeout(resolve, 200));
}
