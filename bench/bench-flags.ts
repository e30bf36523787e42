/**
 * The flags each `npm run bench` section takes, in one table: `npm run bench` checks the arguments after its second
 * `--` against the chosen sections' flags before it prepares anything, and each section's script checks its own when
 * run directly. Before, a section read the flags it knew and ignored the rest: a typo such as `--seed 30` for
 * `--seeds 30`, or `--help`, ran the sweep section's 20-seed default on every objective (an hour of training) instead
 * of what was asked. Pure (no I/O), so the parent can read it without loading a section.
 */

export interface BenchFlag {
  readonly name: string;
  /** What follows the flag (`N`, `LIST`, `JSON`, …); absent for a switch. */
  readonly value?: string;
  /** The flag may be given more than once (`--set`). */
  readonly repeats?: boolean;
  readonly help: string;
}

export interface SectionFlags {
  readonly flags: readonly BenchFlag[];
  /** One positional argument, when the section takes one. */
  readonly positional?: { readonly name: string; readonly help: string };
}

const SEEDS_HELP = 'how many seeds (default 20; the simulated check always runs 40)';

export const SECTION_FLAGS: Readonly<Record<string, SectionFlags>> = {
  spec: { flags: [] },
  sweep: {
    flags: [
      {
        name: '--objectives',
        value: 'LIST',
        help: 'real objectives to run, in this order (defect-cnn, tabular-mlp, …)',
      },
      { name: '--methods', value: 'LIST', help: 'methods to run (fineflow-tpe-asha, random, optuna-tpe-sha, …)' },
      { name: '--seeds', value: 'N', help: SEEDS_HELP },
      { name: '--first-seed', value: 'N', help: 'the first seed of the range (default 1)' },
      { name: '--scenario', value: 'NAME', help: 'cold (default), retrain or retrain-moved' },
      { name: '--tpe', value: 'JSON', help: "a TPE variant (the controller's tpe options), in its own row" },
      { name: '--asha', value: 'JSON', help: 'an ASHA variant (earlyStopping options), in its own row' },
      {
        name: '--gp',
        value: 'JSON',
        help: 'options of the Gaussian-process method (with --methods …,fineflow-gp-asha)',
      },
      { name: '--dyhpo', value: 'JSON', help: 'options of the DyHPO-style method (with --methods …,fineflow-dyhpo)' },
      {
        name: '--inherit',
        value: 'JSON',
        help: 'options of checkpoint inheritance (with --methods …,fineflow-tpe-asha-inherit)',
      },
      { name: '--no-optuna', help: 'leave out the Optuna rows (no Python side)' },
      { name: '--simulated-only', help: 'the simulated check alone (seconds)' },
      { name: '--calibrate', help: "recompute the objectives' targets and stop" },
      { name: '--fresh', help: 'train every curve again instead of reading the curve cache' },
      { name: '--progress', help: 'a line per finished seed' },
      { name: '--check-cache', help: 'check the curve caches, train nothing, and stop' },
    ],
  },
  backend: { flags: [] },
  ml: { flags: [] },
  cli: { flags: [] },
  memory: {
    flags: [
      { name: '--batches', value: 'LIST', help: 'batch sizes to measure (default 16,32,64,128)' },
      { name: '--examples', value: 'N', help: 'training examples (default 800)' },
      { name: '--epochs', value: 'N', help: 'epochs (default 2)' },
    ],
  },
  serve: { flags: [] },
  orchestration: { flags: [] },
  scale: {
    flags: [
      { name: '--full', help: "issue 17's shapes: 10, 100 and 1,000 runs, a 1,000-stage fan-out, a 20-stage chain" },
      { name: '--runs', value: 'LIST', help: 'run counts (default 10,100)' },
      { name: '--fan-out', value: 'N', help: 'stages of the fan-out (default 300; 0 skips it)' },
      { name: '--chain', value: 'N', help: 'stages of the chain (default 10; 0 skips it)' },
      { name: '--no-before', help: "skip the chain's before/after comparison of dev-server settings" },
    ],
  },
  data: {
    flags: [
      { name: '--files', value: 'N', help: 'files pushed per round (default 600, at most 20,000)' },
      { name: '--rounds', value: 'N', help: 'rounds (default 3, at most 20)' },
    ],
  },
  fence: {
    flags: [
      { name: '--checkpoints', value: 'N', help: 'epochs of checkpoints written per round (default 10, at most 500)' },
      { name: '--weights-kib', value: 'N', help: 'KiB of weights per checkpoint (default 1024; the optimizer twice)' },
      { name: '--small', value: 'N', help: 'small objects of 4 KiB written per round (default 200, at most 20,000)' },
      { name: '--rounds', value: 'N', help: 'rounds (default 5, at most 20)' },
    ],
  },
  ui: {
    flags: [
      { name: '--stages', value: 'N', help: 'stages of the run (default 500)' },
      { name: '--repeats', value: 'N', help: 'timed page loads, API answers and CLI calls (default 5)' },
      { name: '--screenshot', value: 'FILE', help: 'the run page as the last timed load left it' },
    ],
  },
  cache: {
    positional: {
      name: 'PIPELINE',
      help: 'the pipeline to submit twice (npm run bench gives pipelines/quickstart.yaml)',
    },
    flags: [{ name: '--set', value: 'KEY=VALUE', repeats: true, help: 'a pipeline parameter (repeatable)' }],
  },
};

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = current;
  }
  return previous[b.length] as number;
}

function suggestion(name: string, known: readonly string[]): string {
  const [nearest] = known
    .map((candidate) => ({ candidate, d: distance(name, candidate) }))
    .filter(({ d }) => d <= 3)
    .sort((x, y) => x.d - y.d);
  return nearest ? ` (did you mean ${nearest.candidate}?)` : '';
}

function flagsOf(sections: readonly string[]): Map<string, BenchFlag> {
  const flags = new Map<string, BenchFlag>();
  for (const section of sections) for (const flag of SECTION_FLAGS[section]?.flags ?? []) flags.set(flag.name, flag);
  return flags;
}

function takesPositional(sections: readonly string[]): boolean {
  return sections.some((section) => SECTION_FLAGS[section]?.positional !== undefined);
}

/** Up to this many arguments after the second `--`: a command line, not a data file. */
const MAX_ARGS = 200;

/**
 * The problem with `argv` as arguments of these sections, in one line, or undefined when they are fine. A flag must
 * be one some chosen section takes, given once unless it repeats, with its value; a bare word only where a section
 * takes one.
 */
export function sectionArgsProblem(sections: readonly string[], argv: readonly string[]): string | undefined {
  if (argv.length > MAX_ARGS) return `${argv.length} arguments; at most ${MAX_ARGS}`;
  const flags = flagsOf(sections);
  const seen = new Set<string>();
  let positionals = 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-')) {
      positionals += 1;
      if (!takesPositional(sections) || positionals > 1)
        return `unexpected argument ${JSON.stringify(arg.slice(0, 80))}${sections.length > 0 ? ` for ${sections.join(', ')}` : ''}`;
      continue;
    }
    const flag = flags.get(arg);
    if (!flag) {
      const known = [...flags.keys()];
      const where = sections.length === 1 ? `the ${sections[0]} section` : `the sections ${sections.join(', ')}`;
      return (
        `unknown flag ${JSON.stringify(arg.slice(0, 80))}${suggestion(arg, known)}; ` +
        `${where} ${sections.length === 1 ? 'takes' : 'take'} ${known.length > 0 ? known.join(', ') : 'no flags'}`
      );
    }
    if (seen.has(arg) && !flag.repeats) return `${arg} is given twice`;
    seen.add(arg);
    if (flag.value) {
      const value = argv[i + 1];
      if (value === undefined || (value.startsWith('--') && flags.has(value)))
        return `${arg} needs a value (${arg} ${flag.value})`;
      i += 1;
    }
  }
  return undefined;
}

/** The arguments of `argv` that `section` takes (a flag with its value, its positional), in order. */
export function argsForSection(section: string, argv: readonly string[]): string[] {
  const own = SECTION_FLAGS[section];
  const all = flagsOf(Object.keys(SECTION_FLAGS));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const flag = all.get(arg);
    const width = flag?.value ? 2 : 1;
    if (!arg.startsWith('-')) {
      if (own?.positional) out.push(arg);
    } else if (own?.flags.some((f) => f.name === arg)) out.push(...argv.slice(i, i + width));
    i += width - 1;
  }
  return out;
}

/** The positional argument of `argv` that `section` takes, if given. */
export function positionalFor(section: string, argv: readonly string[]): string | undefined {
  if (!SECTION_FLAGS[section]?.positional) return undefined;
  return argsForSection(section, argv).find((arg, i, all) => !arg.startsWith('-') && !isValueOf(all[i - 1]));
}

function isValueOf(previous: string | undefined): boolean {
  return previous !== undefined && flagsOf(Object.keys(SECTION_FLAGS)).get(previous)?.value !== undefined;
}

/** The usage text of a section's flags. */
export function sectionHelp(section: string): string {
  const own = SECTION_FLAGS[section];
  if (!own) return `${section}: no such section`;
  const lines = [`${section}:${own.flags.length === 0 && !own.positional ? ' no flags' : ''}`];
  if (own.positional) lines.push(`  ${own.positional.name.padEnd(22)} ${own.positional.help}`);
  for (const flag of own.flags)
    lines.push(`  ${`${flag.name}${flag.value ? ` ${flag.value}` : ''}`.padEnd(22)} ${flag.help}`);
  return lines.join('\n');
}

/**
 * For a section's own script run directly: `--help` prints its flags and exits 0; a bad argument is said in one line
 * and exits 2, before the section does anything.
 */
export function guardSectionArgs(section: string, argv: readonly string[]): void {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${sectionHelp(section)}\n`);
    process.exit(0);
  }
  const problem = sectionArgsProblem([section], argv);
  if (problem) {
    process.stderr.write(`bench ${section}: ${problem}\n`);
    process.exit(2);
  }
}

/** The whole number after `name` in a section's arguments, 1…`max`, else `fallback`; a bad value throws. */
export function wholeNumberFlag(argv: readonly string[], name: string, fallback: number, max: number): number {
  const at = argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(argv[at + 1]);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be a whole number 1…${max}`);
  return value;
}
