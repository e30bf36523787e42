/** `fineflow cancel RUN`: cancel running stages and end the run `cancelled`. */
import { EXIT, UsageError, type CliCommand } from '../command';
import type * as RunSupportModule from '../run-support';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../run-support') as typeof RunSupportModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { withRunClient: m0.withRunClient };
}

export const command: CliCommand = {
  name: 'cancel',
  summary: 'cancel a run: running stages are stopped, the run ends cancelled',
  usage: 'cancel RUN [--wait] [--json]',
  examples: [
    {
      command: 'fineflow cancel quickstart-20261205-031651-fnr3',
      explanation: 'ask the run to stop; running stages are cancelled',
    },
    {
      command: 'fineflow cancel quickstart-20261205-031651-fnr3 --wait --json',
      explanation: 'wait until it has ended and print its final status as JSON',
    },
  ],
  json: true,
  options: [{ name: 'wait', kind: 'boolean', description: 'wait until the run has ended' }],
  async run(args, io) {
    const { withRunClient } = load();
    const [runId, ...extra] = args.positionals;
    if (!runId || extra.length > 0) throw new UsageError('expected exactly one RUN id');
    return withRunClient(io, async ({ runs }) => {
      await runs.cancel(runId);
      const final = args.flags.wait ? await runs.result(runId) : undefined;
      if (args.flags.json)
        io.stdout.write(
          `${JSON.stringify({ runId, cancelRequested: true, ...(final ? { status: final.status } : {}) })}\n`,
        );
      else io.stdout.write(final ? `run ${runId} ${final.status}\n` : `cancellation requested for run ${runId}\n`);
      return EXIT.ok;
    });
  },
};
