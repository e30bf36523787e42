/** Text widths in the page's own font, for SVG drawn to fit its text (the DAG's boxes, the parallel plot's axes). */
import type { MeasureText } from './text-fit';

/**
 * Text widths in the page's font (the one SVG text inherits from the body), on a canvas: no layout pass, and the
 * drawing need not be in the document yet. Undefined where a canvas has no 2D context.
 */
export function pageTextMeasure(): MeasureText | undefined {
  const context = document.createElement('canvas').getContext('2d');
  if (!context) return undefined;
  const family = getComputedStyle(document.body).fontFamily || 'sans-serif';
  const widths = new Map<string, number>();
  return (text, fontPx) => {
    const key = `${fontPx}\u0000${text}`;
    let width = widths.get(key);
    if (width === undefined) {
      context.font = `${fontPx}px ${family}`;
      width = context.measureText(text).width;
      widths.set(key, width);
    }
    return width;
  };
}
