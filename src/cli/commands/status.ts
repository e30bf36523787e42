/** `fineflow status RUN [--watch]`: every stage's state, attempts, times and live progress. */
import { EXIT, UsageError, type CliCommand } from '../command';
import { exitCodeForRun, followRun, withRunClient } from '../../client/cli-support';
import { renderRunState } from '../../client/render';

export const command: CliCommand = {
  name: 'status',
  summary: 'show a run: stage states, attempts, times, progress',
  usage: 'status RUN [--watch] [--json]',
  description: 'Without --watch: exit 0 whatever the run status. With --watch: follow until the run ends or waits; exit 0 only if it succeeded.',
  options: [{ name: 'watch', short: 'w', kind: 'boolean', description: 'follow the run until it ends' }],
  async run(args, io) {
    const [runId, ...extra] = args.positionals;
    if (!runId || extra.length > 0) throw new UsageError('expected exactly one RUN id');
    return withRunClient(io, 'status', async ({ runs }) => {
      if (args.flags.watch && !args.flags.json) return exitCodeForRun(await followRun(runs, runId, io));
      const state = args.flags.watch ? await runs.watch(runId, () => undefined, { until: (s) => s.status === 'waiting' }) : await runs.state(runId);
      io.stdout.write(args.flags.json ? `${JSON.stringify(state)}\n` : `${renderRunState(state)}\n`);
      return args.flags.watch ? exitCodeForRun(state) : EXIT.ok;
    });
  },
};
