/**
 * The shape of a `fineflow` sub-command and its argument parser. Each command lives in
 * `src/cli/commands/<name>.ts` and exports `command: CliCommand`. A command module imports only
 * what describing it needs (this file, small constants) at load time and loads the rest inside
 * `run`, so `fineflow --help`, `fineflow <name> --help` and shell completion load no Temporal
 * client, worker, MinIO client or tfjs (test/unit/cli/lazy-commands.test.ts checks it).
 *
 * Parsing is `node:util`'s `parseArgs` (strict, positionals allowed): a well-kept parser from the
 * platform rather than a hand-written one. This file adds what it lacks: "did you mean" for
 * mistyped options (the project's edit distance, src/core/spec/suggest.ts), deprecated option
 * names that still work with a note, `--help` that wins over other mistakes, and help text with
 * examples and the command's `--json` policy.
 */
import { parseArgs as parseNodeArgs, type ParseArgsConfig } from 'node:util';
import { PIPELINE_NAME_PATTERN } from '../core/spec/pipeline-schema';
import { closest } from '../core/spec/suggest';
import { quotedInput } from '../core/shown-input';
import { resolveStageModule } from '../spec/stage-module';
import { wrapAtSpaces } from '../core/wrap-text';

/** Help text's wrapping: {@link wrapAtSpaces}. */
export const wrapHelpLine = wrapAtSpaces;

/** Exit codes mean the same thing for every command. */
export const EXIT = {
  ok: 0,
  /** The input is invalid, or the thing asked about failed (a run failed, a check failed). */
  failure: 1,
  /** The command line itself is wrong: unknown flag, missing argument. */
  usage: 2,
  /** A service (Temporal, MinIO) could not be reached. */
  unavailable: 3,
  /**
   * Nothing was wrong, and nothing was done: `schedule trigger` started no run (every data watcher it reached last saw
   * an empty prefix). A script can tell it from a trigger that started one.
   */
  nothingStarted: 4,
} as const;

export interface OptionSpec {
  /** Long name without dashes, e.g. `set`. */
  readonly name: string;
  readonly short?: string;
  /** `boolean` flags take no value; `string` take one; `multi` may repeat (e.g. `--set NAME=VALUE`). */
  readonly kind: 'boolean' | 'string' | 'multi';
  readonly description: string;
  readonly valueName?: string;
  /** Former names still accepted; each use prints a deprecation note naming `name` on stderr. */
  readonly deprecatedNames?: readonly string[];
}

export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly flags: Readonly<Record<string, boolean>>;
  readonly values: Readonly<Record<string, string>>;
  readonly multi: Readonly<Record<string, readonly string[]>>;
}

export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** One `Examples:` entry of `--help`: a command line a user can paste, and what it does. */
export interface CliExample {
  /** The full command line, starting with `fineflow`. */
  readonly command: string;
  readonly explanation: string;
}

export interface CliCommand {
  readonly name: string;
  /** One line for `fineflow --help`. */
  readonly summary: string;
  /** e.g. `validate FILE…` */
  readonly usage: string;
  /** Longer help text shown by `fineflow <name> --help`. */
  readonly description?: string;
  readonly options: readonly OptionSpec[];
  /** Sub-command words (`schedule apply`, `dev up`): offered by shell completion after the command. */
  readonly subcommands?: readonly string[];
  /** Shown under `Examples:` in `--help`; every command has at least one (test/unit/cli/main.test.ts). */
  readonly examples: readonly CliExample[];
  /**
   * `true` when `--json` prints machine-readable output on stdout. Otherwise the reason the command
   * has none: `--json` is then refused with it (exit 2) instead of being silently ignored.
   */
  readonly json: true | string;
  /** Sub-commands without JSON output (`dev logs`), each with its reason: `--json` is refused there only. */
  readonly jsonRefusedFor?: { readonly [subcommand: string]: string };
  /**
   * Runs the command. It returns the exit code of an outcome it decided (a failed run is 1); errors it
   * cannot handle are thrown, and `main` (src/cli/main.ts) maps them to the message and exit code in
   * one place: UsageError 2, DependencyUnavailableError 3, anything else 1.
   */
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

export class UsageError extends Error {}

// A pipeline name given on the command line (`runs --pipeline`, `schedule pause NAME`, …) is checked against
// metadata.name's own pattern before anything asks Temporal: a name no pipeline can have would otherwise read as
// "no runs" or "no schedule", as if that pipeline merely had none.
const PIPELINE_NAME = new RegExp(PIPELINE_NAME_PATTERN);

/**
 * Throws a UsageError unless `value` can be a pipeline's metadata.name. `label` is how the user gave it (`--pipeline`,
 * `NAME`), `what` what no such pipeline has (`run`, `schedule`), `example` a corrected command line.
 */
export function requirePipelineName(
  value: string,
  given: { readonly label: string; readonly what: string; readonly example: string },
): void {
  if (PIPELINE_NAME.test(value)) return;
  throw new UsageError(
    `${given.label} ${quotedInput(value)} is not a pipeline name (metadata.name: lower-case letters, digits and ` +
      `dashes, at most 63, not starting with a dash), so no ${given.what} has it: give the pipeline's metadata.name, ` +
      `e.g. ${given.example}`,
  );
}

const HELP_OPTION: OptionSpec = {
  name: 'help',
  short: 'h',
  kind: 'boolean',
  description: 'show help for this command',
};
const JSON_OPTION: OptionSpec = { name: 'json', kind: 'boolean', description: 'machine-readable output on stdout' };

/** Every command accepts these (`--json` is refused with a reason by commands without JSON output). */
export const COMMON_OPTIONS: readonly OptionSpec[] = [HELP_OPTION, JSON_OPTION];

/**
 * `--stage-module PATH`: one name in every command for a module of custom stage types. It may
 * export `stageTypes` (definitions: validate, plan, schema, submit, schedule) and `stages`
 * (implementations: worker). `--stage-types`, its former name in validate/plan/schema, still works.
 */
export const STAGE_MODULE_OPTION: OptionSpec = {
  name: 'stage-module',
  kind: 'multi',
  valueName: 'PATH',
  description: 'load custom stage types from a module (its `stageTypes`; a worker runs its `stages`)',
  deprecatedNames: ['stage-types'],
};

/**
 * `--stage-module` values as `require` paths ({@link resolveStageModule}, the worker's rule too); a package that
 * is not installed stays as given, and the loader reports "cannot load stage module NAME: Cannot find module …".
 */
export function stageModulePaths(args: ParsedArgs, cwd: string): string[] {
  return (args.multi['stage-module'] ?? []).map((value) => {
    try {
      return resolveStageModule(value, cwd);
    } catch {
      return value;
    }
  });
}

/** True when `--help`/`-h` appears before `--`: help is shown even if the rest of the line is wrong. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

function optionLabel(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

/** Replace deprecated option names by their current one, reporting each through `onNote`. */
function renameDeprecated(
  argv: readonly string[],
  options: readonly OptionSpec[],
  onNote: (note: string) => void,
): string[] {
  const renames = new Map(options.flatMap((o) => (o.deprecatedNames ?? []).map((old) => [old, o.name] as const)));
  if (renames.size === 0) return [...argv];
  const end = argv.indexOf('--');
  return argv.map((arg, i) => {
    if ((end >= 0 && i >= end) || !arg.startsWith('--')) return arg;
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const current = renames.get(name);
    if (current === undefined) return arg;
    onNote(`--${name} is deprecated; use --${current} (same meaning)`);
    return `--${current}${eq >= 0 ? arg.slice(eq) : ''}`;
  });
}

/** Reword `node:util` parse errors (named by their stable codes) in the CLI's own terms. */
function usageErrorFrom(error: unknown, byName: ReadonlyMap<string, OptionSpec>): UsageError {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  const name = /'(?:-[a-zA-Z], )?--?([\w-]+)/.exec(message)?.[1];
  const spec = name === undefined ? undefined : byName.get(name);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && spec) {
    if (spec.kind === 'boolean') return new UsageError(`--${spec.name} takes no value`);
    if (/ambiguous/.test(message)) {
      return new UsageError(
        `--${spec.name} is followed by an option, not a value; ` +
          `to pass a value that starts with a dash, write --${spec.name}=VALUE`,
      );
    }
    return new UsageError(`--${spec.name} needs a value${spec.valueName ? ` (${spec.valueName})` : ''}`);
  }
  return new UsageError(message.replace(/^Option /, 'option ').replace(/^Unknown /, 'unknown '));
}

/**
 * Parse `argv` against the command's options plus `--help`/`--json`. Unknown options are refused
 * with the nearest known name; deprecated names are renamed with a note through `onNote`.
 */
export function parseArgs(
  argv: readonly string[],
  options: readonly OptionSpec[],
  onNote: (note: string) => void = () => undefined,
): ParsedArgs {
  const all = [...options, ...COMMON_OPTIONS];
  const byName = new Map(all.flatMap((o) => [[o.name, o] as const, ...(o.short ? [[o.short, o] as const] : [])]));
  const args = renameDeprecated(argv, all, onNote);
  const config: ParseArgsConfig['options'] = {};
  for (const o of all) {
    config[o.name] = {
      type: o.kind === 'boolean' ? 'boolean' : 'string',
      ...(o.kind === 'multi' ? { multiple: true } : {}),
      ...(o.short ? { short: o.short } : {}),
    };
  }
  // A lenient pass first, only to name an unknown option with a suggestion (strict mode's own
  // error has no "did you mean").
  const { tokens } = parseNodeArgs({ args, options: config, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option' || byName.has(token.name)) continue;
    const longNames = all.map((o) => o.name);
    const near = token.name.length > 1 ? closest(token.name, longNames) : undefined;
    const known = all.filter((o) => o.short).map((o) => `-${o.short}`);
    throw new UsageError(
      `unknown option ${optionLabel(token.name)}${
        near ? ` (did you mean --${near}?)` : token.name.length === 1 ? `; short options: ${known.join(', ')}` : ''
      }`,
    );
  }
  let parsed: ReturnType<typeof parseNodeArgs>;
  try {
    parsed = parseNodeArgs({ args, options: config, strict: true, allowPositionals: true });
  } catch (error) {
    throw usageErrorFrom(error, byName);
  }
  const flags: Record<string, boolean> = {};
  const values: Record<string, string> = {};
  const multi: Record<string, readonly string[]> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (typeof value === 'boolean') flags[name] = value;
    else if (typeof value === 'string') values[name] = value;
    else if (Array.isArray(value)) multi[name] = value.filter((v): v is string => typeof v === 'string');
  }
  return { positionals: parsed.positionals, flags, values, multi };
}

/** Refuse `--json` for a command that has no JSON output, with its reason. */
export function checkJsonPolicy(command: CliCommand, args: ParsedArgs): void {
  if (!args.flags.json) return;
  if (command.json !== true) throw new UsageError(`--json is not supported: ${command.json}`);
  const sub = args.positionals[0];
  const refused = sub !== undefined ? ownReason(command.jsonRefusedFor, sub) : undefined;
  if (refused !== undefined) throw new UsageError(`--json is not supported by ${command.name} ${sub}: ${refused}`);
}

function ownReason(reasons: { readonly [sub: string]: string } | undefined, sub: string): string | undefined {
  return reasons && Object.prototype.hasOwnProperty.call(reasons, sub) ? reasons[sub] : undefined;
}

/** The usage error for a missing or unknown sub-command, one wording for every command, with a suggestion. */
export function subcommandError(sub: string | undefined, known: readonly string[]): UsageError {
  if (sub === undefined) return new UsageError(`give a sub-command: ${known.join(', ')}`);
  const near = closest(sub, known);
  return new UsageError(
    `unknown sub-command '${sub}'${near ? ` (did you mean '${near}'?)` : ''}; one of ${known.join(', ')}`,
  );
}

/** `--help` fits this many columns, as the project's code and docs do; example command lines are not broken. */
export const HELP_WIDTH = 120;
/** A usage line too long for one line goes on under its command name. */
const USAGE_INDENT = ' '.repeat('usage: fineflow '.length);
/** Where an option's description starts; a longer flag puts its description on the next line. */
const OPTION_COLUMN = 33;

/** A paragraph of the description: each line kept, broken further only when too long, under its own indent. */
function wrapDescription(text: string, width: number): string[] {
  return text.split('\n').flatMap((line) => wrapAtSpaces(line, width, /^\s*/.exec(line)?.[0] ?? ''));
}

function optionLines(flag: string, description: string, width: number): string[] {
  const indent = ' '.repeat(OPTION_COLUMN);
  const head = `  ${flag}`;
  const body = wrapAtSpaces(`${indent}${description}`, width, indent);
  if (head.length >= OPTION_COLUMN) return [head, ...body];
  return [`${head.padEnd(OPTION_COLUMN)}${(body[0] ?? '').trimStart()}`, ...body.slice(1)];
}

function optionHelp(o: OptionSpec, width: number): string[] {
  const value = o.kind === 'boolean' ? '' : ` ${o.valueName ?? 'VALUE'}`;
  const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${value}`;
  const notes = [
    ...(o.kind === 'multi' ? ['repeatable'] : []),
    ...(o.deprecatedNames ?? []).map((old) => `--${old} is a deprecated name`),
  ];
  return optionLines(flag, `${o.description}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`, width);
}

/** `usage` split at its top-level ` | `: alternatives inside brackets (`[--list | --markdown]`) are one form. */
function usageForms(usage: string): string[] {
  const forms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < usage.length; i++) {
    depth += usage[i] === '[' ? 1 : usage[i] === ']' ? -1 : 0;
    if (depth === 0 && usage.startsWith(' | ', i)) {
      forms.push(usage.slice(start, i));
      start = i + 3;
    }
  }
  return [...forms, usage.slice(start)];
}

/**
 * The usage line; a command with sub-commands gets one line per form (`a | b` in `usage`), each a full command a
 * user can read on its own, as git's usage does.
 */
function usageLines(command: CliCommand, width: number): string[] {
  const forms = usageForms(command.usage);
  return forms.flatMap((form, i) => {
    const full = i === 0 || form.startsWith(`${command.name} `) ? form : `${command.name} ${form}`;
    // An optional group ([--grace DURATION]) is never split: its spaces are held until the line is broken.
    const held = full.replace(/\[[^\]]*\]/g, (group) => group.replaceAll(' ', '\u00a0'));
    const prefix = `${i === 0 ? 'usage: ' : '       '}fineflow `;
    return wrapHelpLine(`${prefix}${held}`, width, USAGE_INDENT).map((line) => line.replaceAll('\u00a0', ' '));
  });
}

/** The usage as a usage error prints it: the same lines as --help's first ones. */
export function formatUsage(command: CliCommand, width = HELP_WIDTH): string {
  return `${usageLines(command, width).join('\n')}\n`;
}

export function formatHelp(command: CliCommand, width = HELP_WIDTH): string {
  const lines = [...usageLines(command, width), '', ...wrapDescription(command.summary, width)];
  if (command.description) lines.push('', ...wrapDescription(command.description.trimEnd(), width));
  lines.push('', 'options:');
  const common = command.json === true ? COMMON_OPTIONS : [HELP_OPTION];
  for (const o of [...command.options, ...common]) lines.push(...optionHelp(o, width));
  // An entry of its own at the flags' column: in the description column it read as a line of --help's.
  if (command.json !== true) lines.push(...wrapHelpLine(`  no --json: ${command.json}`, width, '    '));
  for (const [sub, reason] of Object.entries(command.jsonRefusedFor ?? {}))
    lines.push(...wrapHelpLine(`  no --json for ${command.name} ${sub}: ${reason}`, width, '    '));
  if (command.examples.length > 0) {
    lines.push('', 'examples:');
    for (const example of command.examples)
      lines.push(...wrapHelpLine(`  # ${example.explanation}`, width, '    '), `  ${example.command}`);
  }
  return `${lines.join('\n')}\n`;
}
