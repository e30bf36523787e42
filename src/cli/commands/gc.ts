/**
 * `fineflow gc [--older-than D] [--checkpoints-after D] [--keep-sweeps N] [--keep-dataset-versions N] [--yes]`:
 * retention. Lists (by default) or deletes (`--yes`) old run prefixes, checkpoints of ended runs, cache entries
 * nothing points at, sweep history records past a stage's newest N and, when asked, dataset versions past a prefix's
 * newest N; never what a running or waiting run, a cache entry in use, a registered model's lineage or (dataset
 * versions) a live schedule or data watcher needs (rules: src/retention/gc-plan.ts).
 */
import type * as TextTableModule from '../../client/text-table';
import { EXIT, UsageError, type CliCommand } from '../command';
import type * as RunSupportModule from '../run-support';
import { formatHumanDuration, parseDuration } from '../../core/spec/durations';
import type * as MinioStoreModule from '../../storage/minio-store';
import type * as GcModule from '../../retention/gc';
import type { GcPlan } from '../../retention/gc-plan';
import { SWEEP_HISTORY_RETENTION as KEEP_SWEEPS } from '../../core/sweep/sweep-history';
import type * as RenderModule from '../../client/render';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../run-support') as typeof RunSupportModule;
  const m1 = require('../../storage/minio-store') as typeof MinioStoreModule;
  const m2 = require('../../retention/gc') as typeof GcModule;
  const m3 = require('../../client/render') as typeof RenderModule;
  const mt = require('../../client/text-table') as typeof TextTableModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    renderTable: mt.renderTable,
    withRunClient: m0.withRunClient,
    createObjectStoreFromConfig: m1.createObjectStoreFromConfig,
    executeGc: m2.executeGc,
    planCollection: m2.planCollection,
    formatBytes: m3.formatBytes,
  };
}

/** At most ten years: a longer duration is a typo, and Date arithmetic stays exact. */
const MAX_AGE_MS = 3650 * 86_400_000;

function durationOption(value: string | undefined, flag: string, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const ms = parseDuration(value);
  if (ms === undefined || ms > MAX_AGE_MS) {
    throw new UsageError(`--${flag} ${value}: expected a duration up to 3650d such as 30d, 12h or 1w`);
  }
  return ms;
}

function keepSweepsOption(value: string | undefined): number {
  if (value === undefined) return KEEP_SWEEPS.default;
  const count = /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN;
  if (!(count >= KEEP_SWEEPS.min && count <= KEEP_SWEEPS.max)) {
    throw new UsageError(
      `--keep-sweeps ${value}: expected a whole number of records from ${KEEP_SWEEPS.min} to ${KEEP_SWEEPS.max}`,
    );
  }
  return count;
}

/** Bounds of `--keep-dataset-versions`. */
const KEEP_DATASET_VERSIONS = { min: 1, max: 100_000 } as const;

function keepDatasetVersionsOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const count = /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN;
  if (!(count >= KEEP_DATASET_VERSIONS.min && count <= KEEP_DATASET_VERSIONS.max))
    throw new UsageError(
      `--keep-dataset-versions ${value}: expected a whole number of versions from ${KEEP_DATASET_VERSIONS.min} to ` +
        `${KEEP_DATASET_VERSIONS.max}`,
    );
  return count;
}

/** The retention policy, in the words `renderPlan` uses when nothing falls under it. */
interface PolicyWords {
  readonly olderThanMs: number;
  readonly checkpointsAfterMs: number;
  readonly keepSweeps: number;
  readonly keepDatasetVersions?: number;
}

function nothingToDelete(policy: PolicyWords): string {
  const age = formatHumanDuration;
  return (
    `nothing to delete: no run ended over ${age(policy.olderThanMs)} ago, no checkpoint of a run ended over ` +
    `${age(policy.checkpointsAfterMs)} ago, no unused cache entry older than ${age(policy.olderThanMs)}, and no ` +
    `stage keeps more than ${policy.keepSweeps} sweep history records` +
    (policy.keepDatasetVersions === undefined
      ? ' (--older-than, --checkpoints-after, --keep-sweeps set these; dataset versions are collected only with ' +
        '--keep-dataset-versions)\n'
      : `, and no dataset prefix has more than ${policy.keepDatasetVersions} versions sealed over ` +
        `${age(policy.olderThanMs)} ago that nothing needs, nor an object version no version names uploaded over ` +
        `${age(policy.olderThanMs)} ago (--older-than, --checkpoints-after, --keep-sweeps, ` +
        '--keep-dataset-versions set these)\n')
  );
}

export function renderPlan(plan: GcPlan, deleted: boolean, policy: PolicyWords): string {
  const { formatBytes, renderTable } = load();
  const lines: string[] = [];
  if (plan.remove.length === 0) lines.push(nothingToDelete(policy).trimEnd());
  else {
    lines.push(
      ...renderTable(
        [
          { title: 'kind' },
          { title: 'id' },
          { title: 'objects', align: 'right' },
          { title: 'size', align: 'right' },
          { title: 'why' },
        ],
        plan.remove.map((item) => [
          item.kind,
          item.id,
          String(item.objects.length),
          formatBytes(item.bytes),
          item.reason,
        ]),
      ),
    );
    const verb = deleted ? 'deleted' : 'would delete';
    const hint = deleted ? '' : ' (run again with --yes to delete)';
    lines.push(`${verb} ${plan.objects} objects, ${formatBytes(plan.bytes)}${hint}`);
  }
  if (plan.kept.length > 0) {
    lines.push('', `kept past their prefix's newest ${policy.keepDatasetVersions ?? 0}:`);
    lines.push(
      ...renderTable(
        [{ title: 'kind' }, { title: 'id' }, { title: 'why' }],
        plan.kept.map((kept) => [kept.kind, kept.id, kept.reason]),
      ),
    );
  }
  if (plan.datasetVersionsRefused !== undefined) {
    const unnamed = plan.remove.filter((item) => item.kind === 'dataset-objects');
    const count = unnamed.reduce((sum, item) => sum + item.objects.length, 0);
    lines.push(
      '',
      `no dataset version ${deleted ? 'was' : 'would be'} dropped: ${plan.datasetVersionsRefused}. gc drops a ` +
        'dataset version only when it can see every schedule, data watcher and open run that could need it.',
      count > 0
        ? `Replaced object versions no dataset version names ${deleted ? 'were still' : 'would still be'} collected ` +
            `(${count} in ${unnamed.length} dataset-objects ${unnamed.length === 1 ? 'row' : 'rows'} above): nothing ` +
            'in Temporal can pin an object version no version names. Everything else listed above is not about ' +
            'dataset versions.'
        : 'No replaced object version was found to collect either; everything else listed above is not about ' +
            'dataset versions.',
    );
  }
  return `${lines.join('\n')}\n`;
}

export const command: CliCommand = {
  name: 'gc',
  summary: 'delete old runs, checkpoints, unused cache, sweep history and dataset versions (dry run unless --yes)',
  usage:
    'gc [--older-than 30d] [--checkpoints-after 1d] [--keep-sweeps 20] [--keep-dataset-versions N] [--yes] [--json]',
  examples: [
    { command: 'fineflow gc', explanation: 'list what would be deleted (dry run)' },
    {
      command: 'fineflow gc --keep-dataset-versions 10',
      explanation: 'also list dataset versions past the newest 10 of each prefix (sealed over 30 days ago, no model)',
    },
    {
      command: 'fineflow gc --older-than 14d --checkpoints-after 2d --yes',
      explanation: 'delete runs ended over 14 days ago and older checkpoints',
    },
    {
      command: 'fineflow gc --keep-sweeps 50 --yes',
      explanation: 'also keep the newest 50 sweep history records of each sweep stage, deleting older ones',
    },
    { command: "fineflow gc --json | jq '.bytes'", explanation: 'what a collection would free, for a script' },
  ],
  json: true,
  options: [
    {
      name: 'older-than',
      kind: 'string',
      valueName: 'D',
      description: 'remove ended runs and unindexed cache entries older than D (default 30d)',
    },
    {
      name: 'checkpoints-after',
      kind: 'string',
      valueName: 'D',
      description: 'remove checkpoints of runs ended more than D ago (default 1d)',
    },
    {
      name: 'keep-sweeps',
      kind: 'string',
      valueName: 'N',
      description:
        `keep the newest N sweep history records of each pipeline stage (default ${KEEP_SWEEPS.default}, ` +
        `the most a warm start reads; ${KEEP_SWEEPS.min}-${KEEP_SWEEPS.max})`,
    },
    {
      name: 'keep-dataset-versions',
      kind: 'string',
      valueName: 'N',
      description:
        'also collect dataset versions: keep the newest N of each prefix, every version a registered model names, ' +
        'every version sealed within --older-than and every version a schedule, data watcher or run not yet ended ' +
        'pins or reads; drop the others and the object versions only they name, and replaced object versions no ' +
        'version ever named, uploaded before --older-than (never the data a prefix holds now). A pipeline ' +
        'submitted by hand and pinned to a dropped version then fails. Exits 1, dropping no ' +
        'version (it still collects replaced object versions no version names: they need nothing from Temporal), ' +
        `when it cannot list schedules, watchers or open runs (${KEEP_DATASET_VERSIONS.min}-` +
        `${KEEP_DATASET_VERSIONS.max}; ` +
        'absent: dataset versions are kept)',
    },
    { name: 'yes', kind: 'boolean', description: 'delete; without it gc only lists what it would delete' },
  ],
  async run(args, io) {
    const { withRunClient, createObjectStoreFromConfig, executeGc, planCollection } = load();
    if (args.positionals.length > 0) throw new UsageError('gc takes no positional arguments');
    const policy = {
      olderThanMs: durationOption(args.values['older-than'], 'older-than', 30 * 86_400_000),
      checkpointsAfterMs: durationOption(args.values['checkpoints-after'], 'checkpoints-after', 86_400_000),
      keepSweeps: keepSweepsOption(args.values['keep-sweeps']),
      ...(args.values['keep-dataset-versions'] !== undefined
        ? { keepDatasetVersions: keepDatasetVersionsOption(args.values['keep-dataset-versions']) }
        : {}),
    };
    return withRunClient(io, async ({ config, runs }) => {
      const store = createObjectStoreFromConfig(config);
      const plan = await planCollection(store, config.s3.bucket, runs, policy);
      const deleted = args.flags.yes ? await executeGc(store, plan) : undefined;
      if (args.flags.json) {
        const items = plan.remove.map(({ objects, ...rest }) => ({ ...rest, objects: objects.length }));
        io.stdout.write(`${JSON.stringify({ dryRun: deleted === undefined, ...plan, remove: items })}\n`);
      } else io.stdout.write(renderPlan(plan, deleted !== undefined, policy));
      // Asked to collect dataset versions and could not: a nightly script must not take that for success.
      return plan.datasetVersionsRefused === undefined ? EXIT.ok : EXIT.failure;
    });
  },
};
