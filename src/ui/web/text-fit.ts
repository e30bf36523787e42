/**
 * Text cut or wrapped to a width, for labels drawn in SVG (which neither wraps nor cuts text itself): the DAG's boxes,
 * the parallel-coordinates plot's axis names. Pure (the width comes from a `MeasureText`: the page's canvas, or an
 * estimate in Node), so it is unit-tested without a browser.
 */

/** The width in px of `text` drawn at `fontPx`. */
export type MeasureText = (text: string, fontPx: number) => number;

/**
 * An estimate for Node (the unit tests): DejaVu Sans, the widest common sans-serif and Chromium's here, averages about
 * 0.6 em a character over stage ids, so boxes come out a little wider than the page's measured ones, never narrower.
 */
export const estimateTextWidth: MeasureText = (text, fontPx) => text.length * fontPx * 0.62;

/** `text` whole if it fits in `room` px, else its longest start that fits with an ellipsis after it. */
export function fitText(text: string, room: number, fontPx: number, measure: MeasureText): string {
  if (measure(text, fontPx) <= room) return text;
  const chars = [...text];
  let [low, high] = [0, chars.length - 1];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (measure(`${chars.slice(0, mid).join('')}…`, fontPx) <= room) low = mid;
    else high = mid - 1;
  }
  return `${chars.slice(0, low).join('')}…`;
}

/**
 * Where a name may break: after `.`, `_`, `-`, `/`, a space or a `(`'s left, and inside camelCase before a capital
 * (`learningRate|Warmup|Epochs`), so a parameter's name breaks between its words.
 */
const BREAK = /(?<=[._\-/ ])|(?=\()|(?<=[a-z0-9])(?=[A-Z])/;

/**
 * `text` in at most `maxLines` lines of at most `room` px each: broken between words where it can, inside a word
 * where it must, and the last line cut with an ellipsis when the rest does not fit (show the whole text elsewhere:
 * a tooltip). One line when it fits.
 */
export function wrapText(text: string, room: number, fontPx: number, measure: MeasureText, maxLines = 2): string[] {
  const lines: string[] = [];
  let rest = text;
  while (lines.length < maxLines - 1 && measure(rest, fontPx) > room) {
    const pieces = rest.split(BREAK).filter((piece) => piece !== '');
    let line = '';
    for (const piece of pieces) {
      if (line !== '' && measure((line + piece).trimEnd(), fontPx) > room) break;
      line += piece;
    }
    // A first word wider than the line is broken where the line is full.
    if (measure(line.trimEnd(), fontPx) > room) {
      const cut = fitText(line, room, fontPx, (t, px) => measure(t.replace(/…$/, ''), px));
      line = cut.replace(/…$/, '') || [...line][0] || '';
    }
    lines.push(line.trimEnd());
    rest = rest.slice(line.length).trimStart();
    if (rest === '') return lines;
  }
  lines.push(fitText(rest, room, fontPx, measure));
  return lines;
}
