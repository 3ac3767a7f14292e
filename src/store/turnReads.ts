/**
 * Reads remembered for the length of one turn: a turn asks for the partner's profile or the staff
 * member several times (who is asking, which time zone, which card), and on PostgreSQL each ask is
 * a round trip. Only within one turn, never across turns (other instances change the rows), and
 * forgotten whenever the turn writes through the same repository, so the turn sees its own writes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { copyOf } from './copy.js';

/** A turn's remembered reads, and how many times it wrote (a read that started before a write is not remembered after it). */
interface TurnReads {
  memo: Map<string, Promise<unknown>>;
  writes: number;
}

const reads = new AsyncLocalStorage<TurnReads>();

/** Remembers a value another read of this turn brought along (two reads in one query), unless read already. */
export type Remember = (key: string, value: unknown) => void;

/** Runs one turn's work with reads remembered until it ends. */
export function withTurnReads<T>(work: () => Promise<T>): Promise<T> {
  return reads.run({ memo: new Map(), writes: 0 }, work);
}

/**
 * `read()` once per turn and key (a copy each time, so no caller changes another's); outside a turn,
 * every time. What `read` passes to `remember` is kept only if the turn did not write while it ran.
 */
export async function readOnce<T>(key: string, read: (remember: Remember) => Promise<T>): Promise<T> {
  const turn = reads.getStore();
  const remember = rememberAlong(turn);
  if (!turn) return read(remember);
  let pending = turn.memo.get(key) as Promise<T> | undefined;
  if (!pending) {
    pending = read(remember);
    turn.memo.set(key, pending);
    // A failed read is not remembered: the next ask tries again.
    pending.catch(() => turn.memo.get(key) === pending && turn.memo.delete(key));
  }
  return copyOf(await pending);
}

/**
 * For a read that starts now and is not itself remembered (it is asked once, or must stay fresh):
 * what it brings along is kept for the turn, unless the turn writes while it runs.
 */
export function rememberAlong(turn = reads.getStore()): Remember {
  const writes = turn?.writes;
  return (other, value) => {
    if (turn && turn.writes === writes && !turn.memo.has(other)) turn.memo.set(other, Promise.resolve(value));
  };
}

/** After a write: what the turn read before may have changed, and so may what reads under way bring. */
export function forgetTurnReads(): void {
  const turn = reads.getStore();
  if (!turn) return;
  turn.memo.clear();
  turn.writes++;
}
