/**
 * Output shown in the docs, checked against the command that printed it. A fenced block right after a marker
 *
 *     <!-- output: fineflow plan docs/examples/argo/dag-diamond.yaml -->
 *
 * is the output of that command, run from the repository root: each of its lines must be a line of the real output
 * (trailing spaces aside), consecutive lines consecutively; a line that is only `…` stands for output lines left out.
 * Only commands whose output is the same on every machine and run may be marked (`validate`, `plan` without
 * --explain-cache, `schema`, `help` and `--help`): no stack, no clock, no model. Pure: the caller runs the command.
 */

export interface ShownOutput {
  /** The marker's line (1-based). */
  readonly line: number;
  /** As written in the marker, `fineflow …`. */
  readonly command: string;
  /** The words after `fineflow`. */
  readonly argv: readonly string[];
  /** The block's lines, and the line number of the first. */
  readonly shown: readonly string[];
  readonly firstLine: number;
}

const MARKER = /^<!--\s*output:\s*(.*?)\s*-->\s*$/;
const ELISION = /^\s*(…|\.\.\.)\s*$/;
/** What may be marked: output that depends on the repository alone. */
const DETERMINISTIC = new Set(['validate', 'plan', 'schema', 'help']);

/** Every marked block of `markdown`, and what is wrong with a marker (no block after it, a command not allowed). */
export function shownOutputBlocks(markdown: string): { blocks: ShownOutput[]; problems: string[] } {
  const lines = markdown.split('\n');
  const blocks: ShownOutput[] = [];
  const problems: string[] = [];
  lines.forEach((text, index) => {
    const marker = MARKER.exec(text);
    if (!marker) return;
    const line = index + 1;
    const command = marker[1] ?? '';
    const argv = command.split(/\s+/).slice(1);
    const refused = refusal(command, argv);
    if (refused) {
      problems.push(`${line}: <!-- output: ${command} -->: ${refused}`);
      return;
    }
    const open = lines.findIndex((l, i) => i > index && l.trim() !== '');
    const fence = /^(```+|~~~+)/.exec(lines[open] ?? '')?.[1];
    const close = fence === undefined ? -1 : lines.findIndex((l, i) => i > open && l.startsWith(fence));
    if (fence === undefined || close < 0) {
      problems.push(`${line}: <!-- output: ${command} --> is not followed by a fenced block: put the output under it`);
      return;
    }
    blocks.push({ line, command, argv, shown: lines.slice(open + 1, close), firstLine: open + 2 });
  });
  return { blocks, problems };
}

function refusal(command: string, argv: readonly string[]): string | undefined {
  if (!/^fineflow\s/.test(command)) return 'name a `fineflow …` command';
  if (/["'`$|;&<>*?]/.test(command)) return 'write the command as plain words (no quotes, globs or shell operators)';
  const [name] = argv;
  const ok = argv.includes('--help') || (DETERMINISTIC.has(name ?? '') && !argv.includes('--explain-cache'));
  if (ok) return undefined;
  return `\`fineflow ${name ?? ''}\` output is not the same on every run or machine; mark only ${[...DETERMINISTIC].join(', ')} and --help output (plan without --explain-cache)`;
}

/**
 * Where `block` differs from `output`: each shown line (by its doc line) the output does not have at that place, with
 * what the output has there, so the fix is a copy. Runs of shown lines between `…` lines stand in the output in
 * order, each unbroken; the block starts with the output's first line unless it opens with `…`, and ends with its
 * last (blank lines aside) unless it closes with `…`.
 */
export function shownOutputProblems(block: ShownOutput, output: string): string[] {
  const actual = output
    .replace(/\s+$/, '')
    .split('\n')
    .map((l) => l.trimEnd());
  const runs: { line: number; text: string }[][] = [[]];
  block.shown.forEach((text, i) => {
    if (ELISION.test(text)) runs.push([]);
    else runs[runs.length - 1]?.push({ line: block.firstLine + i, text: text.trimEnd() });
  });
  const problems: string[] = [];
  let from = 0;
  runs.forEach((run, r) => {
    const texts = run.map((l) => l.text);
    const first = r === 0;
    const last = r === runs.length - 1;
    if (texts.length === 0) return;
    const at = findRun(actual, texts, from, first, last);
    if (at >= 0) {
      from = at + texts.length;
      return;
    }
    // Report from where the run's first line stands (or should), the first line that differs.
    const start = first ? 0 : actual.indexOf(texts[0] ?? '', from);
    if (start < 0) {
      problems.push(
        `line ${run[0]?.line}: shown \`${texts[0]}\` is not in what \`${block.command}\` prints after the lines above it`,
      );
      return;
    }
    const k = texts.findIndex((text, j) => actual[start + j] !== text);
    const shown = run[k];
    if (k < 0 || shown === undefined) {
      problems.push(
        `line ${run.at(-1)?.line}: \`${block.command}\` prints more after \`${texts.at(-1)}\`: ` +
          'show it, or end the block with a `…` line',
      );
    } else {
      const there = actual[start + k];
      problems.push(
        `line ${shown.line}: shown \`${shown.text}\` is not what \`${block.command}\` prints there: ` +
          (there === undefined ? 'its output has ended' : `it prints \`${there}\``),
      );
    }
  });
  return problems;
}

/** The first index ≥ from where `run` stands in `lines` (at `from` when it must start them, ending them when last). */
function findRun(
  lines: readonly string[],
  run: readonly string[],
  from: number,
  mustStart: boolean,
  mustEnd: boolean,
): number {
  const lastStart = lines.length - run.length;
  for (let at = from; at <= (mustStart ? Math.min(from, lastStart) : lastStart); at++) {
    if (mustEnd && at !== lastStart) continue;
    if (run.every((text, k) => lines[at + k] === text)) return at;
  }
  return -1;
}
