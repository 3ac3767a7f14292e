/**
 * The outbox of proactive messages on PostgreSQL. A sender claims due rows with FOR UPDATE SKIP LOCKED
 * and a lease (so instances never claim the same row, and a dead sender's rows come back when the
 * lease ends), then marks each sent, retried later, or failed.
 */
import type { ClaimedMessage, OutboxRepository, OutboxState, OutgoingMessage } from '../repositories.js';
import type { Pool } from './database.js';

export class PostgresOutbox implements OutboxRepository {
  constructor(private readonly pool: Pool) {}

  async enqueue(message: OutgoingMessage): Promise<boolean> {
    const { rowCount } = await this.pool.query('INSERT INTO outbox (unique_key, tenant_id, conversation, activity) VALUES ($1, $2, $3, $4) ON CONFLICT (unique_key) DO NOTHING', [
      message.uniqueKey,
      message.tenantId,
      message.conversation,
      message.activity,
    ]);
    return rowCount === 1;
  }

  async claimKey(uniqueKey: string, workerId: string, leaseMs: number): Promise<ClaimedMessage | undefined> {
    // One statement: a second worker waits for the first's row lock, then finds the lease taken.
    const { rows } = await this.pool.query(
      `UPDATE outbox SET locked_by = $2, locked_until = now() + $3 * interval '1 millisecond', attempts = attempts + 1
       WHERE unique_key = $1 AND sent_at IS NULL AND failed_at IS NULL AND (locked_until IS NULL OR locked_until < now())
       RETURNING id, unique_key, tenant_id, conversation, activity, attempts`,
      [uniqueKey, workerId, leaseMs],
    );
    const row = rows[0];
    return row && { id: String(row.id), uniqueKey: row.unique_key, tenantId: row.tenant_id, conversation: row.conversation, activity: row.activity, attempts: row.attempts };
  }

  async state(uniqueKey: string): Promise<OutboxState | undefined> {
    const { rows } = await this.pool.query(
      `SELECT sent_at, activity_id, failed_at, last_error, CASE WHEN locked_until > now() THEN ceil(extract(epoch FROM locked_until - now()) * 1000)::int END AS held_for_ms
       FROM outbox WHERE unique_key = $1`,
      [uniqueKey],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (row.sent_at) return { state: 'sent', ...(row.activity_id !== null && { activityId: row.activity_id }) };
    if (row.failed_at) return { state: 'failed', error: row.last_error ?? '' };
    return { state: 'pending', ...(row.held_for_ms !== null && { heldForMs: row.held_for_ms }) };
  }

  async prune(finishedBefore: Date): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM outbox WHERE sent_at < $1 OR failed_at < $1', [finishedBefore]);
    return rowCount ?? 0;
  }

  async claim(workerId: string, limit: number, leaseMs: number): Promise<ClaimedMessage[]> {
    const { rows } = await this.pool.query(
      `WITH ready AS (
         SELECT id FROM outbox
         WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
         ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE outbox o SET locked_by = $1, locked_until = now() + $3 * interval '1 millisecond', attempts = o.attempts + 1
       FROM ready WHERE o.id = ready.id
       RETURNING o.id, o.unique_key, o.tenant_id, o.conversation, o.activity, o.attempts`,
      [workerId, limit, leaseMs],
    );
    return rows
      .map((row) => ({ id: String(row.id), uniqueKey: row.unique_key, tenantId: row.tenant_id, conversation: row.conversation, activity: row.activity, attempts: row.attempts }))
      .sort((a, b) => Number(a.id) - Number(b.id));
  }

  async markSent(id: string, workerId: string, activityId?: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE outbox SET sent_at = now(), activity_id = $3, locked_by = NULL, locked_until = NULL, last_error = NULL WHERE id = $1 AND locked_by = $2 AND sent_at IS NULL',
      [id, workerId, activityId ?? null],
    );
    return rowCount === 1;
  }

  async retryLater(id: string, workerId: string, delayMs: number, error: string): Promise<void> {
    await this.pool.query(
      `UPDATE outbox SET next_attempt_at = now() + $3 * interval '1 millisecond', locked_by = NULL, locked_until = NULL, last_error = $4 WHERE id = $1 AND locked_by = $2 AND sent_at IS NULL`,
      [id, workerId, delayMs, error],
    );
  }

  async takeSendSlot(tenantId: string, perSecond: number, at: Date): Promise<number> {
    const windowStart = Math.floor(at.getTime() / 1000) * 1000;
    // One statement per send: the counter's row serializes the instances, and a full second takes no more.
    const { rows } = await this.pool.query<{ used: number }>(
      `INSERT INTO outbox_send_slots (tenant_id, window_start, used) VALUES ($1, $2, 1)
       ON CONFLICT (tenant_id, window_start) DO UPDATE SET used = outbox_send_slots.used + 1 WHERE outbox_send_slots.used < $3
       RETURNING used`,
      [tenantId, new Date(windowStart), perSecond],
    );
    if (rows.length === 0) return windowStart + 1000 - at.getTime();
    // The tenant's first send of a second clears its counters of past seconds (of no further use).
    if (rows[0]!.used === 1) await this.pool.query('DELETE FROM outbox_send_slots WHERE tenant_id = $1 AND window_start < $2', [tenantId, new Date(windowStart)]);
    return 0;
  }

  async fail(id: string, workerId: string, error: string): Promise<void> {
    await this.pool.query('UPDATE outbox SET failed_at = now(), locked_by = NULL, locked_until = NULL, last_error = $3 WHERE id = $1 AND locked_by = $2 AND sent_at IS NULL', [id, workerId, error]);
  }
}
