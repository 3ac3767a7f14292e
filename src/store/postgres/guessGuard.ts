/** The guard against guessing keys on PostgreSQL: one row per partner tenant, changed under its lock. */
import type { GuessGuardRepository, GuessLimits } from '../repositories.js';
import { transaction, type Pool } from './database.js';
import { ensurePartner, iso } from './rows.js';

export class PostgresGuessGuard implements GuessGuardRepository {
  constructor(private readonly pool: Pool) {}

  async lockedUntil(tenantId: string, now: Date): Promise<string | undefined> {
    const { rows } = await this.pool.query('SELECT locked_until FROM guess_guards WHERE partner_tenant_id = $1 AND locked_until > $2', [tenantId, now]);
    return rows[0] && iso(rows[0].locked_until);
  }

  async unknownKeysLeft(tenantId: string, now: Date, limits: GuessLimits): Promise<number> {
    const { rows } = await this.pool.query(
      `SELECT count(*)::int AS recent FROM guess_guards, unnest(unknown_keys_at) AS at WHERE partner_tenant_id = $1 AND at > $2`,
      [tenantId, new Date(now.getTime() - limits.windowMinutes * 60_000)],
    );
    return Math.max(0, limits.limit - (rows[0]?.recent ?? 0));
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
