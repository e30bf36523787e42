/**
 * The shape of a `fineflow` sub-command. Each command lives in `src/cli/commands/<name>.ts`
 * and exports `command: CliCommand`; `main.ts` loads only the one being run, so `fineflow
 * validate` never loads tfjs or the Temporal worker.
 */
import { closest } from '../core/spec/suggest';

/** Exit codes mean the same thing for every command. */
export const EXIT = {
  ok: 0,
  /** The input is invalid, or the thing asked about failed (a run failed, a check failed). */
  failure: 1,
  /** The command line itself is wrong: unknown flag, missing argument. */
  usage: 2,
  /** A service (Temporal, MinIO) could not be reached. */
  unavailable: 3,
} as const;

export interface OptionSpec {
  /** Long name without dashes, e.g. `set`. */
  readonly name: string;
  readonly short?: string;
  /** `boolean` flags take no value; `string` take one; `multi` may repeat (e.g. `--set k=v`). */
  readonly kind: 'boolean' | 'string' | 'multi';
  readonly description: string;
  readonly valueName?: string;
}

export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly flags: Readonly<Record<string, boolean>>;
  readonly values: Readonly<Record<string, string>>;
  readonly multi: Readonly<Record<string, readonly string[]>>;
}

export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
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
  /** Sub-commands such as `schedule apply`; the first positional selects one. */
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

export class UsageError extends Error {}

/** Every command accepts these. */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  { name: 'help', short: 'h', kind: 'boolean', description: 'show help for this command' },
  { name: 'json', kind: 'boolean', description: 'machine-readable output on stdout' },
];

export function parseArgs(argv: readonly string[], options: readonly OptionSpec[]): ParsedArgs {
  const all = [...COMMON_OPTIONS, ...options];
  const byName = new Map(all.map((o) => [o.name, o]));
  const byShort = new Map(all.filter((o) => o.short).map((o) => [o.short as string, o]));
  const positionals: string[] = [];
  const flags: Record<string, boolean> = {};
  const values: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      spec = byName.get(name);
      if (!spec) {
        const near = closest(name, byName.keys());
        throw new UsageError(`unknown option --${name}${near ? ` (did you mean --${near}?)` : ''}`);
      }
    } else if (arg.startsWith('-') && arg.length === 2) {
      spec = byShort.get(arg.slice(1));
      if (!spec)
        throw new UsageError(`unknown option ${arg}; options: ${[...byShort.keys()].map((k) => `-${k}`).join(', ')}`);
    } else {
      positionals.push(arg);
      continue;
    }
    if (spec.kind === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${spec.name} takes no value`);
      flags[spec.name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined)
      throw new UsageError(`--${spec.name} needs a value${spec.valueName ? ` (${spec.valueName})` : ''}`);
    if (spec.kind === 'multi') (multi[spec.name] ??= []).push(value);
    else values[spec.name] = value;
  }
  return { positionals, flags, values, multi };
}

export function formatHelp(command: CliCommand): string {
  const lines = [`usage: fineflow ${command.usage}`, '', command.summary];
  if (command.description) lines.push('', command.description.trimEnd());
  lines.push('', 'options:');
  for (const o of [...command.options, ...COMMON_OPTIONS]) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.kind === 'boolean' ? '' : ` ${o.valueName ?? 'VALUE'}`}`;
    lines.push(`  ${flag.padEnd(30)} ${o.description}${o.kind === 'multi' ? ' (repeatable)' : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
