/**
 * The live redraw of `--watch` against a small terminal model: it wraps long lines at its width,
 * re-wraps what it shows when resized (as xterm, VTE and iTerm do), scrolls, and understands the
 * three controls the region writes (CR, cursor up, erase down). What a person would see is the
 * screen's text, so that is what the tests compare.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { LiveRegion, rowsOf } from '../../../src/cli/live-region';
import { displayWidth } from '../../../src/client/text-table';

/** Logical lines (as written between newlines), shown wrapped at `columns`. */
class FakeTerminal extends EventEmitter {
  /** Each entry: one logical line; the cursor is always at the start of a row in these tests. */
  private lines: string[] = [''];
  /** Row of the cursor among the wrapped rows of `lines`. */
  private cursorRow = 0;
  readonly isTTY = true;

  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }

  private wrap(line: string): string[] {
    const out: string[] = [];
    let row = '';
    for (const char of line) {
      if (displayWidth(row) + displayWidth(char) > this.columns) {
        out.push(row);
        row = '';
      }
      row += char;
    }
    out.push(row);
    return out;
  }

  private wrapped(): string[] {
    return this.lines.flatMap((line) => this.wrap(line));
  }

  write(text: string): boolean {
    for (const token of text.split(/(\r|\n|\u001b\[\d*A|\u001b\[J)/).filter((t) => t !== '')) {
      if (token === '\r') continue;
      if (token === '\n') {
        this.lines.push('');
        this.cursorRow = this.wrapped().length - 1;
      } else if (token.startsWith('\u001b[') && token.endsWith('A')) {
        this.cursorRow = Math.max(0, this.cursorRow - Number(token.slice(2, -1) || 1));
      } else if (token === '\u001b[J') {
        // Erase from the cursor down: drop every logical line that starts at or below the cursor row.
        let row = 0;
        const kept: string[] = [];
        for (const line of this.lines) {
          if (row >= this.cursorRow) break;
          const rows = rowsOf(line, this.columns);
          // The cursor is inside this wrapped line: the rows above it stay, as a line of their own.
          kept.push(
            row + rows > this.cursorRow
              ? this.wrap(line)
                  .slice(0, this.cursorRow - row)
                  .join('')
              : line,
          );
          row += rows;
        }
        this.lines = [...kept, ''];
      } else {
        this.lines[this.lines.length - 1] += token;
      }
    }
    return true;
  }

  resize(columns: number, rows = this.rows): void {
    this.columns = columns;
    this.rows = rows;
    this.cursorRow = this.wrapped().length - 1;
    this.emit('resize');
  }

  /** What is on screen below the text printed before the region (the last `rows` rows). */
  screen(): string[] {
    const all = this.wrapped();
    return all.slice(Math.max(0, all.length - this.rows)).filter((row, i, rows) => i < rows.length - 1 || row !== '');
  }
}

describe('LiveRegion', () => {
  it('replaces a frame whose lines wrap, leaving nothing of it behind', () => {
    const term = new FakeTerminal(20, 30);
    term.write('$ fineflow status r-1 --watch\n');
    const region = new LiveRegion(term);
    region.draw(() => `run r-1 RUNNING\n${'x'.repeat(45)}\nlast line`);
    region.draw(() => 'run r-1 SUCCEEDED\nshort');
    assert.deepEqual(term.screen(), ['$ fineflow status r-', '1 --watch', 'run r-1 SUCCEEDED', 'short']);
  });

  it('counts wide characters as two cells', () => {
    const term = new FakeTerminal(10, 30);
    const region = new LiveRegion(term);
    region.draw(() => '数据集数据集数据集'); // 18 cells: two rows at 10 columns
    region.draw(() => 'done');
    assert.deepEqual(term.screen(), ['done']);
    assert.equal(rowsOf('数据集数据集', 10), 2);
  });

  it('redraws for the new width when the terminal is resized, erasing the re-wrapped old frame', () => {
    const term = new FakeTerminal(40, 30);
    term.write('prompt\n');
    const region = new LiveRegion(term);
    const widths: number[] = [];
    region.draw((columns) => {
      widths.push(columns);
      return `${'='.repeat(columns)}\nstage ${'a'.repeat(30)}`;
    });
    term.resize(15);
    assert.deepEqual(widths, [40, 15]);
    assert.deepEqual(term.screen(), [
      'prompt',
      '='.repeat(15),
      `stage ${'a'.repeat(9)}`,
      'a'.repeat(15),
      'a'.repeat(6),
    ]);
    term.resize(60);
    assert.deepEqual(term.screen(), ['prompt', '='.repeat(60), `stage ${'a'.repeat(30)}`]);
    region.done();
    term.resize(20);
    assert.deepEqual(widths, [40, 15, 60], 'no redraw after done()');
  });

  it('cuts a frame taller than the terminal, saying how much was left out', () => {
    const term = new FakeTerminal(60, 6);
    const region = new LiveRegion(term);
    const frame = Array.from({ length: 12 }, (_, i) => `line ${i}`).join('\n');
    region.draw(() => frame);
    assert.deepEqual(term.screen(), [
      'line 0',
      'line 1',
      'line 2',
      'line 3',
      '… 8 more lines (a taller terminal shows them)',
    ]);
    region.draw(() => 'short');
    assert.deepEqual(term.screen(), ['short']);
  });

  it('the previous redraw (one row per newline) left wrapped rows behind: the model can tell', () => {
    const term = new FakeTerminal(20, 30);
    const naive = (text: string, previous: number) =>
      term.write(`${previous > 0 ? `\u001b[${previous}A\u001b[J` : ''}${text}\n`);
    const first = `${'x'.repeat(45)}`;
    naive(first, 0);
    naive('done', first.split('\n').length);
    assert.notDeepEqual(term.screen(), ['done']);
  });
});

describe('LiveRegion.keepFrame', () => {
  it('leaves a notice printed after the frame on screen: the next frame goes below it', () => {
    const term = new FakeTerminal(40, 30);
    const region = new LiveRegion(term);
    region.draw(() => 'frame 1');
    term.write('fineflow: Temporal unreachable, retrying\n');
    region.keepFrame();
    region.draw(() => 'frame 2');
    assert.deepEqual(term.screen(), ['frame 1', 'fineflow: Temporal unreachable, retrying', 'frame 2']);
  });
});
