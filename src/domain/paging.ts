/** One page of a list for a card: the page asked for, kept within the pages there are. */
export interface Page<T> {
  page: number;
  /** Where the page starts in the whole list (0-based). */
  start: number;
  shown: T[];
  hasNext: boolean;
  /** How many items the whole list holds. */
  total: number;
}

/** Where page `page` of `size` items starts in a list of `total`, kept within the pages there are (page 1 when empty). */
export function pageWithin(total: number, page: number, size: number): { page: number; start: number; hasNext: boolean } {
  const pages = Math.max(1, Math.ceil(total / size));
  const current = Math.min(Math.max(1, page), pages);
  return { page: current, start: (current - 1) * size, hasNext: current < pages };
}

/** One page of a list held whole. */
export function pageOf<T>(items: readonly T[], page: number, size: number): Page<T> {
  const within = pageWithin(items.length, page, size);
  return { ...within, shown: items.slice(within.start, within.start + size), total: items.length };
}
