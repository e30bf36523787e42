/**
 * Letters from other scripts that look like Latin ones (Cyrillic `а` U+0430 for `a`, Greek `ο` U+03BF
 * for `o`, fullwidth `ａ`, and invisible or odd spaces). A key or name spelled with one looks right and
 * still fails to match; diagnostics name the character and its code point so the author can see it.
 * The table covers the lookalikes of Unicode's confusables list that keyboards and copy-paste produce
 * for Latin letters, not the whole list. Pure and workflow-safe.
 */

const LOOKALIKES: Readonly<Record<string, readonly [latin: string, name: string]>> = {
  '\u0430': ['a', 'CYRILLIC SMALL LETTER A'],
  '\u0435': ['e', 'CYRILLIC SMALL LETTER IE'],
  '\u043e': ['o', 'CYRILLIC SMALL LETTER O'],
  '\u0440': ['p', 'CYRILLIC SMALL LETTER ER'],
  '\u0441': ['c', 'CYRILLIC SMALL LETTER ES'],
  '\u0443': ['y', 'CYRILLIC SMALL LETTER U'],
  '\u0445': ['x', 'CYRILLIC SMALL LETTER HA'],
  '\u0455': ['s', 'CYRILLIC SMALL LETTER DZE'],
  '\u0456': ['i', 'CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I'],
  '\u0458': ['j', 'CYRILLIC SMALL LETTER JE'],
  '\u0501': ['d', 'CYRILLIC SMALL LETTER KOMI DE'],
  '\u04bb': ['h', 'CYRILLIC SMALL LETTER SHHA'],
  '\u0410': ['A', 'CYRILLIC CAPITAL LETTER A'],
  '\u0412': ['B', 'CYRILLIC CAPITAL LETTER VE'],
  '\u0415': ['E', 'CYRILLIC CAPITAL LETTER IE'],
  '\u041a': ['K', 'CYRILLIC CAPITAL LETTER KA'],
  '\u041c': ['M', 'CYRILLIC CAPITAL LETTER EM'],
  '\u041d': ['H', 'CYRILLIC CAPITAL LETTER EN'],
  '\u041e': ['O', 'CYRILLIC CAPITAL LETTER O'],
  '\u0420': ['P', 'CYRILLIC CAPITAL LETTER ER'],
  '\u0421': ['C', 'CYRILLIC CAPITAL LETTER ES'],
  '\u0422': ['T', 'CYRILLIC CAPITAL LETTER TE'],
  '\u0425': ['X', 'CYRILLIC CAPITAL LETTER HA'],
  '\u03bf': ['o', 'GREEK SMALL LETTER OMICRON'],
  '\u03b1': ['a', 'GREEK SMALL LETTER ALPHA'],
  '\u03bd': ['v', 'GREEK SMALL LETTER NU'],
  '\u03b9': ['i', 'GREEK SMALL LETTER IOTA'],
  '\u03c1': ['p', 'GREEK SMALL LETTER RHO'],
  '\u0391': ['A', 'GREEK CAPITAL LETTER ALPHA'],
  '\u0392': ['B', 'GREEK CAPITAL LETTER BETA'],
  '\u0395': ['E', 'GREEK CAPITAL LETTER EPSILON'],
  '\u0397': ['H', 'GREEK CAPITAL LETTER ETA'],
  '\u0399': ['I', 'GREEK CAPITAL LETTER IOTA'],
  '\u039a': ['K', 'GREEK CAPITAL LETTER KAPPA'],
  '\u039c': ['M', 'GREEK CAPITAL LETTER MU'],
  '\u039d': ['N', 'GREEK CAPITAL LETTER NU'],
  '\u039f': ['O', 'GREEK CAPITAL LETTER OMICRON'],
  '\u03a1': ['P', 'GREEK CAPITAL LETTER RHO'],
  '\u03a4': ['T', 'GREEK CAPITAL LETTER TAU'],
  '\u03a7': ['X', 'GREEK CAPITAL LETTER CHI'],
  '\u0131': ['i', 'LATIN SMALL LETTER DOTLESS I'],
  '\u00a0': [' ', 'NO-BREAK SPACE'],
  '\u200b': ['', 'ZERO WIDTH SPACE'],
  '\u200c': ['', 'ZERO WIDTH NON-JOINER'],
  '\u200d': ['', 'ZERO WIDTH JOINER'],
  '\u2060': ['', 'WORD JOINER'],
  '\ufeff': ['', 'ZERO WIDTH NO-BREAK SPACE'],
  '\u2010': ['-', 'HYPHEN'],
  '\u2011': ['-', 'NON-BREAKING HYPHEN'],
  '\u2013': ['-', 'EN DASH'],
  '\u2212': ['-', 'MINUS SIGN'],
};

export interface Confusable {
  readonly char: string;
  /** `U+0430`. */
  readonly codePoint: string;
  readonly name: string;
  /** The ASCII character it passes for ('' for an invisible one). */
  readonly latin: string;
}

function lookup(char: string): Confusable | undefined {
  const code = char.codePointAt(0) as number;
  const codePoint = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  const known = LOOKALIKES[char];
  if (known) return { char, codePoint, name: known[1], latin: known[0] };
  // Fullwidth ASCII (ａ U+FF41 …) is ASCII shifted by 0xFEE0.
  if (code >= 0xff01 && code <= 0xff5e) {
    const latin = String.fromCharCode(code - 0xfee0);
    return {
      char,
      codePoint,
      name: `FULLWIDTH ${/[a-z]/i.test(latin) ? 'LATIN LETTER' : 'CHARACTER'} ${latin}`,
      latin,
    };
  }
  return undefined;
}

/** Words of `text`, split at ASCII spacing and quoting only, so a no-break space stays inside its word. */
function wordsOf(text: string): string[] {
  return text.split(/[ \t\r\n`'"(),;.:=[\]{}]+/).filter((word) => word !== '');
}

/** Lookalikes of one word: any invisible or fullwidth one, and the rest only next to ASCII letters (`prepare-dаta`). */
function confusablesOfWord(word: string): Confusable[] {
  const mixed = /[A-Za-z]/.test(word);
  const found: Confusable[] = [];
  for (const char of word) {
    const hit = lookup(char);
    if (hit && (mixed || hit.latin === '' || hit.name.startsWith('FULLWIDTH'))) found.push(hit);
  }
  return found;
}

/** The distinct lookalikes in `text`; a word wholly in another script is a real word and has none. */
export function confusablesIn(text: string): Confusable[] {
  const found = new Map<string, Confusable>();
  for (const word of wordsOf(text)) for (const hit of confusablesOfWord(word)) found.set(hit.char, hit);
  return [...found.values()];
}

/** `text` with every lookalike replaced by the ASCII it passes for. */
export function foldConfusables(text: string): string {
  let out = '';
  for (const char of text) out += lookup(char)?.latin ?? char;
  return out;
}

/** "`а` is U+0430 CYRILLIC SMALL LETTER A, not `a`: write `prepare-data`"; undefined when `text` has no lookalike. */
export function confusableNote(text: string): string | undefined {
  const words = wordsOf(text).filter((word) => confusablesOfWord(word).length > 0);
  if (words.length === 0) return undefined;
  const parts = confusablesIn(words.join(' ')).map((c) =>
    c.latin === ''
      ? `an invisible ${c.codePoint} ${c.name}`
      : `\`${c.char}\` is ${c.codePoint} ${c.name}, not \`${c.latin === ' ' ? 'a space' : c.latin}\``,
  );
  const fixed = [...new Set(words.map(foldConfusables))].map((word) => `\`${word}\``);
  return `${parts.join('; ')}: write ${fixed.join(', ')}`;
}
