/**
 * The one table renderer of the CLI's human output (`status`, `runs`, `models list`, `plan`,
 * `plan --explain-cache`, `gc`, `schedule list`, sweep trial tables): plain aligned columns in the
 * style of `kubectl get`, no borders, so the text stays greppable and diffable.
 *
 * Widths are measured in terminal cells (`string-width`: a CJK character or an emoji takes two), so
 * columns stay aligned whatever the names contain. A line wider than `maxWidth` is cut with `…`;
 * the live view (./live-region.ts) relies on that to know each line takes exactly one row.
 */
import stringWidth from 'string-width';

export interface TableColumn {
  /** Header text; '' for a column without one (e.g. a status symbol). */
  readonly title: string;
  /** `right` for numbers and durations. Default `left`. */
  readonly align?: 'left' | 'right';
  /** The column is at least this wide, so it does not jump as values come and go. */
  readonly minWidth?: number;
  /** What separates this column from the one before it; default two spaces. */
  readonly separator?: string;
}

/** A row of cells, or a line of its own among the rows (a divider, a "… 12 more" note). */
export type TableLine = readonly string[] | { readonly text: string };

export interface TableOptions {
  /** Lines wider than this many cells are cut with `…`. Default: no limit. */
  readonly maxWidth?: number;
  /** Print the titles as the first line. Default true. */
  readonly header?: boolean;
}

/** Width of `text` in terminal cells. */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

/** `text` cut to at most `maxWidth` cells, the last one `…` when something was cut. */
export function clipToWidth(text: string, maxWidth: number): string {
  if (displayWidth(text) <= maxWidth) return text;
  let out = '';
  let width = 0;
  for (const char of text) {
    const charWidth = displayWidth(char);
    if (width + charWidth > maxWidth - 1) break;
    out += char;
    width += charWidth;
  }
  return `${out}…`;
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? `${fill}${text}` : `${text}${fill}`;
}

/** The table as lines (no trailing newline). The last column is not padded unless right-aligned. */
export function renderTable(
  columns: readonly TableColumn[],
  lines: readonly TableLine[],
  options: TableOptions = {},
): string[] {
  const rows = lines.filter((line): line is readonly string[] => Array.isArray(line));
  const widths = columns.map((column, index) =>
    Math.max(column.minWidth ?? 0, displayWidth(column.title), ...rows.map((row) => displayWidth(row[index] ?? ''))),
  );
  const format = (cells: readonly string[]): string =>
    columns
      .map((column, index) => {
        const cell = cells[index] ?? '';
        const last = index === columns.length - 1;
        const align = column.align ?? 'left';
        const text = last && align === 'left' ? cell : pad(cell, widths[index] ?? 0, align);
        return index === 0 ? text : `${column.separator ?? '  '}${text}`;
      })
      .join('')
      .trimEnd();
  const out = [
    ...(options.header === false ? [] : [format(columns.map((column) => column.title))]),
    ...lines.map((line) => (Array.isArray(line) ? format(line as readonly string[]) : (line as { text: string }).text)),
  ];
  const maxWidth = options.maxWidth;
  return maxWidth === undefined ? out : out.map((line) => clipToWidth(line, maxWidth));
}
