/**
 * Reads remembered for the length of one turn: a turn asks for the partner's profile or the staff
 * member several times (who is asking, which time zone, which card), and on PostgreSQL each ask is
 * a round trip. Only within one turn, never across turns (other instances change the rows), and
 * forgotten whenever the turn writes through the same repository, so the turn sees its own writes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const reads = new AsyncLocalStorage<Map<string, Promise<unknown>>>();

/** Runs one turn's work with reads remembered until it ends. */
export function withTurnReads<T>(work: () => Promise<T>): Promise<T> {
  return reads.run(new Map(), work);
}

/** `read()` once per turn and key (a copy each time, so no caller changes another's); outside a turn, every time. */
export async function readOnce<T>(key: string, read: () => Promise<T>): Promise<T> {
  const memo = reads.getStore();
  if (!memo) return read();
  let pending = memo.get(key) as Promise<T> | undefined;
  if (!pending) {
    pending = read();
    memo.set(key, pending);
    // A failed read is not remembered: the next ask tries again.
    pending.catch(() => memo.get(key) === pending && memo.delete(key));
  }
  return structuredClone(await pending);
}

/** A value that another read of this turn brought along (two reads in one query): remembered unless read already. */
export function rememberRead(key: string, value: unknown): void {
  const memo = reads.getStore();
  if (memo && !memo.has(key)) memo.set(key, Promise.resolve(value));
}

/** After a write: what the turn read before may have changed. */
export function forgetTurnReads(): void {
  reads.getStore()?.clear();
}
