/** One page of a list for a card: the page asked for, kept within the pages there are. */
export function pageOf<T>(items: readonly T[], page: number, size: number): Page<T> {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(Math.max(1, page), pages);
  const start = (current - 1) * size;
  return { page: current, start, shown: items.slice(start, start + size), hasNext: current < pages, total: items.length };
}

export interface Page<T> {
  /** The page shown (1-based), within the pages there are. */
  page: number;
  /** The index of its first item in the whole list. */
  start: number;
  shown: T[];
  hasNext: boolean;
  /** How many items the whole list holds. */
  total: number;
}
