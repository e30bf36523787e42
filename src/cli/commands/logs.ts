/**
 * `fineflow logs RUN [STAGE] [--stage S] [--follow]`: stage logs from the object store. A sweep
 * stage's log is written by its workflow (src/core/sweep/sweep-log.ts) where every stage's is, so
 * it reads the same: one line per trial event.
 */
import { EXIT, UsageError, type CliCommand } from '../command';
import type * as RunSupportModule from '../run-support';
import type * as RunLogsModule from '../../client/run-logs';
import type * as MinioStoreModule from '../../storage/minio-store';
import type { RunState } from '../../core/run/run-types';
import { shownInput } from '../../core/shown-input';
import type * as RunStageModule from '../run-stage';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../run-support') as typeof RunSupportModule;
  const m1 = require('../../client/run-logs') as typeof RunLogsModule;
  const m2 = require('../../storage/minio-store') as typeof MinioStoreModule;
  const m3 = require('../run-stage') as typeof RunStageModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    withRunClient: m0.withRunClient,
    attemptsWithoutLogs: m1.attemptsWithoutLogs,
    listStageLogs: m1.listStageLogs,
    newLogCursor: m1.newLogCursor,
    printMissingLogs: m1.printMissingLogs,
    printStageLogs: m1.printStageLogs,
    printUnfinishedAttempts: m1.printUnfinishedAttempts,
    unfinishedLastAttempts: m1.unfinishedLastAttempts,
    createObjectStoreFromConfig: m2.createObjectStoreFromConfig,
    requireRunStage: m3.requireRunStage,
  };
}

export const command: CliCommand = {
  name: 'logs',
  summary: "print a run's stage logs (every attempt)",
  usage: 'logs RUN [STAGE] [--stage S] [--follow]',
  examples: [
    { command: 'fineflow logs quickstart-20261205-031651-fnr3', explanation: "every stage's log, every attempt" },
    {
      command: 'fineflow logs quickstart-20261205-031651-fnr3 finetune --follow',
      explanation: 'one stage, following new lines until the run ends',
    },
  ],
  json: 'log lines are printed as the stages wrote them; `fineflow status RUN --json` gives stage states as JSON',
  options: [
    { name: 'stage', kind: 'string', valueName: 'S', description: 'only this stage' },
    { name: 'follow', short: 'f', kind: 'boolean', description: 'keep printing new lines until the run ends' },
  ],
  async run(args, io) {
    const {
      withRunClient,
      attemptsWithoutLogs,
      listStageLogs,
      newLogCursor,
      printMissingLogs,
      printStageLogs,
      printUnfinishedAttempts,
      unfinishedLastAttempts,
      createObjectStoreFromConfig,
      requireRunStage,
    } = load();
    const [runId, positionalStage, ...extra] = args.positionals;
    if (!runId || extra.length > 0) throw new UsageError('expected a RUN id and at most one STAGE');
    if (positionalStage !== undefined && args.values.stage !== undefined && positionalStage !== args.values.stage) {
      throw new UsageError(
        `two stages given: ${shownInput(positionalStage)} and --stage ${shownInput(args.values.stage)}; name one`,
      );
    }
    return withRunClient(io, async ({ config, runs }) => {
      const store = createObjectStoreFromConfig(config);
      const write = (text: string): void => {
        io.stdout.write(text);
      };
      const stage = args.values.stage ?? positionalStage;
      const cursor = newLogCursor();
      const print = async (ended: RunState | undefined): Promise<void> => {
        const logs = await listStageLogs(store, config.s3.bucket, runId, stage);
        await printStageLogs(store, logs, write, cursor);
        if (!ended) return;
        printMissingLogs(attemptsWithoutLogs(ended, logs, stage), write, cursor);
        printUnfinishedAttempts(unfinishedLastAttempts(ended, stage), write, cursor);
      };
      if (!args.flags.follow) {
        // The run's attempts say which logs should exist; without a control worker, print what is there.
        const state = await runs.state(runId, { timeoutMs: 5_000 }).catch(() => undefined);
        if (!state)
          await runs.execution(runId); // an unknown id is an error, not an empty log
        else requireRunStage(state, stage);
        await print(state);
        if (cursor.nextLine.size === 0 && cursor.notedMissing.size === 0) {
          io.stderr.write(`no logs for run ${runId}${stage ? ` stage ${stage}` : ''} yet\n`);
        }
        return EXIT.ok;
      }
      requireRunStage(await runs.state(runId), stage);
      for (;;) {
        const state = await runs.state(runId);
        await print(state.endedAt !== undefined ? state : undefined);
        if (state.endedAt !== undefined) return EXIT.ok;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    });
  },
};
