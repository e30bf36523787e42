/**
 * `fineflow report RUN [STAGE] [--output FILE]`: writes an evaluate stage's HTML report
 * (runs/<RUN>/<STAGE>/report/report.html in the bucket) to a local file, to open in a browser.
 * Without STAGE, the run's only report; with several, they are listed and one must be named.
 */
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as ConfigModule from '../../config';
import { InvalidInputError, NotFoundError, ResourceLimitError } from '../../core/errors';
import type * as MinioStoreModule from '../../storage/minio-store';
import type * as AtomicOutputModule from '../atomic-output';
import type * as RunSupportModule from '../run-support';
import type * as RunStageModule from '../run-stage';
import type { RunClient } from '../../client/run-client';
import type { RunState } from '../../core/run/run-types';
import { stageReportOf } from '../../core/run/stage-producer';
import { quotedInput } from '../../core/shown-input';
import { runStageOfUri } from '../../core/storage/layout';
import type * as ObjectStoreModule from '../../storage/object-store';
import type { ObjectStore } from '../../storage/object-store';
import { EXIT, UsageError, type CliCommand } from '../command';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../config') as typeof ConfigModule;
  const m1 = require('../../storage/minio-store') as typeof MinioStoreModule;
  const m2 = require('../atomic-output') as typeof AtomicOutputModule;
  const m3 = require('../run-support') as typeof RunSupportModule;
  const m4 = require('../../storage/object-store') as typeof ObjectStoreModule;
  const m5 = require('../run-stage') as typeof RunStageModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    loadConfig: m0.loadConfig,
    createObjectStoreFromConfig: m1.createObjectStoreFromConfig,
    openAtomicOutput: m2.openAtomicOutput,
    openRunClient: m3.openRunClient,
    maxHtmlReportBytes: m4.MAX_HTML_REPORT_BYTES,
    requireRunStage: m5.requireRunStage,
  };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const REPORT_SUFFIX = '/report/report.html';

/** The part of a run's state `findReports` reads: its stages and their outputs. */
export type ReportRunState = Pick<RunState, 'runId' | 'pipeline' | 'stages'>;

/** How `findReports` tells a run with no report from no run at all, and finds reports of cached stages. */
export interface FindReportsOptions {
  /**
   * Asked only when the bucket holds nothing of the run: throws "no run RUN" (InvalidInputError, as `fineflow
   * status` and `fineflow logs` say it) when there is no such run, and returns when there is or it cannot tell.
   */
  readonly requireRun?: (runId: string) => Promise<void>;
  /**
   * The run's state, or undefined when it cannot be read (Temporal unreachable, no worker to answer a running run's
   * query). A stage served from the cache (or reused by a rerun) wrote nothing under this run: its `report` output
   * names the report of the run that computed it, which the state alone tells. Also names a STAGE the run lacks.
   */
  readonly readState?: (runId: string) => Promise<ReportRunState | undefined>;
}

/** The HTML report a stage's outputs name, when it lies where that stage's producer wrote (stageReportOf). */
function reportInState(bucket: string, state: ReportRunState, stageId: string): string | undefined {
  const stage = state.stages.find((s) => s.id === stageId);
  const found = stage ? stageReportOf(bucket, state.runId, stage) : undefined;
  return found?.uri.endsWith(REPORT_SUFFIX) ? found.uri : undefined;
}

/** The HTML reports of a run by stage id, or the one of `stage`. */
export async function findReports(
  store: ObjectStore,
  bucket: string,
  runId: string,
  stage?: string,
  options: FindReportsOptions = {},
): Promise<Record<string, string>> {
  for (const [what, value] of [
    ['RUN', runId],
    ['STAGE', stage],
  ] as const)
    if (value !== undefined && (!NAME.test(value) || value.includes('..')))
      throw new InvalidInputError(`${what} ${quotedInput(value)} is not a run or stage id (letters, digits, . _ -)`, {
        field: what,
      });
  const prefix = `s3://${bucket}/runs/${runId}/`;
  // A run with no objects yet (just started) or none at all: only Temporal knows which.
  const requireRunIfEmpty = async (empty: boolean): Promise<void> => {
    if (empty) await options.requireRun?.(runId);
  };
  if (stage) {
    const uri = `${prefix}${stage}${REPORT_SUFFIX}`;
    if (await store.stat(uri)) return { [stage]: uri };
    const state = await options.readState?.(runId);
    const elsewhere = state ? reportInState(bucket, state, stage) : undefined;
    if (elsewhere && (await store.stat(elsewhere))) return { [stage]: elsewhere };
    await requireRunIfEmpty((await store.list(prefix, { maxKeys: 1 })).length === 0);
    if (state) load().requireRunStage(state, stage);
    if (elsewhere)
      throw new NotFoundError(
        `stage ${stage} of run ${runId} took its outputs from run ${runStageOfUri(bucket, elsewhere)?.runId ?? '?'}, ` +
          `whose report ${elsewhere} is no longer in the bucket (removed by \`fineflow gc\` or by hand); rerun the ` +
          `stage to write it again: fineflow rerun ${runId} --from ${stage}`,
        { uri: elsewhere },
      );
    throw new NotFoundError(`run ${runId} has no report for stage ${stage} (${uri}); evaluate stages write one`, {
      uri,
    });
  }
  const reports: Record<string, string> = {};
  const objects = await store.list(prefix);
  for (const object of objects) {
    const rest = object.key.slice(`runs/${runId}/`.length);
    const stageId = rest.split('/')[0] ?? '';
    if (rest === `${stageId}${REPORT_SUFFIX}`) reports[stageId] = `s3://${bucket}/${object.key}`;
  }
  // Stages served from the cache (or reused by a rerun) hold their reports under the run that computed them.
  const state = await options.readState?.(runId);
  for (const { id } of state?.stages ?? []) {
    const elsewhere = reports[id] === undefined ? reportInState(bucket, state as ReportRunState, id) : undefined;
    if (elsewhere && (await store.stat(elsewhere))) reports[id] = elsewhere;
  }
  if (Object.keys(reports).length === 0) {
    await requireRunIfEmpty(objects.length === 0);
    throw new NotFoundError(`run ${runId} has no HTML report under ${prefix} (only evaluate stages write one)`, {
      runId,
    });
  }
  return reports;
}

/**
 * `FindReportsOptions.requireRun` asking Temporal (`RunClient.execution`, as `fineflow status` and `logs` do):
 * throws its "no run RUN; list runs with `fineflow runs`". When Temporal cannot be reached (or is not configured)
 * it cannot tell, and the report's own "no report" message stands: reports are read from the bucket alone.
 */
export function requireRunVia(
  open: () => Promise<{ readonly runs: Pick<RunClient, 'execution'>; close(): Promise<void> }>,
): (runId: string) => Promise<void> {
  return async (runId) => {
    const opened = await open().catch(() => undefined);
    if (!opened) return;
    try {
      await opened.runs.execution(runId);
    } catch (thrown) {
      if (thrown instanceof InvalidInputError && thrown.details.code === 'no-run') throw thrown;
    } finally {
      await opened.close().catch(() => undefined);
    }
  };
}

/**
 * `FindReportsOptions.readState` from Temporal (`RunClient.state`, as `fineflow logs` reads it), read once per
 * command. A run whose state cannot be read (Temporal unreachable, no worker to answer a running run's query) gives
 * undefined: reports under the run's own prefix are still found, and the report's own messages stand.
 */
export function readStateVia(
  open: () => Promise<{ readonly runs: Pick<RunClient, 'state'>; close(): Promise<void> }>,
): (runId: string) => Promise<ReportRunState | undefined> {
  const read = new Map<string, Promise<ReportRunState | undefined>>();
  const readOnce = async (runId: string): Promise<ReportRunState | undefined> => {
    const opened = await open().catch(() => undefined);
    if (!opened) return undefined;
    try {
      return await opened.runs.state(runId, { timeoutMs: 5_000 }).catch(() => undefined);
    } finally {
      await opened.close().catch(() => undefined);
    }
  };
  return (runId) => {
    const known = read.get(runId) ?? readOnce(runId);
    read.set(runId, known);
    return known;
  };
}

/**
 * Copies the report at `uri` to `output` all or nothing (./atomic-output.ts): the bytes stream into a hidden
 * sibling that replaces `output` only once complete, so a failed fetch or a crash mid-write leaves the user's old
 * file as it was, and a failure leaves no temporary file.
 */
export async function saveReport(
  store: ObjectStore,
  uri: string,
  output: string,
  maxBytes = load().maxHtmlReportBytes,
): Promise<void> {
  const size = (await store.stat(uri))?.size;
  if (size !== undefined && size > maxBytes) throw reportTooLarge(uri, `${size} bytes`, maxBytes);
  const file = await load().openAtomicOutput(output);
  try {
    await pipeline(await store.getStream(uri), capped(uri, maxBytes), file.stream);
    await file.commit();
  } catch (thrown) {
    await file.abort();
    throw thrown;
  }
}

function reportTooLarge(uri: string, size: string, maxBytes: number): ResourceLimitError {
  return new ResourceLimitError(
    `${uri} is ${size}, more than the ${maxBytes / 1024 / 1024} MiB an evaluation report can be: Fineflow's evaluate ` +
      'stage does not write one that large, so something else replaced it (the bucket is writable by pipeline code). ' +
      'Nothing was written; inspect the object with `mc stat` before trusting it',
    { uri, code: 'object-too-large', maxBytes },
  );
}

/** Passes at most `maxBytes` through (the object may grow between the size check and the read). */
function capped(uri: string, maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(reportTooLarge(uri, `over ${maxBytes} bytes`, maxBytes));
      else done(null, chunk);
    },
  });
}

export const command: CliCommand = {
  name: 'report',
  summary: "write a run's evaluation report (HTML) to a local file",
  usage: 'report RUN [STAGE] [--output FILE]',
  description: `Copies runs/RUN/STAGE/report/report.html from the bucket to FILE (default RUN-STAGE-report.html)
and prints its path; open it in a browser (it is self-contained: no scripts, no network).
Without STAGE the run's only report is taken; with several, name one. A stage served from the cache (or
reused by a rerun) has the report of the run that computed it: that one is copied, and stderr names the run.
FILE is replaced only once the whole report is written: a failed fetch leaves an existing FILE as it was.
A report over 64 MiB is refused (Fineflow's evaluate stage writes far smaller ones; a larger object is not
one of its reports).

Exit codes: 0 ok, 1 no such run, stage or report (or one over 64 MiB), 2 usage (or several reports and no STAGE), 3 MinIO unreachable.`,
  examples: [
    {
      command: 'fineflow report quickstart-20261205-031651-fnr3',
      explanation: "save the run's evaluation report and print its path",
    },
    {
      command: 'fineflow report quickstart-20261205-031651-fnr3 evaluate --output /tmp/report.html',
      explanation: "one stage's report, to a chosen file",
    },
  ],
  json: true,
  options: [{ name: 'output', short: 'o', kind: 'string', valueName: 'FILE', description: 'where to write the HTML' }],
  async run(args, io) {
    const { loadConfig, createObjectStoreFromConfig, openRunClient } = load();
    const [runId, stage, ...extra] = args.positionals;
    if (!runId || extra.length > 0) throw new UsageError('give RUN and at most one STAGE');
    const config = loadConfig(io.env);
    const store = createObjectStoreFromConfig(config);
    const reports = await findReports(store, config.s3.bucket, runId, stage, {
      requireRun: requireRunVia(() => openRunClient(io)),
      readState: readStateVia(() => openRunClient(io)),
    });
    const stages = Object.keys(reports).sort();
    if (stages.length > 1) {
      throw new UsageError(
        `run ${runId} has reports for stages ${stages.join(', ')}; name one: fineflow report ${runId} STAGE`,
      );
    }
    const stageId = stages[0] as string;
    const output = path.resolve(io.cwd, args.values.output ?? `${runId}-${stageId}-report.html`);
    const uri = reports[stageId] as string;
    await saveReport(store, uri, output);
    const fromRunId = runStageOfUri(config.s3.bucket, uri)?.runId ?? runId;
    if (fromRunId !== runId && !args.flags.json)
      io.stderr.write(
        `stage ${stageId} took its outputs from run ${fromRunId} (cache hit or rerun): its report is that run's\n`,
      );
    io.stdout.write(
      args.flags.json
        ? `${JSON.stringify({ runId, stage: stageId, file: output, ...(fromRunId !== runId ? { fromRunId } : {}) })}\n`
        : `${output}\n`,
    );
    return EXIT.ok;
  },
};
