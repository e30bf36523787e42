/**
 * Where a chart's words go so that none covers another or a curve: the evaluation report's SVG charts and the UI's
 * uPlot charts both place their marker labels (best epoch, training phases) and the report its legend with these
 * functions. Pure geometry in pixels, y growing downwards; no DOM, so the report (Node) and the UI bundle share it.
 *
 * - Marker labels sit in a band above the plot area, one row per group of labels that would touch; a label goes
 *   right of its line, or left of it when it would pass the plot's right edge (the best epoch is often the last).
 * - The report's legend sits below the x axis' title, items flowing left to right and wrapping.
 */

export interface Box {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

/** Whether two boxes share any area (touching edges do not count). */
export function boxesIntersect(a: Box, b: Box): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/**
 * An SVG string cannot measure text: the width of `text` in a sans-serif font of `fontPx`, estimated generously
 * (0.62 em a character covers digits and lower-case letters of the common sans faces).
 */
export function estimateTextWidth(text: string, fontPx: number): number {
  return Math.ceil(text.length * fontPx * 0.62);
}

export interface MarkerLabelInput {
  /** The marker line's x. */
  readonly x: number;
  /** The label's width (measured in a browser, `estimateTextWidth` elsewhere). */
  readonly width: number;
}

export interface PlacedLabel {
  /** The label's left edge (text anchored at its start). */
  readonly left: number;
  /** 0 = the row nearest the plot. */
  readonly row: number;
}

/** Horizontal room between a label and its line, and between two labels on one row. */
export const LABEL_GAP = 4;

/**
 * Each label's left edge and row, in input order. Labels are placed from left to right; each takes the lowest row
 * where it keeps `LABEL_GAP` from the labels already there (first fit), so labels of distant markers share row 0
 * and only close ones stack.
 */
export function placeMarkerLabels(
  labels: readonly MarkerLabelInput[],
  plot: { readonly left: number; readonly right: number },
): PlacedLabel[] {
  const placed: PlacedLabel[] = new Array<PlacedLabel>(labels.length);
  const rowEnds: number[] = [];
  const order = labels.map((label, index) => ({ label, index })).sort((a, b) => a.label.x - b.label.x);
  for (const { label, index } of order) {
    const right = label.x + LABEL_GAP + label.width <= plot.right;
    const left = Math.max(plot.left, right ? label.x + LABEL_GAP : label.x - LABEL_GAP - label.width);
    let row = rowEnds.findIndex((end) => end + LABEL_GAP <= left);
    if (row < 0) row = rowEnds.length;
    rowEnds[row] = left + label.width;
    placed[index] = { left, row };
  }
  return placed;
}

/** How many rows `placeMarkerLabels` used (the band above the plot is this many rows high). */
export function labelRowCount(placed: readonly PlacedLabel[]): number {
  return placed.reduce((rows, label) => Math.max(rows, label.row + 1), 0);
}

export interface LegendItem {
  /** The colour swatch's box. */
  readonly swatch: Box;
  /** The text's baseline start. */
  readonly textX: number;
  readonly baseline: number;
  /** The swatch and the text together. */
  readonly box: Box;
}

/** Legend geometry: swatch size, gap from swatch to text, gap between items, row height. */
export const LEGEND = { swatch: 10, textGap: 4, itemGap: 14, rowHeight: 16 } as const;

/**
 * Legend items flowing from `area.left` to `area.right` from `area.top`, wrapping to a new row when the next item
 * does not fit; an item wider than the area gets a row of its own.
 */
export function layoutLegend(
  widths: readonly number[],
  area: { readonly left: number; readonly right: number; readonly top: number },
): { readonly items: LegendItem[]; readonly height: number } {
  const items: LegendItem[] = [];
  let x = area.left;
  let row = 0;
  for (const width of widths) {
    const itemWidth = LEGEND.swatch + LEGEND.textGap + width;
    if (x > area.left && x + itemWidth > area.right) {
      row += 1;
      x = area.left;
    }
    const top = area.top + row * LEGEND.rowHeight;
    const middle = top + LEGEND.rowHeight / 2;
    items.push({
      swatch: {
        left: x,
        top: middle - LEGEND.swatch / 2,
        right: x + LEGEND.swatch,
        bottom: middle + LEGEND.swatch / 2,
      },
      textX: x + LEGEND.swatch + LEGEND.textGap,
      baseline: middle + 4,
      box: { left: x, top, right: x + itemWidth, bottom: top + LEGEND.rowHeight },
    });
    x += itemWidth + LEGEND.itemGap;
  }
  return { items, height: widths.length === 0 ? 0 : (row + 1) * LEGEND.rowHeight };
}
