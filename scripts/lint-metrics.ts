/**
 * `npm run lint:metrics`: how readable the product code is, in the three figures issue 18 asks for,
 * so a split or a clean-up can show its before and after:
 * - lines wider than 120 columns (Prettier's width; it cannot break long strings);
 * - functions longer than 80 lines (and than 100), by the TypeScript AST: declarations, methods,
 *   arrows and function expressions, nested ones counted on their own, generated files left out;
 * - pairs of repeated code from the `duplicates` tool, when it is installed (`--duplicates`).
 *
 * `--json` prints the figures as JSON; `--top N` lists the N longest functions (default 15).
 *
 * `--check` (run by `scripts/test.sh` and `npm run lint`) fails when a figure is above its ceiling in
 * scripts/lint-metrics-ceiling.json, so the figures can only go down: a change that adds a long
 * function or a wide line splits it, or splits another. `--lower-ceiling` writes the current figures
 * into that file where they are lower (it never raises one); commit it with the change that lowered them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..');
const FOLDERS = ['src', 'workflows', 'activities'];
const WIDE = 120;
const LONG = 80;
const LONGER = 100;
const CEILING_FILE = path.join(ROOT, 'scripts', 'lint-metrics-ceiling.json');

export interface FunctionLength {
  readonly file: string;
  readonly name: string;
  readonly line: number;
  readonly lines: number;
}

/** The figures the ceiling holds down. */
export interface MetricFigures {
  readonly linesOver120: number;
  readonly functionsOver80: number;
  readonly functionsOver100: number;
}

const FIGURE_NAMES: Readonly<Record<keyof MetricFigures, string>> = {
  linesOver120: `lines over ${WIDE} columns`,
  functionsOver80: `functions over ${LONG} lines`,
  functionsOver100: `functions over ${LONGER} lines`,
};

export interface FileMetrics {
  readonly wideLines: number;
  readonly functions: readonly FunctionLength[];
}

function sourceFiles(folder: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(folder)) {
    const full = path.join(folder, entry);
    if (entry === 'node_modules' || entry === 'web') continue;
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (/\.tsx?$/.test(entry) && !entry.endsWith('.d.ts') && !entry.includes('.generated.')) out.push(full);
  }
  return out;
}

function functionName(node: ts.Node): string {
  const named = node as { name?: ts.Node };
  if (named.name && ts.isIdentifier(named.name)) return named.name.text;
  if (named.name && ts.isPropertyName(named.name as ts.PropertyName)) return named.name.getText();
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyAssignment(parent)) return parent.name.getText();
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  return '(anonymous)';
}

/** Wide lines and function lengths of one file's text. */
export function measureSource(file: string, text: string): FileMetrics {
  const wideLines = text.split('\n').filter((line) => line.length > WIDE).length;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const functions: FunctionLength[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isGetAccessorDeclaration(node) ||
      ts.isSetAccessorDeclaration(node)
    ) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      functions.push({ file, name: functionName(node), line: start + 1, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { wideLines, functions };
}

function duplicatePairs(): number | undefined {
  try {
    const out = execFileSync('duplicates', ['--most', '200', '--seconds', '120'], { cwd: ROOT, encoding: 'utf8' });
    // One row per pair: `D12  a.ts:10-20 ~ b.ts:30-40 …`.
    return out.split('\n').filter((line) => /^\s*D\d+\b/.test(line)).length;
  } catch {
    return undefined;
  }
}

/** Every figure above its ceiling, as a sentence that says how to fix it; empty when none is. */
export function ceilingProblems(figures: MetricFigures, ceiling: MetricFigures): string[] {
  return (Object.keys(FIGURE_NAMES) as (keyof MetricFigures)[])
    .filter((key) => figures[key] > ceiling[key])
    .map(
      (key) =>
        `${FIGURE_NAMES[key]}: ${figures[key]}, above the ceiling of ${ceiling[key]} ` +
        `(scripts/lint-metrics-ceiling.json). Split or wrap what this change made longer ` +
        `(npm run lint:metrics -- --top 30 lists the longest functions); the ceiling only goes down.`,
    );
}

/** The ceiling with each figure lowered to `figures` where that is lower; never raised. */
export function loweredCeiling(figures: MetricFigures, ceiling: MetricFigures): MetricFigures {
  return {
    linesOver120: Math.min(figures.linesOver120, ceiling.linesOver120),
    functionsOver80: Math.min(figures.functionsOver80, ceiling.functionsOver80),
    functionsOver100: Math.min(figures.functionsOver100, ceiling.functionsOver100),
  };
}

function readCeiling(): MetricFigures {
  const parsed = JSON.parse(readFileSync(CEILING_FILE, 'utf8')) as Record<string, unknown>;
  for (const key of Object.keys(FIGURE_NAMES)) {
    if (!Number.isSafeInteger(parsed[key]) || (parsed[key] as number) < 0) {
      throw new Error(`${CEILING_FILE}: "${key}" must be a whole number >= 0 (got ${JSON.stringify(parsed[key])})`);
    }
  }
  return parsed as unknown as MetricFigures;
}

function writeCeiling(ceiling: MetricFigures): void {
  const text = JSON.stringify(
    {
      $comment: 'Highest allowed figures of npm run lint:metrics; --check enforces them, --lower-ceiling lowers them.',
      ...ceiling,
    },
    null,
    2,
  );
  writeFileSync(CEILING_FILE, `${text}\n`);
}

/** `--check` and `--lower-ceiling`: the exit code. */
function enforceCeiling(figures: MetricFigures, lower: boolean): number {
  const ceiling = readCeiling();
  const problems = ceilingProblems(figures, ceiling);
  for (const problem of problems) process.stderr.write(`lint:metrics: ${problem}\n`);
  if (problems.length > 0) return 1;
  const lowered = loweredCeiling(figures, ceiling);
  if (JSON.stringify(lowered) === JSON.stringify(ceiling)) return 0;
  if (lower) {
    writeCeiling(lowered);
    process.stdout.write(`lint:metrics: ceiling lowered to ${JSON.stringify(lowered)}\n`);
  } else {
    process.stdout.write(`lint:metrics: below the ceiling; npm run lint:metrics -- --lower-ceiling keeps it so\n`);
  }
  return 0;
}

function main(): void {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const topIndex = args.indexOf('--top');
  const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 15;
  let wideLines = 0;
  const functions: FunctionLength[] = [];
  for (const folder of FOLDERS) {
    for (const file of sourceFiles(path.join(ROOT, folder))) {
      const metrics = measureSource(path.relative(ROOT, file), readFileSync(file, 'utf8'));
      wideLines += metrics.wideLines;
      functions.push(...metrics.functions);
    }
  }
  const longest = [...functions].sort((a, b) => b.lines - a.lines);
  const figures = {
    folders: FOLDERS,
    linesOver120: wideLines,
    functionsOver80: functions.filter((f) => f.lines > LONG).length,
    functionsOver100: functions.filter((f) => f.lines > LONGER).length,
    ...(args.includes('--duplicates') ? { duplicatePairs: duplicatePairs() ?? null } : {}),
    longest: longest.slice(0, top),
  };
  if (args.includes('--check') || args.includes('--lower-ceiling')) {
    process.exitCode = enforceCeiling(figures, args.includes('--lower-ceiling'));
    return;
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    [
      `${FOLDERS.join(', ')}: ${figures.linesOver120} lines over 120 columns, ${figures.functionsOver80} functions over 80 lines (${figures.functionsOver100} over 100)`,
      ...('duplicatePairs' in figures ? [`duplicates: ${figures.duplicatePairs ?? 'tool not installed'} pairs`] : []),
      `longest functions:`,
      ...figures.longest.map((f) => `  ${String(f.lines).padStart(4)}  ${f.name}  ${f.file}:${f.line}`),
    ].join('\n') + '\n',
  );
}

if (require.main === module) main();
