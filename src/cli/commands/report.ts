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

/** How `findReports` tells a run with no report from no run at all. */
export interface FindReportsOptions {
  /**
   * Asked only when the bucket holds nothing of the run: throws "no run RUN" (InvalidInputError, as `fineflow
   * status` and `fineflow logs` say it) when there is no such run, and returns when there is or it cannot tell.
   */
  readonly requireRun?: (runId: string) => Promise<void>;
  /**
   * Asked when the named STAGE has no report: throws "run R … has no stage STAGE (stages: …)" when the run has no
   * such stage, and returns when it has or it cannot tell (then the "no report for stage" message stands).
   */
  readonly requireStage?: (runId: string, stage: string) => Promise<void>;
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
      throw new InvalidInputError(
        `${what} ${JSON.stringify(value)} is not a run or stage id (letters, digits, . _ -)`,
        {
          field: what,
        },
      );
  const prefix = `s3://${bucket}/runs/${runId}/`;
  // A run with no objects yet (just started) or none at all: only Temporal knows which.
  const requireRunIfEmpty = async (empty: boolean): Promise<void> => {
    if (empty) await options.requireRun?.(runId);
  };
  if (stage) {
    const uri = `${prefix}${stage}${REPORT_SUFFIX}`;
    if (!(await store.stat(uri))) {
      await requireRunIfEmpty((await store.list(prefix, { maxKeys: 1 })).length === 0);
      await options.requireStage?.(runId, stage);
      throw new NotFoundError(`run ${runId} has no report for stage ${stage} (${uri}); evaluate stages write one`, {
        uri,
      });
    }
    return { [stage]: uri };
  }
  const reports: Record<string, string> = {};
  const objects = await store.list(prefix);
  for (const object of objects) {
    const rest = object.key.slice(`runs/${runId}/`.length);
    const stageId = rest.split('/')[0] ?? '';
    if (rest === `${stageId}${REPORT_SUFFIX}`) reports[stageId] = `s3://${bucket}/${object.key}`;
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
 * `FindReportsOptions.requireStage` reading the run's stages from Temporal (`RunClient.state`, as `fineflow logs`
 * does). A run whose state cannot be read (Temporal unreachable, no worker to answer a running run's query) cannot
 * tell, and the report's own message stands.
 */
export function requireStageVia(
  open: () => Promise<{ readonly runs: Pick<RunClient, 'state'>; close(): Promise<void> }>,
): (runId: string, stage: string) => Promise<void> {
  return async (runId, stage) => {
    const opened = await open().catch(() => undefined);
    if (!opened) return;
    try {
      const state = await opened.runs.state(runId, { timeoutMs: 5_000 }).catch(() => undefined);
      if (state) load().requireRunStage(state, stage);
    } finally {
      await opened.close().catch(() => undefined);
    }
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
Without STAGE the run's only report is taken; with several, name one. FILE is replaced only once the whole
report is written: a failed fetch leaves an existing FILE as it was. A report over 64 MiB is refused (Fineflow's
evaluate stage writes far smaller ones; a larger object is not one of its reports).

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
      requireStage: requireStageVia(() => openRunClient(io)),
    });
    const stages = Object.keys(reports).sort();
    if (stages.length > 1) {
      throw new UsageError(
        `run ${runId} has reports for stages ${stages.join(', ')}; name one: fineflow report ${runId} STAGE`,
      );
    }
    const stageId = stages[0] as string;
    const output = path.resolve(io.cwd, args.values.output ?? `${runId}-${stageId}-report.html`);
    await saveReport(store, reports[stageId] as string, output);
    io.stdout.write(args.flags.json ? `${JSON.stringify({ runId, stage: stageId, file: output })}\n` : `${output}\n`);
    return EXIT.ok;
  },
};
