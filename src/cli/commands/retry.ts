/** `fineflow retry RUN [--stage S] [--set NAME=VALUE]`: run waiting stages again (a validated Temporal update). */
import { EXIT, UsageError, type CliCommand } from '../command';
import type * as RunSupportModule from '../run-support';
import { parseSetPairs } from '../../core/run/params';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../run-support') as typeof RunSupportModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { withRunClient: m0.withRunClient };
}

export const command: CliCommand = {
  name: 'retry',
  summary: 'retry the waiting stages of a run, optionally with changed params',
  usage: 'retry RUN [--stage S] [--set NAME=VALUE]… [--json]',
  description: [
    'A stage with `onFailure: pause` that exhausted its retries leaves the run waiting. retry sets',
    'it (or every waiting stage) back to pending; --set changes params first, typed by the',
    "pipeline's declarations. The run checks the request: an unknown stage, a stage that is not",
    'waiting, or a param of the wrong type is refused and nothing changes.',
    '',
    'A retry continues the same run: a fine-tune keeps the base model version its first attempt pinned',
    '(registry://NAME@ALIAS) and resumes its checkpoints, even if the alias has moved since. To train on the',
    "alias's new version, start a new run with `fineflow rerun RUN --from STAGE`.",
  ].join('\n'),
  examples: [
    {
      command: 'fineflow retry quickstart-20261205-031651-fnr3',
      explanation: 'retry every stage the run is waiting on',
    },
    {
      command: 'fineflow retry quickstart-20261205-031651-fnr3 --stage finetune --set epochs=30',
      explanation: 'change a param, then retry one stage',
    },
  ],
  json: true,
  options: [
    {
      name: 'stage',
      kind: 'string',
      valueName: 'S',
      description: 'retry only this stage (default: every waiting stage)',
    },
    {
      name: 'set',
      kind: 'multi',
      valueName: 'NAME=VALUE',
      description: 'change a param before retrying (type-checked)',
    },
  ],
  async run(args, io) {
    const { withRunClient } = load();
    const [runId, ...extra] = args.positionals;
    if (!runId || extra.length > 0) throw new UsageError('expected exactly one RUN id');
    let params: Record<string, string>;
    try {
      params = parseSetPairs(args.multi.set ?? []);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    return withRunClient(io, async ({ runs }) => {
      const result = await runs.retry(runId, {
        ...(args.values.stage ? { stageId: args.values.stage } : {}),
        ...(Object.keys(params).length > 0 ? { params } : {}),
      });
      io.stdout.write(
        args.flags.json ? `${JSON.stringify(result)}\n` : `retrying ${result.retried.join(', ')} in run ${runId}\n`,
      );
      return EXIT.ok;
    });
  },
};
