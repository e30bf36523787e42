/**
 * `fineflow sweep-history PIPELINE STAGE [--limit N] [--json]`: the sweep history a `hyperparameter-sweep` stage
 * left in the object store (`s3://<bucket>/sweeps/<pipeline>/<stage>/`, one record per ended sweep), newest first:
 * what a `warmStart` of that stage would read. Records are untrusted data, listed and read by the same bounded code
 * as the warm start (activities/sweep-history.ts) and described by src/core/sweep/sweep-history.ts.
 */
import type * as SweepHistoryIoModule from '../../../activities/sweep-history';
import type * as TextTableModule from '../../client/text-table';
import type * as ConfigModule from '../../config';
import type * as LayoutModule from '../../core/storage/layout';
import type * as SweepHistoryModule from '../../core/sweep/sweep-history';
import type { SweepHistoryEntry } from '../../core/sweep/sweep-history';
import type * as MinioStoreModule from '../../storage/minio-store';
import { EXIT, UsageError, type CliCommand } from '../command';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../config') as typeof ConfigModule;
  const m1 = require('../../storage/minio-store') as typeof MinioStoreModule;
  const m2 = require('../../../activities/sweep-history') as typeof SweepHistoryIoModule;
  const m3 = require('../../core/sweep/sweep-history') as typeof SweepHistoryModule;
  const m4 = require('../../core/storage/layout') as typeof LayoutModule;
  const mt = require('../../client/text-table') as typeof TextTableModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    loadConfig: m0.loadConfig,
    createObjectStoreFromConfig: m1.createObjectStoreFromConfig,
    newestHistoryObjects: m2.newestHistoryObjects,
    describeHistoryRecords: m3.describeHistoryRecords,
    listedKeys: m3.SWEEP_HISTORY_LIMITS.listedKeys,
    sweepHistoryPrefix: m4.sweepHistoryPrefix,
    renderTable: mt.renderTable,
  };
}

const DEFAULT_LIMIT = 20;

function limitOption(value: string | undefined, max: number): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const count = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(count >= 1 && count <= max)) throw new UsageError(`--limit ${value}: expected a whole number from 1 to ${max}`);
  return count;
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

/** The "vs newest" cell: what differs from the newest readable record. */
function comparedWithNewest(differences: readonly string[] | undefined): string {
  if (differences === undefined) return 'newest';
  return differences.length === 0 ? 'same' : differences.join('; ');
}

function renderEntries(entries: readonly SweepHistoryEntry[]): string[] {
  const { renderTable } = load();
  const rows = entries.map((entry) =>
    'problem' in entry
      ? [entry.name, '', '', '', '', '', `not read: ${entry.problem}`]
      : [
          entry.endedAt,
          entry.runId,
          entry.outcome,
          comparedWithNewest(entry.differsFromNewest),
          entry.omittedTrials > 0 ? `${entry.trials} (+${entry.omittedTrials} left out)` : String(entry.trials),
          entry.best ? formatValue(entry.best.value) : '—',
          entry.best ? `trial ${entry.best.trialId ?? '?'} ${entry.best.params}` : 'no completed trial',
        ],
  );
  return renderTable(
    [
      { title: 'ended' },
      { title: 'run' },
      { title: 'outcome' },
      { title: 'vs newest' },
      { title: 'trials', align: 'right' },
      { title: 'best', align: 'right' },
      { title: 'best trial' },
    ],
    rows,
  );
}

export const command: CliCommand = {
  name: 'sweep-history',
  summary: "list a sweep stage's history records, newest first: what its warmStart reads",
  usage: 'sweep-history PIPELINE STAGE [--limit 20] [--json]',
  description: `Every ended hyperparameter-sweep leaves one record (its objective, space and finished trials) under
s3://<bucket>/sweeps/PIPELINE/STAGE/. A stage with warmStart reads the newest of them; this lists them with
their best completed trial. Records are checked as a warm start checks them (format, stage, size). A warm start
also leaves out records of another objective or trial budget, and trials outside the current space: the
"vs newest" column says what of each record's objective, trial budget and space differs from the newest
readable record ("same" when nothing does), which is what a warm start of a sweep like the newest compares.
This command has no pipeline file, so it compares with the newest record, not with the pipeline as it is now.
fineflow gc keeps the newest 20 per stage (--keep-sweeps).`,
  examples: [
    { command: 'fineflow sweep-history nightly-retrain tune', explanation: "the tune stage's newest 20 records" },
    {
      command: "fineflow sweep-history nightly-retrain tune --limit 5 --json | jq '.records[0].best'",
      explanation: "the newest sweep's best trial, for a script",
    },
  ],
  json: true,
  options: [
    {
      name: 'limit',
      kind: 'string',
      valueName: 'N',
      description: `how many of the newest records to list (default ${DEFAULT_LIMIT}, at most 1000)`,
    },
  ],
  async run(args, io) {
    const loaded = load();
    const { loadConfig, createObjectStoreFromConfig, newestHistoryObjects, describeHistoryRecords } = loaded;
    const { listedKeys, sweepHistoryPrefix } = loaded;
    const [pipeline, stage, ...extra] = args.positionals;
    if (!pipeline || !stage || extra.length > 0) throw new UsageError('expected a PIPELINE name and a STAGE id');
    const limit = limitOption(args.values.limit, listedKeys);
    const config = loadConfig(io.env);
    let prefix: string;
    try {
      prefix = sweepHistoryPrefix(config.s3.bucket, pipeline, stage);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    const store = createObjectStoreFromConfig(config);
    const { objects, overflow } = await newestHistoryObjects(store, prefix, limit);
    const records = describeHistoryRecords(objects, { pipeline, stage });
    if (args.flags.json) {
      io.stdout.write(`${JSON.stringify({ prefix, records, ...(overflow ? { overflow } : {}) })}\n`);
      return EXIT.ok;
    }
    if (records.length === 0) {
      io.stdout.write(`no sweep history under ${prefix} (a sweep of this stage writes one record when it ends)\n`);
      return EXIT.ok;
    }
    const first = records.find((entry) => !('problem' in entry));
    const objective = first && !('problem' in first) ? `; objective of the newest: ${first.objective}` : '';
    const lines = [`${prefix}: ${records.length} newest record(s)${objective}`, ...renderEntries(records)];
    if (overflow) lines.push(`note: ${overflow}`);
    io.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  },
};
