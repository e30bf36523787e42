/**
 * The `fineflow` sub-commands: name on the command line → module under ./commands, loaded on
 * demand, so `fineflow validate` never loads tfjs or the Temporal worker.
 */
import type { CliCommand } from './command';

/** Order is the order of `fineflow --help`. */
export const COMMAND_MODULES: readonly (readonly [name: string, moduleName: string])[] = [
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
  ['sweep-history', 'sweep-history'],
  ['predict', 'predict'],
  ['serve', 'serve'],
  ['report', 'report'],
  ['ui', 'ui'],
  ['data', 'data'],
  ['schema', 'schema'],
  ['setup', 'setup'],
  ['gc', 'gc'],
  ['completion', 'completion'],
];

/**
 * One-line summaries for `fineflow --help`, so the command list loads no command module (some
 * still pull in the Temporal worker and tfjs when loaded). test/unit/cli/main.test.ts keeps them
 * equal to each module's own `summary`.
 */
export const COMMAND_SUMMARIES: { readonly [name: string]: string } = {
  cancel: 'cancel a run: running stages are stopped, the run ends cancelled',
  'codec-server': 'serve /encode and /decode so the Temporal UI can show encrypted payloads',
  completion: 'print a bash, zsh or fish completion script for fineflow',
  data: 'push data as an immutable dataset version; list, compare and pull versions',
  dev: 'start, stop or check the local Temporal + MinIO stack',
  gc: 'delete old runs, checkpoints, unused cache, sweep history and dataset versions (dry run unless --yes)',
  logs: "print a run's stage logs (every attempt)",
  models: 'list registered models, show a model card, move an alias, or export a model for other runtimes',
  predict: 'class probabilities for images, CSV or JSONL files (local or s3://) from a model',
  plan: 'show the normalised plan and DAG a run of a pipeline would execute',
  report: "write a run's evaluation report (HTML) to a local file",
  rerun: 'start a new run from an ended one, rerunning a stage and its descendants and reusing the rest',
  retry: 'retry the waiting stages of a run, optionally with changed params',
  runs: 'list pipeline runs, filtered by pipeline and status',
  schedule: 'retrain on a schedule or when new data lands (Temporal Schedules + data watchers)',
  schema: 'print the JSON Schema of pipeline files (for editors)',
  serve: 'serve a model over HTTP: /predict (JSON instances, batched), /healthz, /readyz, /model',
  setup: 'build or restore the native TensorFlow backend (cached in ~/.cache/fineflow)',
  status: 'show a run: stage states, attempts, times, progress, sweep trials',
  submit: 'validate a pipeline and start a run',
  'sweep-history': "list a sweep stage's history records, newest first: what its warmStart reads",
  ui: 'serve the web app: runs with live DAGs and logs, models, schedules, pipeline validation',
  validate: 'check pipeline files and report every problem',
  worker: 'run a worker for a pool (the control pool also runs pipeline workflows)',
};

/** `[name, summary]` of every command in `--help` order; a command missing from COMMAND_SUMMARIES is loaded. */
export function commandSummaries(): [name: string, summary: string][] {
  return COMMAND_MODULES.map(([name, moduleName]) => [
    name,
    Object.hasOwn(COMMAND_SUMMARIES, name) ? (COMMAND_SUMMARIES[name] as string) : loadCommand(moduleName).summary,
  ]);
}

function loadCommand(moduleName: string): CliCommand {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(`./commands/${moduleName}`) as { command?: CliCommand };
  if (!mod.command) throw new Error(`src/cli/commands/${moduleName} exports no \`command\``);
  return mod.command;
}

/** The command a user typed, or undefined when there is none by that name. */
export function commandNamed(name: string): CliCommand | undefined {
  const entry = COMMAND_MODULES.find(([cmdName]) => cmdName === name);
  return entry ? loadCommand(entry[1]) : undefined;
}

/** Every command, in `--help` order. */
export function allCommands(): CliCommand[] {
  return COMMAND_MODULES.map(([, moduleName]) => loadCommand(moduleName));
}

export const COMMAND_NAMES: readonly string[] = COMMAND_MODULES.map(([name]) => name);
