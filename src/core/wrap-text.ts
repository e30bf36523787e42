/**
 * Breaking prose into lines of a width, for the CLI's help and for text the CLI prints under its tables. Pure, and
 * free of packages: the CLI framework imports it before any command loads.
 */

/**
 * `text` broken at spaces into lines of at most `width` columns; continuation lines start with `indent` (a word
 * longer than a line stays whole).
 */
export function wrapAtSpaces(text: string, width: number, indent: string): string[] {
  const lead = /^ */.exec(text)?.[0] ?? '';
  const lines: string[] = [];
  let line = lead;
  for (const word of text.slice(lead.length).split(' ')) {
    const candidate = line.trim() === '' ? `${line}${word}` : `${line} ${word}`;
    if (candidate.length <= width || line.trim() === '') line = candidate;
    else {
      lines.push(line);
      line = `${indent}${word}`;
    }
  }
  lines.push(line);
  return lines;
}
