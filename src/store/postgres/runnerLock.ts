/**
 * Scheduled work on one instance at a time: a session-level advisory lock held on a connection of its
 * own for the run. When the instance dies its connection ends, the server drops the lock, and the
 * next instance whose schedule fires (each tries every minute) takes the work over.
 */
import type { RunnerLock } from '../repositories.js';
import type { Pool } from './database.js';

export class PostgresRunnerLock implements RunnerLock {
  constructor(private readonly pool: Pool) {}

  async runExclusive<T>(name: string, work: () => Promise<T>): Promise<{ ran: true; result: T } | { ran: false }> {
    const client = await this.pool.connect();
    let lost: Error | undefined;
    // A connection that breaks while held must not crash the process; the lock went with it.
    const onError = (error: Error) => (lost = error);
    client.on('error', onError);
    const key = `partner-setup-bot:${name}`;
    try {
      const { rows } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS got', [key]);
      if (!rows[0]!.got) return { ran: false };
      try {
        return { ran: true, result: await work() };
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch((error: Error) => (lost = error));
      }
    } finally {
      client.off('error', onError);
      // A connection that may still hold the lock is closed rather than reused.
      client.release(lost);
    }
  }
}
