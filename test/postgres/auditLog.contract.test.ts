import { DEFAULT_LIFECYCLE } from '../../src/domain/lifecycle.js';
import { PostgresAuditLog } from '../../src/store/postgres/auditLog.js';
import { openPostgres } from '../../src/store/postgres/index.js';
import { freshDatabase } from '../support/postgres.js';
import { auditLogContract } from '../support/auditLogContract.js';

auditLogContract('PostgreSQL', async (context) => {
  const url = await freshDatabase(context);
  // Two pools: two instances. Reads of a few entries at a time, so exports and checks cross batches.
  const [first, second] = await Promise.all([openPostgres(url, DEFAULT_LIFECYCLE), openPostgres(url, DEFAULT_LIFECYCLE)]);
  return {
    instances: [new PostgresAuditLog(first.pool, 3), new PostgresAuditLog(second.pool, 3)],
    async tamper(partnerTenantId, seq, edit) {
      const sql = edit === 'remove' ? 'DELETE FROM audit_entries WHERE partner_tenant_id = $1 AND seq = $2' : "UPDATE audit_entries SET actor_name = 'Someone Else' WHERE partner_tenant_id = $1 AND seq = $2";
      await first.pool.query(sql, [partnerTenantId, seq]);
    },
    close: async () => void (await Promise.all([first.pool.end(), second.pool.end()])),
  };
});
