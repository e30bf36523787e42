/** Colour checks the browser tests share: WCAG contrast, and what a screenshot's background and text colours are. */
import assert from 'node:assert/strict';
import type { PNG } from 'pngjs';

export type Rgb = readonly [number, number, number];

/** WCAG relative luminance. */
export function luminance([r, g, b]: Rgb): number {
  const channel = (c: number): number => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** WCAG contrast ratio of two colours (1 to 21). */
export function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** `rgb(1, 2, 3)` or `rgba(1, 2, 3, 1)` (a computed style's colour) as numbers. */
export function parseRgb(css: string): Rgb {
  const match = /^rgba?\((\d+), (\d+), (\d+)/.exec(css);
  assert.ok(match, `not an rgb() colour: ${css}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** The most frequent colour of the image (its background) and the colour that stands out most from it (its text). */
export function backgroundAndText(png: PNG): { background: Rgb; text: Rgb } {
  const counts = new Map<string, number>();
  for (let i = 0; i < png.data.length; i += 4) {
    const key = `${png.data[i]},${png.data[i + 1]},${png.data[i + 2]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const rgb = (key: string): Rgb => key.split(',').map(Number) as unknown as Rgb;
  const background = rgb([...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '0,0,0');
  const text = [...counts.keys()].map(rgb).sort((a, b) => contrast(b, background) - contrast(a, background))[0];
  assert.ok(text);
  return { background, text };
}
