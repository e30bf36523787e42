/**
 * Work on many items a few at a time: each put or read of an object store is a round trip, so one at a time waits out
 * every latency in turn, and all at once opens a file and a connection per item. Pure (no I/O of its own).
 */

/**
 * Calls `work` on every item with at most `limit` calls pending at once, starting items in order. After a failure no
 * further item is started; once the calls in flight have settled, the first failure is thrown (so nothing is still
 * writing when the caller learns of it).
 */
export async function forEachInFlight<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number ≥ 1, got ${limit}`);
  let next = 0;
  let failure: { readonly error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        await work(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
