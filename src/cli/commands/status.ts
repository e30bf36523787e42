/**
 * `fineflow status RUN [--watch]`: every stage's state, attempts, times and live progress, and
 * under each sweep stage its trial table (src/client/sweep-trial-table.ts).
 */
import { EXIT, UsageError, type CliCommand } from '../command';
import type * as RunSupportModule from '../run-support';
import type * as RenderModule from '../../client/render';
import type * as SweepSectionsModule from '../sweep-sections';
import type * as SweepTrialTableModule from '../../client/sweep-trial-table';
import type * as SweepTrialsLookupModule from '../../client/sweep-trials-lookup';
import type * as MinioStoreModule from '../../storage/minio-store';
import type * as ChildRunsModule from '../../client/child-runs';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../run-support') as typeof RunSupportModule;
  const m1 = require('../../client/render') as typeof RenderModule;
  const m2 = require('../sweep-sections') as typeof SweepSectionsModule;
  const m3 = require('../../client/sweep-trial-table') as typeof SweepTrialTableModule;
  const m4 = require('../../client/sweep-trials-lookup') as typeof SweepTrialsLookupModule;
  const m5 = require('../../storage/minio-store') as typeof MinioStoreModule;
  const m6 = require('../../client/child-runs') as typeof ChildRunsModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    exitCodeForRun: m0.exitCodeForRun,
    followRun: m0.followRun,
    watchNotices: m0.watchNotices,
    waitingRunAdvice: m0.waitingRunAdvice,
    recordedPlan: m0.recordedPlan,
    planNeeds: m0.planNeeds,
    withRunClient: m0.withRunClient,
    renderRunState: m1.renderRunState,
    sweepSections: m2.sweepSections,
    TRIAL_TABLE_MAX_WIDTH: m2.TRIAL_TABLE_MAX_WIDTH,
    renderTrialTable: m3.renderTrialTable,
    sweepTrialTables: m4.sweepTrialTables,
    withTrialCounts: m4.withTrialCounts,
    createObjectStoreFromConfig: m5.createObjectStoreFromConfig,
    withChildRuns: m6.withChildRuns,
  };
}

export const command: CliCommand = {
  name: 'status',
  summary: 'show a run: stage states, attempts, times, progress, sweep trials',
  usage: 'status RUN [--watch] [--json]',
  description:
    'Without --watch: exit 0 whatever the run status. With --watch: follow until the run ends or waits; exit 0 only if it succeeded. ' +
    'A hyperparameter-sweep stage also shows its trials (id, state, epochs, objective, params; * marks the best); --json adds them as `sweeps`. ' +
    "A pipeline stage is followed by its child run's stages (`train › finetune`; in --json with `parentStage`). " +
    'A run waiting on a failed stage also gets what to do on stderr: `fineflow retry`, or, when the stage failed on ' +
    'invalid input written in the pipeline file (no param feeds it), fix the file and submit it again.',
  examples: [
    { command: 'fineflow status quickstart-20261205-031651-fnr3', explanation: 'stage table of a run, once' },
    {
      command: 'fineflow status quickstart-20261205-031651-fnr3 --watch',
      explanation: 'follow it live until it ends; exit 0 only if it succeeded',
    },
    {
      command: "fineflow status quickstart-20261205-031651-fnr3 --json | jq '.stages.finetune.status'",
      explanation: "one stage's state for a script",
    },
  ],
  json: true,
  options: [{ name: 'watch', short: 'w', kind: 'boolean', description: 'follow the run until it ends' }],
  async run(args, io) {
    const {
      exitCodeForRun,
      followRun,
      watchNotices,
      waitingRunAdvice,
      recordedPlan,
      planNeeds,
      withRunClient,
      renderRunState,
      sweepSections,
      TRIAL_TABLE_MAX_WIDTH,
      renderTrialTable,
      sweepTrialTables,
      withTrialCounts,
      createObjectStoreFromConfig,
      withChildRuns,
    } = load();
    const [runId, ...extra] = args.positionals;
    if (!runId || extra.length > 0) throw new UsageError('expected exactly one RUN id');
    return withRunClient(io, async ({ config, runs }) => {
      if (args.flags.watch && !args.flags.json)
        return exitCodeForRun(await followRun(runs, runId, io, { sections: sweepSections(runs, config) }));
      const read = args.flags.watch
        ? await runs.watch(runId, () => undefined, {
            until: (s) => s.status === 'waiting',
            ...watchNotices(io, runId),
          })
        : await withChildRuns(await runs.state(runId), (id) => runs.state(id));
      const sweeps = await sweepTrialTables(runs.client, createObjectStoreFromConfig(config), config.s3.bucket, read);
      // A sweep stage's progress line counts its trials as their table does (a trial whose worker died: retrying).
      const state = withTrialCounts(read, sweeps);
      // An ended run's stages that never ran say which upstream kept them from it: the plan has the `needs`.
      const plan =
        !args.flags.json && state.stages.some((s) => s.status === 'pending') && state.endedAt !== undefined
          ? await recordedPlan(runs, runId)
          : undefined;
      if (args.flags.json) io.stdout.write(`${JSON.stringify({ ...state, sweeps })}\n`);
      else
        io.stdout.write(
          `${[
            renderRunState(state, new Date(), TRIAL_TABLE_MAX_WIDTH, planNeeds(plan)),
            ...sweeps.map((table) => renderTrialTable(table, TRIAL_TABLE_MAX_WIDTH)),
          ].join('\n\n')}\n`,
        );
      // A waiting run says what to do next, as the watches do: retry, or fix the file for a literal's invalid input.
      if (!args.flags.json && state.status === 'waiting')
        io.stderr.write(`${waitingRunAdvice(state, runId, plan ?? (await recordedPlan(runs, runId)))}\n`);
      return args.flags.watch ? exitCodeForRun(state) : EXIT.ok;
    });
  },
};
