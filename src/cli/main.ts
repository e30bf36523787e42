/**
 * `fineflow` entry point: picks the sub-command and loads only its module. Connection
 * settings are read from the environment by the commands that need them (src/config.ts).
 */
import { EXIT, UsageError, formatHelp, parseArgs, type CliCommand, type CliIo } from './command';
import { ensureError } from '../core/errors';
import { closest } from '../core/spec/suggest';
import { packageVersion } from '../package-paths';

/** Sub-command name → module under ./commands. Order is the order of `fineflow --help`. */
const COMMANDS: readonly (readonly [string, string])[] = [
  ['validate', 'validate'],
  ['plan', 'plan'],
  ['submit', 'submit'],
  ['runs', 'runs'],
  ['status', 'status'],
  ['logs', 'logs'],
  ['retry', 'retry'],
  ['rerun', 'rerun'],
  ['cancel', 'cancel'],
  ['schedule', 'schedule'],
  ['worker', 'worker'],
  ['codec-server', 'codec-server'],
  ['dev', 'dev'],
  ['models', 'models'],
  ['predict', 'predict'],
  ['report', 'report'],
  ['ui', 'ui'],
  ['data', 'data'],
  ['schema', 'schema'],
  ['setup', 'setup'],
  ['gc', 'gc'],
];

/**
 * One-line summaries for `fineflow --help`, so the command list loads no command module (some
 * pull in the Temporal worker and tfjs). test/unit/cli/main.test.ts keeps them equal to each
 * module's own `summary`; a command missing here is loaded to read it.
 */
const SUMMARIES: { readonly [moduleName: string]: string } = {
  cancel: 'cancel a run: running stages are stopped, the run ends cancelled',
  'codec-server': 'serve /encode and /decode so the Temporal UI can show encrypted payloads',
  data: 'push data as an immutable dataset version; list, compare and pull versions',
  dev: 'start, stop or check the local Temporal + MinIO stack',
  gc: 'delete old runs, checkpoints of ended runs and unused cache entries (dry run unless --yes)',
  logs: "print a run's stage logs (every attempt)",
  models: 'list registered models, show a model card, or move an alias',
  predict: 'class probabilities for images, CSV or JSONL files (local or s3://) from a model',
  plan: 'show the normalised plan and DAG a run of a pipeline would execute',
  report: "write a run's evaluation report (HTML) to a local file",
  rerun: 'start a new run from an ended one, rerunning a stage and its descendants and reusing the rest',
  retry: 'retry the waiting stages of a run, optionally with changed params',
  runs: 'list pipeline runs, filtered by pipeline and status',
  schedule: 'retrain on a schedule or when new data lands (Temporal Schedules + data watchers)',
  schema: 'print the JSON Schema of pipeline files (for editors)',
  setup: 'build or restore the native TensorFlow backend (cached in ~/.cache/fineflow)',
  status: 'show a run: stage states, attempts, times, progress, sweep trials',
  submit: 'validate a pipeline and start a run',
  ui: 'serve the web app: runs with live DAGs and logs, models, schedules, pipeline validation',
  validate: 'check pipeline files and report every problem',
  worker: 'run a worker for a pool (the control pool also runs pipeline workflows)',
};

function loadCommand(moduleName: string): CliCommand | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(`./commands/${moduleName}`) as { command?: CliCommand };
    return mod.command;
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' &&
      String((error as Error).message).includes(`commands/${moduleName}`)
    ) {
      return undefined;
    }
    throw error;
  }
}

/** Exported for tests: the summaries `fineflow --help` prints without loading command modules. */
export const COMMAND_SUMMARIES = SUMMARIES;
export const COMMAND_MODULES = COMMANDS;

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const lines = ['usage: fineflow <command> [options]', '', 'commands:'];
    for (const [cmdName, moduleName] of COMMANDS) {
      const summary = Object.hasOwn(SUMMARIES, moduleName) ? SUMMARIES[moduleName] : loadCommand(moduleName)?.summary;
      if (summary !== undefined) lines.push(`  ${cmdName.padEnd(13)} ${summary}`);
    }
    lines.push('', 'Run `fineflow <command> --help` for the options of one command.');
    io.stdout.write(`${lines.join('\n')}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version') {
    io.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  const entry = COMMANDS.find(([cmdName]) => cmdName === name);
  const command = entry ? loadCommand(entry[1]) : undefined;
  if (!command) {
    const near = closest(
      name,
      COMMANDS.map(([n]) => n),
    );
    io.stderr.write(
      `fineflow: unknown command '${name}'${near ? ` (did you mean '${near}'?)` : ''}; run 'fineflow --help'\n`,
    );
    return EXIT.usage;
  }
  try {
    const args = parseArgs(rest, command.options);
    if (args.flags.help) {
      io.stdout.write(formatHelp(command));
      return EXIT.ok;
    }
    return await command.run(args, io);
  } catch (thrown) {
    const error = ensureError(thrown);
    if (error instanceof UsageError) {
      io.stderr.write(`fineflow ${name}: ${error.message}\nusage: fineflow ${command.usage}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`fineflow ${name}: ${error.message}\n`);
    if (io.env.FINEFLOW_DEBUG) io.stderr.write(`${error.stack ?? ''}\n`);
    return EXIT.failure;
  }
}

/** Run the command line of this process and set its exit code (bin/fineflow.js calls this). */
export function runCli(): void {
  // `fineflow schema | head`: the reader left; stop quietly, as Unix tools do.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(process.exitCode ?? 0);
    });
  }
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() })
    .then((code) => {
      process.exitCode = code;
    })
    .catch((error: unknown) => {
      process.stderr.write(`fineflow: ${ensureError(error).stack ?? String(error)}\n`);
      process.exitCode = EXIT.failure;
    });
}

if (require.main === module) runCli();
