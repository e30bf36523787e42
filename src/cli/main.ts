/**
 * `fineflow` entry point: picks the sub-command (src/cli/registry.ts) and runs it. Connection
 * settings are read from the environment by the commands that need them (src/config.ts).
 */
import {
  EXIT,
  UsageError,
  checkJsonPolicy,
  formatHelp,
  formatUsage,
  parseArgs,
  wantsHelp,
  type CliIo,
} from './command';
import { DependencyUnavailableError, FineflowError, InvalidInputError, ensureError } from '../core/errors';
import { closest } from '../core/spec/suggest';
import { packageVersion } from '../package-paths';
import { COMMAND_NAMES, commandNamed, commandSummaries } from './registry';
import { endWithParent, loadsNativeTf, runDroppingTfNotices } from './native-notices';

function usageOfFineflow(): string {
  const lines = ['usage: fineflow <command> [options]', '', 'commands:'];
  const summaries = commandSummaries();
  // Two spaces after the longest name (`sweep-history`), so every summary starts in one column.
  const width = Math.max(...summaries.map(([name]) => name.length)) + 2;
  for (const [name, summary] of summaries) lines.push(`  ${name.padEnd(width)}${summary}`);
  lines.push(
    '',
    'Run `fineflow <command> --help` (or `fineflow help <command>`) for the options and examples of one command.',
    'Shell completion: `source <(fineflow completion bash)`; see `fineflow completion --help`.',
  );
  return `${lines.join('\n')}\n`;
}

function unknownCommand(name: string, io: CliIo): number {
  const near = closest(name, COMMAND_NAMES);
  io.stderr.write(
    `fineflow: unknown command '${name}'${near ? ` (did you mean '${near}'?)` : ''}; run 'fineflow --help'\n`,
  );
  return EXIT.usage;
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    io.stdout.write(usageOfFineflow());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === 'help') {
    if (rest[0] === undefined) {
      io.stdout.write(usageOfFineflow());
      return EXIT.ok;
    }
    const command = commandNamed(rest[0]);
    if (!command) return unknownCommand(rest[0], io);
    io.stdout.write(formatHelp(command));
    return EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  const command = commandNamed(name);
  if (!command) return unknownCommand(name, io);
  if (wantsHelp(rest)) {
    io.stdout.write(formatHelp(command));
    return EXIT.ok;
  }
  let json = rest.includes('--json');
  let label = name;
  try {
    const args = parseArgs(rest, command.options, (note) => io.stderr.write(`fineflow ${name}: ${note}\n`));
    json = args.flags.json === true;
    const sub = args.positionals[0];
    if (sub !== undefined && command.subcommands?.includes(sub)) label = `${name} ${sub}`;
    checkJsonPolicy(command, args);
    return await command.run(args, io);
  } catch (thrown) {
    return reportError(ensureError(thrown), { label, usage: formatUsage(command), json, io });
  }
}

/** What a service outage needs from the user, whichever command met it. */
const UNAVAILABLE_HINT =
  'Is the stack running? Start it with `fineflow dev up`, or point TEMPORAL_ADDRESS / FINEFLOW_S3_ENDPOINT at yours.';

type Env = CliIo['env'];

/** The object store endpoint the command used, as the config reads it (src/config.ts), without any user:password. */
function s3EndpointOf(env: Env): string {
  const raw = env.FINEFLOW_S3_ENDPOINT?.trim() || 'http://127.0.0.1:9000';
  try {
    const url = new URL(raw.includes('://') ? raw : `http://${raw}`);
    return `${url.protocol}//${url.host}`;
  } catch {
    return 'FINEFLOW_S3_ENDPOINT (not a URL)';
  }
}

/** The fix for an outage: which service at which address did not answer, when the error says which. */
function unavailableHint(error: FineflowError, env: Env): string {
  if (!('s3Code' in error.details)) return UNAVAILABLE_HINT;
  return (
    `MinIO / S3 at ${s3EndpointOf(env)} (FINEFLOW_S3_ENDPOINT) did not answer: is the stack running? Start it with ` +
    '`fineflow dev up`, or set FINEFLOW_S3_ENDPOINT to your object store.'
  );
}

/**
 * Errors whose own words name neither the setting at fault nor the fix, in words that do. Temporal's answer for a
 * namespace it lacks (`Namespace not found: 'x'`, the client's NamespaceNotFoundError, matched by name so this module
 * loads no Temporal code) comes from TEMPORAL_NAMESPACE.
 */
function explained(error: Error, env: Env): Error {
  if (error.name !== 'NamespaceNotFoundError') return error;
  const namespace = String((error as Error & { readonly namespace?: unknown }).namespace ?? '?').slice(0, 200);
  const address = env.TEMPORAL_ADDRESS?.trim() || '127.0.0.1:7233';
  return new InvalidInputError(
    `Temporal at ${address} has no namespace '${namespace}' (TEMPORAL_NAMESPACE): set TEMPORAL_NAMESPACE to one of ` +
      "its namespaces (the local stack's is `default`), or create it with " +
      `\`temporal operator namespace create --namespace ${namespace}\``,
    { variable: 'TEMPORAL_NAMESPACE' },
    { cause: error },
  );
}

/**
 * The one place a command's error becomes a message and an exit code (EXIT in ./command.ts): a
 * UsageError 2, an unreachable service 3 (with what to check), anything else 1. Under `--json` the
 * error is also printed on stdout as `{"error": {"type", "message"}}`, so a script reading stdout
 * always gets JSON.
 */
export function reportError(
  thrown: Error,
  context: {
    readonly label: string;
    /** The command's usage lines (formatUsage), printed after a usage error. */
    readonly usage: string;
    readonly json: boolean;
    readonly io: CliIo;
  },
): number {
  const { label, usage, json, io } = context;
  const error = explained(thrown, io.env);
  const usageError = error instanceof UsageError;
  const unavailable = error instanceof DependencyUnavailableError;
  const code = usageError ? EXIT.usage : unavailable ? EXIT.unavailable : EXIT.failure;
  if (json) {
    const type = usageError ? 'usage' : error instanceof FineflowError ? error.type : 'error';
    io.stdout.write(`${JSON.stringify({ error: { type, message: error.message, exitCode: code } })}\n`);
  }
  // Some messages already name their command (`fineflow ui: the token must be …`).
  io.stderr.write(
    error.message.startsWith('fineflow ') ? `${error.message}\n` : `fineflow ${label}: ${error.message}\n`,
  );
  if (usageError) io.stderr.write(usage);
  if (error instanceof DependencyUnavailableError && !error.message.includes('fineflow dev up'))
    io.stderr.write(`${unavailableHint(error, io.env)}\n`);
  if (io.env.FINEFLOW_DEBUG && !usageError) io.stderr.write(`${error.stack ?? ''}\n`);
  return code;
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
  const argv = process.argv.slice(2);
  endWithParent();
  // predict, serve, models export and setup run in a child whose stderr this process reads (./native-notices.ts).
  const ran = loadsNativeTf(argv, process.env)
    ? runDroppingTfNotices(argv)
    : main(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
  ran
    .then((code) => {
      process.exitCode = code;
    })
    .catch((error: unknown) => {
      process.stderr.write(`fineflow: ${ensureError(error).stack ?? String(error)}\n`);
      process.exitCode = EXIT.failure;
    });
}

if (require.main === module) runCli();
