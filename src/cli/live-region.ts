/**
 * A block of terminal output redrawn in place (`fineflow status --watch`, `submit --watch`): each
 * frame replaces the previous one, as `log-update` does.
 *
 * Written here rather than taken from `log-update`: its maintained releases are ESM-only, which this
 * CommonJS package cannot `require` on Node 20, and the last CommonJS release neither follows resizes
 * nor caps a frame at the terminal's height. What it has to get right:
 * - **wrapped lines**: a line wider than the terminal takes several rows; the rows to erase are
 *   counted in terminal cells (`displayWidth`: wide characters take two), not in `\n`s;
 * - **resizes**: terminals re-wrap what is on screen when the width changes, so the previous frame is
 *   measured again at the new width before it is erased, and the frame is drawn again for the new
 *   width at once (the renderer gets the width, so tables are cut to it);
 * - **height**: rows that scrolled off the top cannot be erased, so a frame taller than the terminal
 *   is cut to fit, its last line saying how many lines were left out.
 */
import { clipToWidth, displayWidth } from '../client/text-table';

/** The parts of a TTY stream the region uses (process.stdout has them all). */
export interface LiveStream {
  write(text: string): unknown;
  readonly columns?: number;
  readonly rows?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

const ERASE_DOWN = '\u001b[J';
const DEFAULT_COLUMNS = 80;

/** Rows `line` takes on a terminal `columns` wide (an empty line still takes one). */
export function rowsOf(line: string, columns: number): number {
  return Math.max(1, Math.ceil(displayWidth(line) / Math.max(1, columns)));
}

export class LiveRegion {
  private previous: readonly string[] = [];
  private render: ((columns: number) => string) | undefined;
  private readonly onResize = (): void => {
    if (this.render) this.draw(this.render);
  };

  constructor(private readonly stream: LiveStream) {
    stream.on?.('resize', this.onResize);
  }

  private get columns(): number {
    return this.stream.columns && this.stream.columns > 0 ? this.stream.columns : DEFAULT_COLUMNS;
  }

  /** Replaces the previous frame with `render(columns)`; called again by itself when the terminal is resized. */
  draw(render: (columns: number) => string): void {
    this.render = render;
    const columns = this.columns;
    const lines = this.fitHeight(render(columns).replace(/\n+$/, '').split('\n'), columns);
    // Measured now: after a resize the terminal has re-wrapped the previous frame at this width.
    const erase = this.previous.reduce((rows, line) => rows + rowsOf(line, columns), 0);
    this.stream.write(`${erase > 0 ? `\r\u001b[${erase}A${ERASE_DOWN}` : ''}${lines.join('\n')}\n`);
    this.previous = lines;
  }

  /** Something else was printed after the frame (a notice): the next frame goes below it, erasing nothing. */
  keepFrame(): void {
    this.previous = [];
  }

  /** Leaves the last frame on screen and stops following resizes. */
  done(): void {
    this.stream.off?.('resize', this.onResize);
    this.render = undefined;
  }

  private fitHeight(lines: readonly string[], columns: number): readonly string[] {
    const height = this.stream.rows;
    if (!height || height < 2) return lines;
    const budget = height - 1; // the cursor's row after the frame
    const rows = lines.map((line) => rowsOf(line, columns));
    if (rows.reduce((a, b) => a + b, 0) <= budget) return lines;
    const kept: string[] = [];
    let used = 0;
    // One row stays free for the note saying what was left out.
    for (const [index, line] of lines.entries()) {
      const lineRows = rows[index] ?? 1;
      if (used + lineRows > budget - 1) break;
      kept.push(line);
      used += lineRows;
    }
    kept.push(clipToWidth(`… ${lines.length - kept.length} more lines (a taller terminal shows them)`, columns));
    return kept;
  }
}
