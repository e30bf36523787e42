/**
 * What a Markdown page says about the repository, read as data: the `fineflow …` command lines it mentions, its
 * relative links and the repository paths it names in inline code (docs-match-cli.test.ts checks each). Pure:
 * text in, mentions out.
 */
import { closest } from '../../../src/core/spec/suggest';

/** The CLI as the docs may name it: each command's sub-commands and option spellings (`--watch`, `-w`). */
export interface DocCli {
  readonly commands: ReadonlyMap<
    string,
    { readonly subcommands: readonly string[]; readonly options: readonly string[] }
  >;
}

/** One `fineflow …` command line in a page: the words after `fineflow`, up to a pipe, redirection or comment. */
export interface CommandMention {
  readonly line: number;
  readonly text: string;
  readonly words: readonly string[];
}

export interface DocLink {
  readonly line: number;
  readonly target: string;
}

export interface PathMention {
  readonly line: number;
  readonly path: string;
}

const SHELL_FENCES = new Set(['bash', 'sh', 'shell', 'console', 'zsh']);
/** Top-level folders whose paths the docs name in inline code (`src/cli/main.ts`, `scripts/test.sh`). */
const REPOSITORY_ROOTS = [
  'src',
  'test',
  'scripts',
  'infra',
  'pipelines',
  'docs',
  'bench',
  'workflows',
  'activities',
  'schema',
  'bin',
  '.ci',
];
const TOP_LEVEL_OPTIONS = new Set(['--help', '-h', '--version', '-V']);
/** Words that end a command line in a shell: pipes, lists, redirections, comments. */
const SHELL_END = /^(?:\||\|\||&&|;|&|[0-9]?>.*|<[^(].*|#.*)$/;

interface Segment {
  readonly line: number;
  readonly text: string;
  readonly kind: 'shell' | 'code' | 'table-command';
}

interface Line {
  readonly number: number;
  readonly text: string;
  readonly fence: string | undefined;
}

/** Every line with the language of the fenced block it lies in (`undefined` outside blocks; fences themselves dropped). */
function linesOf(markdown: string): Line[] {
  const out: Line[] = [];
  let fence: { marker: string; lang: string } | undefined;
  markdown.split('\n').forEach((text, i) => {
    const opening = /^\s*(`{3,}|~{3,})\s*([\w-]*)/.exec(text);
    if (fence === undefined && opening) {
      fence = { marker: opening[1] as string, lang: (opening[2] ?? '').toLowerCase() };
      return;
    }
    if (fence !== undefined && text.trim().startsWith(fence.marker) && text.trim().replace(/[`~]/g, '') === '') {
      fence = undefined;
      return;
    }
    out.push({ number: i + 1, text, fence: fence?.lang });
  });
  return out;
}

/** The contents of each inline code span on a line outside fenced blocks. */
function codeSpans(text: string): string[] {
  const spans: string[] = [];
  const re = /(`+)([\s\S]*?[^`])\1(?!`)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) spans.push((m[2] as string).trim());
  return spans;
}

function tableCells(text: string): string[] | undefined {
  if (!/^\s*\|.*\|\s*$/.test(text)) return undefined;
  return text
    .trim()
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** Shell lines (continuations joined), inline code, and the first column of tables headed `command`. */
function segments(markdown: string): Segment[] {
  const out: Segment[] = [];
  let tableIsCommands = false;
  // Under a heading that names a command (`## \`fineflow schedule\``), a command table lists its sub-commands.
  let tablePrefix = 'fineflow';
  let pending: { line: number; text: string } | undefined;
  for (const line of linesOf(markdown)) {
    if (line.fence !== undefined) {
      if (!SHELL_FENCES.has(line.fence)) continue;
      const joined = pending ? `${pending.text} ${line.text}` : line.text;
      const first = pending?.line ?? line.number;
      if (joined.endsWith('\\')) {
        pending = { line: first, text: joined.slice(0, -1) };
      } else {
        pending = undefined;
        out.push({ line: first, text: joined.replace(/^\s*\$\s+/, ''), kind: 'shell' });
      }
      continue;
    }
    const heading = /^#{1,6}\s/.test(line.text) ? /`fineflow ([a-z][a-z-]*)`/.exec(line.text) : undefined;
    if (heading !== undefined) tablePrefix = heading ? `fineflow ${heading[1] as string}` : 'fineflow';
    const cells = tableCells(line.text);
    if (cells === undefined) tableIsCommands = false;
    else if (cells[0] === 'command') tableIsCommands = true;
    if (cells !== undefined && tableIsCommands && !/^:?-+:?$/.test(cells[0] ?? '')) {
      // `schedule apply FILE` / `list` / `describe`: the later spans are sub-commands of the first one's command
      // (siblings of the first one in a table of one command's sub-commands).
      const [first, ...rest] = codeSpans((cells[0] ?? '').replace(/\\\|/g, '|'));
      if (first !== undefined) {
        const command = first.split(/\s+/)[0] ?? '';
        out.push({ line: line.number, text: `${tablePrefix} ${first}`, kind: 'table-command' });
        for (const sub of rest) {
          const text = tablePrefix !== 'fineflow' || sub.startsWith(`${command} `) ? sub : `${command} ${sub}`;
          out.push({ line: line.number, text: `${tablePrefix} ${text}`, kind: 'table-command' });
        }
      }
      for (const cell of cells.slice(1)) {
        for (const span of codeSpans(cell)) out.push({ line: line.number, text: span, kind: 'code' });
      }
      continue;
    }
    for (const span of codeSpans(line.text))
      out.push({ line: line.number, text: span.replace(/\\\|/g, '|'), kind: 'code' });
  }
  return out;
}

function isFineflow(word: string): boolean {
  return word === 'fineflow' || /^(?:\.\/)?bin\/fineflow\.js$/.test(word);
}

/** The words of a command line, with brackets and parentheses of usage syntax and `$(…)`/`<(…)` removed. */
function wordsOf(text: string): string[] {
  return text
    .replace(/[()[\]]/g, ' ')
    .replace(/\$(?=\s)|<(?=\s)/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== '');
}

/** Every `fineflow …` (also `npx fineflow`, `bin/fineflow.js`) command line a page mentions. */
export function commandMentions(markdown: string): CommandMention[] {
  const out: CommandMention[] = [];
  for (const segment of segments(markdown)) {
    const words = wordsOf(segment.text);
    for (let i = 0; i < words.length; i++) {
      // `kubectl apply -n fineflow …`: the word after an option is that option's value, not the command.
      if (!isFineflow(words[i] as string) || /^-/.test(words[i - 1] ?? '')) continue;
      const rest: string[] = [];
      for (const word of words.slice(i + 1)) {
        if (SHELL_END.test(word) || isFineflow(word)) break;
        rest.push(word);
      }
      if (rest.length === 0) continue;
      out.push({ line: segment.line, text: ['fineflow', ...rest].join(' '), words: rest });
    }
  }
  return out;
}

/** A usage placeholder (`RUN`, `<pool>`, `…`, `FILE…`) rather than a word the CLI defines. */
function isPlaceholder(word: string): boolean {
  return !/^[a-z]/.test(word) || word.includes('…') || word.includes('<');
}

function optionProblems(command: string, words: readonly string[], options: readonly string[]): string[] {
  const problems: string[] = [];
  for (const word of words) {
    if (!/^--?[a-zA-Z]/.test(word)) continue;
    // `--cpu/--memory/--gpu` names three options; `--set=a=1` one.
    for (const part of word.split('/')) {
      const name = (part.split('=')[0] ?? '').replace(/[.,:;…]+$/, '');
      if (!/^--?[a-zA-Z]/.test(name) || options.includes(name)) continue;
      const near = name.startsWith('--')
        ? closest(
            name.slice(2),
            options.map((o) => o.replace(/^--/, '')),
          )
        : undefined;
      problems.push(`fineflow ${command} has no option ${name}${near ? ` (did you mean --${near}?)` : ''}`);
    }
  }
  return problems;
}

/** What is wrong with one mention: an unknown command, sub-command or option (empty when the CLI has them all). */
export function checkCommandMention(mention: CommandMention, cli: DocCli): string[] {
  const [name = '', ...rest] = mention.words;
  if (name.startsWith('-')) {
    return TOP_LEVEL_OPTIONS.has(name) ? [] : [`fineflow has no top-level option ${name}`];
  }
  if (isPlaceholder(name)) return [];
  if (name.includes('|')) {
    // `fineflow validate|plan|submit|schedule apply`: each alternative is a command.
    return name
      .split('|')
      .filter((n) => n !== '')
      .flatMap((n) => checkCommandMention({ ...mention, words: [n, ...rest] }, cli));
  }
  if (name === 'help') {
    const target = rest[0];
    return target === undefined || isPlaceholder(target) || cli.commands.has(target)
      ? []
      : [`no fineflow command '${target}' for help`];
  }
  const command = cli.commands.get(name);
  if (command === undefined) {
    const near = closest(name, [...cli.commands.keys()]);
    return [`no fineflow command '${name}'${near ? ` (did you mean '${near}'?)` : ''}`];
  }
  const problems: string[] = [];
  const sub = rest[0];
  if (command.subcommands.length > 0 && sub !== undefined && /^[a-z][a-z|-]*$/.test(sub)) {
    for (const alternative of sub.split('|').filter((s) => s !== '')) {
      if (!command.subcommands.includes(alternative)) {
        problems.push(
          `fineflow ${name} has no sub-command '${alternative}' (it has ${command.subcommands.join(', ')})`,
        );
      }
    }
  }
  return [...problems, ...optionProblems(name, rest, command.options)];
}

/** Relative links and images (`[text](path)`, `![alt](path#anchor)`) outside code; URLs with a scheme are left out. */
export function markdownLinks(markdown: string): DocLink[] {
  const out: DocLink[] = [];
  for (const line of linesOf(markdown)) {
    if (line.fence !== undefined) continue;
    const text = line.text.replace(/(`+)[\s\S]*?[^`]\1(?!`)/g, '');
    const re = /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const target = m[1] as string;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      out.push({ line: line.number, target });
    }
    const reference = /^\s*\[[^\]]+\]:\s*(\S+)/.exec(text);
    if (reference && !/^[a-z][a-z0-9+.-]*:/i.test(reference[1] as string)) {
      out.push({ line: line.number, target: reference[1] as string });
    }
  }
  return out;
}

/** Inline code that is exactly a repository path (`scripts/test.sh`, `test/unit/cli/`), not a pattern or template. */
export function repositoryPathMentions(markdown: string): PathMention[] {
  const out: PathMention[] = [];
  const pattern = new RegExp(
    `^(?:\\./)?((?:${REPOSITORY_ROOTS.map((r) => r.replace('.', '\\.')).join('|')})/[\\w./-]*)$`,
  );
  for (const line of linesOf(markdown)) {
    if (line.fence !== undefined) continue;
    for (const span of codeSpans(line.text)) {
      const m = pattern.exec(span);
      if (m) out.push({ line: line.number, path: (m[1] as string).replace(/\/$/, '') });
    }
  }
  return out;
}

/**
 * Files named inside command lines (shell blocks and inline code): `bash scripts/test.sh …`,
 * `node --import tsx bench/scale-bench.ts …`, `source infra/stack-env.sh`. Only words with a file extension.
 */
export function commandLinePaths(markdown: string): PathMention[] {
  const out: PathMention[] = [];
  const pattern = new RegExp(
    `^(?:\\./)?((?:${REPOSITORY_ROOTS.map((r) => r.replace('.', '\\.')).join('|')})/[\\w./-]*\\.[a-z]{1,4})$`,
  );
  for (const segment of segments(markdown)) {
    if (segment.kind === 'table-command') continue;
    const words = wordsOf(segment.text);
    if (words.length < 2) continue;
    for (const word of words) {
      const m = pattern.exec(word.replace(/[,;:]$/, ''));
      if (m) out.push({ line: segment.line, path: m[1] as string });
    }
  }
  return out;
}

/** `npm run NAME` (also `npm run -s NAME`) in shell blocks and inline code: the package.json scripts a page names. */
export function npmScriptMentions(markdown: string): { readonly line: number; readonly script: string }[] {
  const out: { line: number; script: string }[] = [];
  for (const segment of segments(markdown)) {
    const re = /\bnpm run(?: -s| --silent)? ([\w:.-]+)/g;
    for (let m = re.exec(segment.text); m; m = re.exec(segment.text)) {
      out.push({ line: segment.line, script: m[1] as string });
    }
  }
  return out;
}

/** Fenced YAML blocks that are whole pipelines (they say `apiVersion:`), with the line of their first line. */
export function pipelineBlocks(markdown: string): { readonly line: number; readonly yaml: string }[] {
  const out: { line: number; lines: string[] }[] = [];
  let previous: Line | undefined;
  for (const line of linesOf(markdown)) {
    const inYaml = line.fence === 'yaml' || line.fence === 'yml';
    const continues =
      inYaml && previous !== undefined && previous.fence === line.fence && previous.number === line.number - 1;
    if (inYaml && continues) out[out.length - 1]?.lines.push(line.text);
    else if (inYaml) out.push({ line: line.number, lines: [line.text] });
    previous = line;
  }
  return out
    .map((b) => ({ line: b.line, yaml: `${b.lines.join('\n')}\n` }))
    .filter((b) => /^apiVersion:/m.test(b.yaml));
}

/** GitHub's anchor of each heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered `-1`, `-2`. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of linesOf(markdown)) {
    if (line.fence !== undefined) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line.text);
    if (!heading) continue;
    const base = (heading[1] as string)
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}
