/**
 * The one way a message echoes what a user typed (run ids, stage, schedule and pipeline names): a value of any length
 * and any bytes comes from a command line, an API request or a pipeline file, and was printed whole, 5,000 characters
 * and escape sequences included, into "no run …". Pure (workflow-safe: the retry update's validator uses it too).
 */

/** At most this many characters of a value are echoed; the rest is cut and its length named. */
export const SHOWN_INPUT_CHARACTERS = 80;

// C0 and C1 controls, DEL, lone surrogates, the line and paragraph separators and the bidi controls: characters that
// move the cursor, recolour the terminal, end a log line or reorder what is shown around them.
const NEEDS_ESCAPE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]|\p{Cs}/u;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `value` as a message shows it. A short value of printable characters is itself (`no run quickstart-2026…`); any
 * other is quoted, its controls written as escapes (`"a\u001b[31mb"`), cut at `max` characters with the length named
 * (`"aaaa…" (5000 characters)`), so a message stays one line of bounded length whatever the input.
 */
export function shownInput(value: string, max: number = SHOWN_INPUT_CHARACTERS): string {
  const plain = value !== '' && value.trim() === value && !NEEDS_ESCAPE.test(value) && !value.includes('"');
  return plain && Array.from(value).length <= max ? value : quotedInput(value, max);
}

/** `value` always quoted (for a message that quotes even a plain value), else as {@link shownInput}. */
export function quotedInput(value: string, max: number = SHOWN_INPUT_CHARACTERS): string {
  const characters = Array.from(value);
  const cut = characters.length > max;
  const shown = (cut ? characters.slice(0, max) : characters).map(escapedCharacter).join('');
  return cut ? `"${shown}…" (${characters.length} characters)` : `"${shown}"`;
}

function escapedCharacter(character: string): string {
  if (character === '"' || character === '\\') return `\\${character}`;
  if (!NEEDS_ESCAPE.test(character)) return character;
  return SHORT_ESCAPES[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
