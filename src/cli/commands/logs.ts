/**
 * `fineflow logs RUN [STAGE] [--stage S] [--follow]`: stage logs from the object store. A sweep
 * stage's log is written by its workflow (src/core/sweep/sweep-log.ts) where every stage's is, so
 * it reads the same: one line per trial event.
 */
import { EXIT, UsageError, type CliCommand } from '../command';
import { withRunClient } from '../run-support';
import { listStageLogs, printStageLogs } from '../../client/run-logs';
import { createObjectStoreFromConfig } from '../../storage/minio-store';

export const command: CliCommand = {
  name: 'logs',
  summary: "print a run's stage logs (every attempt)",
  usage: 'logs RUN [STAGE] [--stage S] [--follow]',
  options: [
    { name: 'stage', kind: 'string', valueName: 'S', description: 'only this stage' },
    { name: 'follow', short: 'f', kind: 'boolean', description: 'keep printing new lines until the run ends' },
  ],
  async run(args, io) {
    const [runId, positionalStage, ...extra] = args.positionals;
    if (!runId || extra.length > 0) throw new UsageError('expected a RUN id and at most one STAGE');
    if (positionalStage !== undefined && args.values.stage !== undefined && positionalStage !== args.values.stage) {
      throw new UsageError(`two stages given: ${positionalStage} and --stage ${args.values.stage}; name one`);
    }
    return withRunClient(io, 'logs', async ({ config, runs }) => {
      const store = createObjectStoreFromConfig(config);
      const write = (text: string): void => {
        io.stdout.write(text);
      };
      const stage = args.values.stage ?? positionalStage;
      const printed = await printStageLogs(store, await listStageLogs(store, config.s3.bucket, runId, stage), write);
      if (!args.flags.follow) {
        // No logs: say whether the run exists at all (an unknown id is an error, not an empty log).
        if (printed.size === 0) {
          await runs.execution(runId);
          io.stderr.write(`no logs for run ${runId}${stage ? ` stage ${stage}` : ''} yet\n`);
        }
        return EXIT.ok;
      }
      for (;;) {
        const state = await runs.state(runId);
        await printStageLogs(store, await listStageLogs(store, config.s3.bucket, runId, stage), write, printed);
        if (state.endedAt !== undefined) return EXIT.ok;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    });
  },
};
