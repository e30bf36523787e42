/** "Did you mean …?" suggestions by edit distance. Pure. */
import { foldConfusables } from './confusables';

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions (`lgos` → `logs` is 1). */
function editDistance(a: string, b: string): number {
  const cols = b.length + 1;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: cols }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, (beforePrevious[j - 2] as number) + 1);
      current[j] = best;
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[cols - 1] as number;
}

/** The candidate closest to `word` (case-insensitive), if it is close enough to be a likely typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  // A lookalike letter (Cyrillic `а`) counts as the Latin one it passes for.
  const lower = foldConfusables(word).toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.min(3, Math.floor(Math.max(word.length, best.length) / 3)));
  return bestDistance <= limit ? best : undefined;
}

/** A hint for an unknown name: "did you mean `x`?" or the list of allowed names. */
export function unknownNameHint(word: string, candidates: readonly string[], what = 'allowed'): string {
  const near = closest(word, candidates);
  if (near) return `did you mean \`${near}\`?`;
  if (candidates.length === 0) return `remove it: nothing is ${what} here`;
  const shown = candidates
    .slice(0, 12)
    .map((c) => `\`${c}\``)
    .join(', ');
  const list = `${shown}${candidates.length > 12 ? ', …' : ''}`;
  return what.startsWith('allowed') ? `${what}: ${list}` : `use one of the ${what}: ${list}`;
}
