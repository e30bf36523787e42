/**
 * `fineflow rerun RUN --from STAGE [--set NAME=VALUE] [--watch]`: the command over `startRerun` (src/client/rerun.ts,
 * shared with the UI); `--watch` follows the new run as `submit --watch` does (src/cli/run-support.ts).
 */
import type * as RunClientModule from '../../client/run-client';
import type * as RunSupportModule from '../run-support';
import type * as RerunModule from '../../client/rerun';
import type { RerunStarted } from '../../client/rerun';
import type { RunState } from '../../core/run/run-types';
import type * as ConfigModule from '../../config';
import { ensureError } from '../../core/errors';
import { parseSetPairs } from '../../core/run/params';
import type * as TemporalConnectionModule from '../../client/temporal-connection';
import type * as MinioStoreModule from '../../storage/minio-store';
import { EXIT, UsageError, type CliCommand, type CliIo } from '../command';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../client/run-client') as typeof RunClientModule;
  const m1 = require('../../client/rerun') as typeof RerunModule;
  const m2 = require('../../config') as typeof ConfigModule;
  const m3 = require('../../client/temporal-connection') as typeof TemporalConnectionModule;
  const m4 = require('../../storage/minio-store') as typeof MinioStoreModule;
  const m5 = require('../run-support') as typeof RunSupportModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    RunClient: m0.RunClient,
    startRerun: m1.startRerun,
    loadConfig: m2.loadConfig,
    connectClient: m3.connectClient,
    createObjectStoreFromConfig: m4.createObjectStoreFromConfig,
    followRun: m5.followRun,
    exitCodeForRun: m5.exitCodeForRun,
    watchNotices: m5.watchNotices,
  };
}

/** What started; `following`: --watch follows it next (`final`: the ended run, under --json). */
function report(started: RerunStarted, io: CliIo, json: boolean, following = false, final?: RunState): void {
  const { selection } = started;
  if (json) {
    io.stdout.write(
      `${JSON.stringify({
        runId: started.runId,
        fromRunId: started.fromRunId,
        fromStage: started.fromStage,
        rerun: selection.rerun,
        reused: selection.reuse.map((r) => r.stageId),
        params: Object.fromEntries(Object.entries(selection.plan.params).map(([name, p]) => [name, p.value])),
        notes: selection.notes,
        ...(final ? { final } : {}),
      })}\n`,
    );
    return;
  }
  const lines = [
    `started run ${started.runId}: rerun of ${started.fromRunId} from stage ${started.fromStage}`,
    `  runs again: ${selection.rerun.join(', ')}`,
    selection.reuse.length > 0
      ? `  reused:     ${selection.reuse.map((r) => r.stageId).join(', ')} (outputs of run ${started.fromRunId})`
      : '  reused:     (nothing)',
    ...selection.notes.map((note) => `  note: ${note}`),
    following ? '' : `watch it with: fineflow status ${started.runId}`,
  ].filter((line) => line !== '');
  io.stdout.write(`${lines.join('\n')}\n`);
}

export const command: CliCommand = {
  name: 'rerun',
  summary: 'start a new run from an ended one, rerunning a stage and its descendants and reusing the rest',
  usage: 'rerun RUN --from STAGE [--set NAME=VALUE]… [--watch] [--json]',
  description: [
    'Reads the plan and the final stage states of RUN, then starts a new run that reuses the outputs',
    'of every stage not downstream of STAGE and executes STAGE and everything downstream of it.',
    'The rerun stages bypass the stage cache (their new results replace the cached ones).',
    'The new run records its origin: trigger {kind: rerun, fromRunId, fromStage, origin}, where origin',
    'is the trigger of the original run; a run started by new data is rerun on the same dataset version.',
    'It runs on the control pool the original ran on (`submit --control-pool`).',
    '',
    'With --watch, follows the new run as `submit --watch` does and exits 0 only if it succeeded (with --json, the',
    'ended run is printed as `final`).',
    '',
    'Use `fineflow retry RUN` instead when the run is still waiting on a failed stage.',
    'A rerun is a new run, so a fine-tune on registry://NAME@ALIAS pins the version the alias names now;',
    'a retry keeps the version the run pinned.',
    '',
    'exit codes: 0 started (--watch: succeeded), 1 the run or stage cannot be rerun (--watch: the new run did not',
    'succeed), 2 bad command line, 3 Temporal unreachable',
  ].join('\n'),
  examples: [
    {
      command: 'fineflow rerun quickstart-20261205-031651-fnr3 --from evaluate',
      explanation: 'a new run: evaluate and what follows run again, the rest is reused',
    },
    {
      command: 'fineflow rerun quickstart-20261205-031651-fnr3 --from evaluate --watch',
      explanation: 'the same, following the new run until it ends',
    },
    {
      command: 'fineflow rerun quickstart-20261205-031651-fnr3 --from finetune --set epochs=30 --json',
      explanation: 'rerun fine-tuning with another param value',
    },
  ],
  json: true,
  options: [
    {
      name: 'from',
      kind: 'string',
      valueName: 'STAGE',
      description: 'first stage to run again (its descendants run too)',
    },
    {
      name: 'set',
      kind: 'multi',
      valueName: 'NAME=VALUE',
      description: 'override a param for the new run (type-checked)',
    },
    { name: 'watch', short: 'w', kind: 'boolean', description: 'follow the new run until it ends' },
  ],
  async run(args, io) {
    const loaded = load();
    const { RunClient, startRerun, loadConfig, connectClient, createObjectStoreFromConfig } = loaded;
    const [runId, ...extra] = args.positionals;
    if (!runId) throw new UsageError('missing RUN (a run id from `fineflow runs`)');
    if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
    const fromStage = args.values.from;
    if (!fromStage) throw new UsageError('missing --from STAGE');
    const json = args.flags.json === true;
    let set: { [name: string]: string };
    try {
      set = parseSetPairs(args.multi.set ?? []);
    } catch (error) {
      throw new UsageError(ensureError(error).message);
    }
    const config = loadConfig(io.env);
    const client = await connectClient(config.temporal);
    try {
      const store = createObjectStoreFromConfig(config);
      const runs = new RunClient(client, {
        bucket: config.s3.bucket,
        store,
        ...(config.ui.url ? { uiUrl: config.ui.url } : {}),
      });
      const started = await startRerun(runs, store, { runId, fromStage, set });
      if (!args.flags.watch) {
        report(started, io, json);
        return EXIT.ok;
      }
      if (json) {
        const final = await runs.watch(started.runId, () => undefined, {
          until: (s) => s.status === 'waiting',
          ...loaded.watchNotices(io, started.runId),
        });
        report(started, io, json, true, final);
        return loaded.exitCodeForRun(final);
      }
      report(started, io, json, true);
      return loaded.exitCodeForRun(await loaded.followRun(runs, started.runId, io));
    } finally {
      await client.connection.close();
    }
  },
};
