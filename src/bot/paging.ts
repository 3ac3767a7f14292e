/** One page of a list for a card: the page asked for, kept within the pages there are. */
export function pageOf<T>(items: readonly T[], page: number, size: number): { page: number; start: number; shown: T[]; hasNext: boolean } {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(Math.max(1, page), pages);
  const start = (current - 1) * size;
  return { page: current, start, shown: items.slice(start, start + size), hasNext: current < pages };
}
