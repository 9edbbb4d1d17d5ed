/**
 * Bounded-concurrency map over a list.
 *
 * @module
 */

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; rejects on the
 * first error (the remaining items are not started).
 *
 * @typeParam T Item type.
 * @typeParam R Result type.
 * @param items Inputs.
 * @param limit Max concurrent calls (≥ 1).
 * @param fn The async operation.
 * @returns Results in input order.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
  return results;
}
