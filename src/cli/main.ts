/**
 * `fineflow` entry point: picks the sub-command and loads only its module. Connection
 * settings are read from the environment by the commands that need them (src/config.ts).
 */
import { EXIT, UsageError, formatHelp, parseArgs, type CliCommand, type CliIo } from './command';
import { ensureError } from '../errors';

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
  ['dev', 'dev'],
  ['models', 'models'],
  ['data', 'data'],
  ['schema', 'schema'],
];

function loadCommand(moduleName: string): CliCommand | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(`./commands/${moduleName}`) as { command?: CliCommand };
    return mod.command;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(`commands/${moduleName}`)) {
      return undefined;
    }
    throw error;
  }
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const lines = ['usage: fineflow <command> [options]', '', 'commands:'];
    for (const [cmdName, moduleName] of COMMANDS) {
      const cmd = loadCommand(moduleName);
      if (cmd) lines.push(`  ${cmdName.padEnd(10)} ${cmd.summary}`);
    }
    lines.push('', 'Run `fineflow <command> --help` for the options of one command.');
    io.stdout.write(`${lines.join('\n')}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    io.stdout.write(`${(require('../../package.json') as { version: string }).version}\n`);
    return EXIT.ok;
  }
  const entry = COMMANDS.find(([cmdName]) => cmdName === name);
  const command = entry ? loadCommand(entry[1]) : undefined;
  if (!command) {
    const known = COMMANDS.map(([n]) => n);
    const near = known.find((k) => k.startsWith(name.slice(0, 2)));
    io.stderr.write(`fineflow: unknown command '${name}'${near ? ` (did you mean '${near}'?)` : ''}; run 'fineflow --help'\n`);
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
