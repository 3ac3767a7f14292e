/** The guard against guessing keys on PostgreSQL: one row per partner tenant, changed under its lock. */
import type { GuessGuardRepository, GuessLimits } from '../repositories.js';
import { transaction, type Pool } from './database.js';
import { ensurePartner, guessKey, iso, isoJson } from './rows.js';
import { readOnce } from '../turnReads.js';

/** A partner's row of guess_guards, as read for a turn. */
interface GuardRow {
  locked_until: Date | null;
  unknown_keys_at: Date[];
}

/** The partner's guard as one JSON value (null when it has none), beside another read's (PostgresPartners.member; `$1` the partner). */
export const GUARD_JSON = `(SELECT json_build_object('locked_until', ${isoJson('g.locked_until')}, 'unknown_keys_at', ARRAY(SELECT ${isoJson('a')} FROM unnest(g.unknown_keys_at) a))
  FROM guess_guards g WHERE g.partner_tenant_id = $1)`;

/** The guard's row from GUARD_JSON, as `guard` reads it: undefined when the partner has none. */
export function guardFromJson(value: { locked_until: string | null; unknown_keys_at: string[] } | null): GuardRow | undefined {
  return value === null ? undefined : { locked_until: value.locked_until === null ? null : new Date(value.locked_until), unknown_keys_at: value.unknown_keys_at.map((at) => new Date(at)) };
}

export class PostgresGuessGuard implements GuessGuardRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * The partner's row, read once per turn: a key check asks for the lock and then for the budget
   * (and PostgresPartners.member brings it along with who is asking).
   */
  private guard(tenantId: string): Promise<GuardRow | undefined> {
    return readOnce(guessKey(tenantId), async () => (await this.pool.query('SELECT locked_until, unknown_keys_at FROM guess_guards WHERE partner_tenant_id = $1', [tenantId])).rows[0]);
  }

  async lockedUntil(tenantId: string, now: Date): Promise<string | undefined> {
    const lockedUntil = (await this.guard(tenantId))?.locked_until;
    return lockedUntil && lockedUntil > now ? iso(lockedUntil) : undefined;
  }

  async unknownKeysLeft(tenantId: string, now: Date, limits: GuessLimits): Promise<number> {
    const windowStart = now.getTime() - limits.windowMinutes * 60_000;
    const recent = (await this.guard(tenantId))?.unknown_keys_at.filter((at) => at.getTime() > windowStart).length ?? 0;
    return Math.max(0, limits.limit - recent);
  }

  async recordUnknownKeys(tenantId: string, count: number, now: Date, limits: GuessLimits): Promise<{ lockedUntil?: string }> {
    const windowStart = now.getTime() - limits.windowMinutes * 60_000;
    return transaction(this.pool, async (tx) => {
      await ensurePartner(tx, tenantId);
      await tx.query('INSERT INTO guess_guards (partner_tenant_id) VALUES ($1) ON CONFLICT DO NOTHING', [tenantId]);
      // Every instance counts into this one row, one after the other.
      const { rows } = await tx.query<{ unknown_keys_at: Date[] }>('SELECT unknown_keys_at FROM guess_guards WHERE partner_tenant_id = $1 FOR UPDATE', [tenantId]);
      const recent = rows[0]!.unknown_keys_at.filter((at) => at.getTime() > windowStart);
      for (let i = 0; i < count; i++) recent.push(now);
      if (recent.length <= limits.limit) {
        await tx.query('UPDATE guess_guards SET unknown_keys_at = $2 WHERE partner_tenant_id = $1', [tenantId, recent]);
        return {};
      }
      const lockedUntil = new Date(now.getTime() + limits.lockMinutes * 60_000);
      await tx.query(`UPDATE guess_guards SET unknown_keys_at = '{}', locked_until = $2 WHERE partner_tenant_id = $1`, [tenantId, lockedUntil]);
      return { lockedUntil: lockedUntil.toISOString() };
    });
  }
}
