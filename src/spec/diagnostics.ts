/**
 * Diagnostics: every problem found in a pipeline, with a stable code, a position and a hint
 * that says the fix. Pure (no Node built-ins), so the workflow can use it through validatePlan.
 */

export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  /** Stable, kebab-case; tests and scripts match on it. The full list is in docs/pipeline-reference.md. */
  readonly code: string;
  /** Where in the pipeline, e.g. `stages.train.with.epochs` (empty for the whole file). */
  readonly path: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based, in characters. */
  readonly column: number;
  /** Characters the problem spans on its line (for the caret excerpt); at least 1. */
  readonly length?: number;
  readonly message: string;
  /** What to do about it: "did you mean `needs`?", "write 30s or 5m", … */
  readonly hint?: string;
  readonly file: string;
}

/** Maps character offsets to 1-based line/column. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }

  position(offset: number): { line: number; column: number } {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.starts[mid] as number) <= clamped) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: clamped - (this.starts[low] as number) + 1 };
  }

  lineText(line: number): string {
    const start = this.starts[line - 1];
    if (start === undefined) return '';
    const next = this.starts[line];
    return this.text.slice(start, next === undefined ? undefined : next - 1).replace(/\r$/, '');
  }
}

export function errorCount(diagnostics: readonly Diagnostic[]): number {
  return diagnostics.filter((d) => d.severity === 'error').length;
}

/** Sort by file, line, column, then code, so output is stable. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.code.localeCompare(b.code),
  );
}

const MAX_EXCERPT = 160;

/**
 * Human output: `file:line:col: error[code] message`, the source line with a caret under the
 * problem, and the hint.
 */
export function formatDiagnostics(
  diagnostics: readonly Diagnostic[],
  sourceText?: string,
  options: {
    color?: boolean;
    /** Texts of other files (sub-pipelines) by the name their diagnostics carry: excerpts come from them. */
    texts?: { readonly [file: string]: string };
  } = {},
): string {
  const main = sourceText !== undefined ? new LineIndex(sourceText) : undefined;
  const others = new Map(Object.entries(options.texts ?? {}).map(([file, text]) => [file, new LineIndex(text)]));
  const paint = (code: string, text: string): string => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const blocks: string[] = [];
  for (const d of diagnostics) {
    const label = d.severity === 'error' ? paint('31;1', 'error') : paint('33;1', 'warning');
    const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
    const lines = [`${where}: ${label}[${d.code}] ${d.message}`];
    const index = others.get(d.file) ?? main;
    const source = index?.lineText(d.line);
    if (source !== undefined && source.trim() !== '' && d.line > 0) {
      const gutter = String(d.line).length;
      let shown = source;
      let column = d.column;
      if (shown.length > MAX_EXCERPT) {
        const start = Math.max(0, column - 1 - MAX_EXCERPT / 2);
        shown = `${start > 0 ? '…' : ''}${shown.slice(start, start + MAX_EXCERPT)}…`;
        column = column - start + (start > 0 ? 1 : 0);
      }
      shown = shown.replace(/\t/g, '→');
      const width = Math.max(1, Math.min(d.length ?? 1, shown.length - column + 1));
      lines.push(`${' '.repeat(gutter)} |`);
      lines.push(`${d.line} | ${shown}`);
      lines.push(
        `${' '.repeat(gutter)} | ` +
          `${' '.repeat(Math.max(0, column - 1))}${paint(d.severity === 'error' ? '31' : '33', '^'.repeat(width))}`,
      );
    }
    if (d.hint) lines.push(`  ${paint('36', 'hint')}: ${d.hint}`);
    blocks.push(lines.join('\n'));
  }
  return blocks.length ? `${blocks.join('\n\n')}\n` : '';
}
