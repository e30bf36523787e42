/** `fineflow runs [--pipeline P] [--status S]`: recent runs, newest first, from Temporal visibility. */
import { EXIT, UsageError, requirePipelineName, type CliCommand } from '../command';
import type * as RunSupportModule from '../run-support';
import type * as RenderModule from '../../client/render';
import { LISTED_RUN_STATUSES } from '../../core/run/run-types';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../run-support') as typeof RunSupportModule;
  const m1 = require('../../client/render') as typeof RenderModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { withRunClient: m0.withRunClient, renderRunList: m1.renderRunList };
}

export const command: CliCommand = {
  name: 'runs',
  summary: 'list pipeline runs, filtered by pipeline and status',
  usage: `runs [--pipeline P] [--status ${LISTED_RUN_STATUSES.join('|')}] [--limit N] [--json]`,
  examples: [
    { command: 'fineflow runs', explanation: 'the 50 newest runs' },
    {
      command: 'fineflow runs --pipeline defect-detector --status failed --limit 10',
      explanation: 'the last ten failed runs of one pipeline',
    },
    { command: "fineflow runs --json | jq -r '.[].runId'", explanation: 'run ids for a script' },
  ],
  json: true,
  options: [
    { name: 'pipeline', short: 'p', kind: 'string', valueName: 'P', description: 'only runs of this pipeline' },
    { name: 'status', short: 's', kind: 'string', valueName: 'S', description: 'only runs with this status' },
    { name: 'limit', kind: 'string', valueName: 'N', description: 'at most N runs (default 50)' },
  ],
  async run(args, io) {
    const { withRunClient, renderRunList } = load();
    if (args.positionals.length > 0) throw new UsageError('runs takes no positional arguments');
    const limit = args.values.limit === undefined ? 50 : Number(args.values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
    const status = args.values.status;
    if (status !== undefined && !(LISTED_RUN_STATUSES as readonly string[]).includes(status))
      throw new UsageError(`--status ${status}: expected one of ${LISTED_RUN_STATUSES.join(', ')}`);
    const pipeline = args.values.pipeline;
    if (pipeline !== undefined)
      requirePipelineName(pipeline, { label: '--pipeline', what: 'run', example: '--pipeline defect-detector' });
    return withRunClient(io, async ({ runs }) => {
      const list = await runs.list({
        ...(pipeline ? { pipeline } : {}),
        ...(args.values.status ? { status: args.values.status } : {}),
        limit,
      });
      io.stdout.write(args.flags.json ? `${JSON.stringify(list)}\n` : `${renderRunList(list)}\n`);
      return EXIT.ok;
    });
  },
};
