/**
 * Long synchronous work (a reminder run over every partner) cut into slices of the event loop:
 * `pause()` yields to the loop once the current slice has run its share, `next()` at once, so that
 * turns and timers waiting meanwhile get in between. Time rather than a count of items: an item's
 * cost varies (a partner with three subscriptions or three hundred), the time a turn waits does not.
 */
import { setImmediate as nextTurnOfTheLoop } from 'node:timers/promises';

/** A slice short beside the event-loop blocks a bare botbuilder bot shows on a busy machine (20–30 ms). */
const SLICE_MS = 4;

export class TimeSlices {
  private started = performance.now();

  /** Yields to the event loop if this slice has run its share; cheap to call for every item. */
  async pause(): Promise<void> {
    if (performance.now() - this.started < SLICE_MS) return;
    await this.next();
  }

  /** Yields to the event loop now, and starts a new slice. */
  async next(): Promise<void> {
    await nextTurnOfTheLoop();
    this.started = performance.now();
  }
}
