/**
 * Where an unclosed flow mapping, flow sequence or quoted string begins. The YAML parser notices the
 * missing `}`, `]` or quote only where the text ends (often past the last line); the author needs the
 * place they opened it. A small scanner over the text, bounded by its length (pipelines are ≤ 1 MiB).
 */

export interface Opener {
  /** `{`, `[`, `"` or `'`. */
  readonly char: string;
  readonly offset: number;
}

const CLOSER: Readonly<Record<string, string>> = { '{': '}', '[': ']' };

/** Whether a value may start at `i`: first on its line, or after `:`, `-`, `?`, `,`, `[`, `{` and spaces. */
function startsValue(text: string, i: number): boolean {
  let j = i - 1;
  while (j >= 0 && (text[j] === ' ' || text[j] === '\t')) j--;
  return j < 0 || text[j] === '\n' || ':-?,[{'.includes(text[j] as string);
}

/** End (exclusive) of the quoted scalar starting at `i`, or -1 when it is never closed. */
function quoteEnd(text: string, i: number): number {
  const quote = text[i] as string;
  for (let j = i + 1; j < text.length; j++) {
    if (quote === '"' && text[j] === '\\') j++;
    else if (text[j] === quote) {
      if (quote === "'" && text[j + 1] === "'") j++;
      else return j + 1;
    }
  }
  return -1;
}

/** Openers never properly closed, outermost first; a closer of the wrong kind leaves its opener unclosed. */
export function unclosedOpeners(text: string): Opener[] {
  const stack: Opener[] = [];
  const unclosed: Opener[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '#' && (i === 0 || /\s/.test(text[i - 1] as string))) {
      const newline = text.indexOf('\n', i);
      i = newline < 0 ? text.length : newline;
    } else if ((ch === '"' || ch === "'") && startsValue(text, i)) {
      const end = quoteEnd(text, i);
      if (end < 0) return [...unclosed, ...stack, { char: ch, offset: i }];
      i = end - 1;
    } else if ((ch === '{' || ch === '[') && (stack.length > 0 || startsValue(text, i))) {
      stack.push({ char: ch, offset: i });
    } else if ((ch === '}' || ch === ']') && stack.length > 0) {
      const top = stack.pop() as Opener;
      if (CLOSER[top.char] !== ch) unclosed.push(top);
    }
  }
  return [...unclosed, ...stack];
}
