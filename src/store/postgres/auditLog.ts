/**
 * The audit trail on PostgreSQL (tables of 002_audit.sql): the same hash chain per partner as the
 * files, appended through appendAudit (which locks the partner's head row, so instances append one
 * after the other). Reads go page by page on the primary key, never the whole trail in memory.
 */
import { AuditDraftSchema, AuditEntrySchema, describeBreak, EMPTY_HEAD, verifyChain, type AuditCheckpoint, type AuditDraft, type AuditEntry, type ChainHead, type ChainVerdict } from '../../domain/audit.js';
import { pruneRecord, type AuditLog, type AuditPage, type AuditQuery, type AuditVerification } from '../auditLog.js';
import { appendAudit, entryFrom, insertEntry } from './audit.js';
import { transaction, type Pool, type Tx } from './database.js';

const COLUMNS = 'partner_tenant_id, seq, id, at, actor_name, actor_object_id, actor_role, verb, customer_tenant_id, subscription_id, keys, details, outcome, reason, prev, hash';

type Row = Record<string, any>;

/** An entry as a reader gets it back: fields without a value absent, not undefined. */
const asRead = (entry: AuditEntry): AuditEntry => AuditEntrySchema.parse(JSON.parse(JSON.stringify(entry)));

/** An entry as stored, or, when a row no longer makes one (edited into nonsense), the row itself: the chain check calls it unreadable. */
function readable(row: Row): unknown {
  try {
    return entryFrom(row);
  } catch {
    return row;
  }
}

export class PostgresAuditLog implements AuditLog {
  constructor(
    private readonly pool: Pool,
    /** How many entries a read takes at a time (exports, verification). */
    private readonly batch = 500,
  ) {}

  async append(draft: AuditDraft): Promise<AuditEntry> {
    const [entry] = await transaction(this.pool, (tx) => appendAudit(tx, [draft]));
    return asRead(entry!);
  }

  appendMissing(partnerTenantId: string, drafts: readonly AuditDraft[]): Promise<AuditEntry[]> {
    const valid = drafts.map((draft) => AuditDraftSchema.parse(draft));
    if (valid.some((draft) => draft.partnerTenantId !== partnerTenantId)) throw new Error(`appendMissing: every draft must belong to partner ${partnerTenantId}`);
    // appendAudit appends a draft only when its id is not in the partner's trail yet.
    return transaction(this.pool, async (tx) => (await appendAudit(tx, valid)).map(asRead));
  }

  async page(partnerTenantId: string, query: AuditQuery): Promise<AuditPage> {
    const conditions = ['partner_tenant_id = $1'];
    const values: unknown[] = [partnerTenantId];
    const where = (column: string, value: unknown) => {
      values.push(value);
      conditions.push(`${column} $${values.length}`);
    };
    if (query.before !== undefined) where('seq <', query.before);
    if (query.customerTenantId !== undefined) where('customer_tenant_id =', query.customerTenantId);
    if (query.objectId !== undefined) where('actor_object_id =', query.objectId);
    values.push(query.limit + 1);
    const { rows } = await this.pool.query(`SELECT ${COLUMNS} FROM audit_entries WHERE ${conditions.join(' AND ')} ORDER BY seq DESC LIMIT $${values.length}`, values);
    const entries = rows.slice(0, query.limit).map(entryFrom);
    return rows.length > query.limit ? { entries, next: entries.at(-1)?.seq } : { entries };
  }

  pageForCustomer(partnerTenantId: string, customerTenantId: string, query: Omit<AuditQuery, 'customerTenantId' | 'objectId'>): Promise<AuditPage> {
    return this.page(partnerTenantId, { before: query.before, limit: query.limit, customerTenantId });
  }

  async *entries(partnerTenantId: string): AsyncIterable<AuditEntry> {
    for await (const rows of this.batches(this.pool, partnerTenantId)) yield* rows.map(entryFrom);
  }

  /** The partner's rows oldest first, a batch at a time (keyset paging on the primary key). */
  private async *batches(db: Pool | Tx, partnerTenantId: string): AsyncGenerator<Row[]> {
    let after = 0;
    for (;;) {
      const { rows } = await db.query(`SELECT ${COLUMNS} FROM audit_entries WHERE partner_tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [partnerTenantId, after, this.batch]);
      if (rows.length === 0) return;
      yield rows;
      after = Number(rows.at(-1)!.seq);
    }
  }

  /**
   * Walks the chain from `start` batch by batch with the domain's check; `each` sees every entry that
   * fits, in order.
   */
  private async walk(db: Pool | Tx, partnerTenantId: string, start: ChainHead, each: (entry: AuditEntry) => void = () => undefined): Promise<ChainVerdict> {
    let head = start;
    let entries = 0;
    for await (const rows of this.batches(db, partnerTenantId)) {
      const batch = rows.map(readable);
      const verdict = verifyChain(partnerTenantId, batch, head);
      if (!verdict.ok) return { ok: false, entries: entries + verdict.entries, broken: { ...verdict.broken, position: entries + verdict.broken.position } };
      (batch as AuditEntry[]).forEach(each);
      entries += verdict.entries;
      head = verdict.head;
    }
    return { ok: true, entries, head };
  }

  async verify(partnerTenantId: string): Promise<AuditVerification> {
    const checkpoint = await this.checkpoint(partnerTenantId);
    const verdict = await this.walk(this.pool, partnerTenantId, checkpoint ?? EMPTY_HEAD);
    return { partnerTenantId, ...(checkpoint && { checkpoint }), verdict, torn: false };
  }

  async checkpoint(partnerTenantId: string): Promise<AuditCheckpoint | undefined> {
    return checkpointOf(this.pool, partnerTenantId);
  }

  prune(partnerTenantId: string, cutoff: Date, now: Date): Promise<number> {
    return transaction(this.pool, async (tx) => {
      // The head's row lock keeps appends out until the pruning is done.
      const { rows: heads } = await tx.query('SELECT seq FROM audit_heads WHERE partner_tenant_id = $1 FOR UPDATE', [partnerTenantId]);
      if (heads.length === 0) return 0;
      const checkpoint = await checkpointOf(tx, partnerTenantId);
      // Entries made before the cutoff at the start of the trail go; an older one behind a newer one waits (a clock set back).
      let last: AuditEntry | undefined;
      let pruned = 0;
      let leading = true;
      const verdict = await this.walk(tx, partnerTenantId, checkpoint ?? EMPTY_HEAD, (entry) => {
        leading &&= Date.parse(entry.at) < cutoff.getTime();
        if (!leading) return;
        last = entry;
        pruned++;
      });
      if (!verdict.ok) throw new Error(`The audit trail of partner ${partnerTenantId} does not verify, so nothing is pruned; run "npm run audit -- verify" to see where it breaks`);
      if (!last) return 0;
      await tx.query('DELETE FROM audit_entries WHERE partner_tenant_id = $1 AND seq <= $2', [partnerTenantId, last.seq]);
      await tx.query('UPDATE audit_heads SET checkpoint_seq = $2, checkpoint_hash = $3, checkpoint_at = $4, checkpoint_pruned_at = $5 WHERE partner_tenant_id = $1', [partnerTenantId, last.seq, last.hash, last.at, now.toISOString()]);
      // Pruning is recorded in the trail it pruned.
      await appendAudit(tx, [pruneRecord(partnerTenantId, last.seq, pruned, cutoff, now)]);
      return pruned;
    });
  }

  /**
   * Copies a partner's trail kept elsewhere (the files, by db:import) as it is: numbers, links and
   * hashes unchanged, so it verifies here as it did there. Entries this trail has already are skipped
   * (a second run); the copy must go on from this trail's end with the same entry, and every entry
   * must fit the chain, or nothing is copied. Returns how many entries were copied.
   */
  copy(partnerTenantId: string, checkpoint: AuditCheckpoint | undefined, entries: AsyncIterable<AuditEntry>): Promise<number> {
    return transaction(this.pool, async (tx) => {
      // A trail new here begins where the copied one does: at its checkpoint.
      await tx.query(
        `INSERT INTO audit_heads (partner_tenant_id, seq, hash, checkpoint_seq, checkpoint_hash, checkpoint_at, checkpoint_pruned_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT DO NOTHING`,
        [partnerTenantId, checkpoint?.seq ?? EMPTY_HEAD.seq, checkpoint?.hash ?? EMPTY_HEAD.hash, checkpoint?.seq ?? null, checkpoint?.hash ?? null, checkpoint?.at ?? null, checkpoint?.prunedAt ?? null],
      );
      const { rows } = await tx.query('SELECT seq, hash FROM audit_heads WHERE partner_tenant_id = $1 FOR UPDATE', [partnerTenantId]);
      let head: ChainHead = { seq: Number(rows[0].seq), hash: rows[0].hash };
      let copied = 0;
      for await (const entry of entries) {
        if (entry.seq < head.seq) continue;
        if (entry.seq === head.seq) {
          if (entry.hash !== head.hash) throw new Error(`The audit trail of partner ${partnerTenantId} in the database differs from the one copied at entry ${entry.seq}: nothing was copied`);
          continue;
        }
        const verdict = verifyChain(partnerTenantId, [entry], head);
        if (!verdict.ok) throw new Error(`${describeBreak(partnerTenantId, verdict.broken)} Nothing was copied.`);
        await insertEntry(tx, entry);
        head = verdict.head;
        copied++;
      }
      await tx.query('UPDATE audit_heads SET seq = $2, hash = $3 WHERE partner_tenant_id = $1', [partnerTenantId, head.seq, head.hash]);
      return copied;
    });
  }

  async partners(): Promise<string[]> {
    const { rows } = await this.pool.query<{ partner_tenant_id: string }>('SELECT partner_tenant_id FROM audit_heads WHERE seq > 0 ORDER BY partner_tenant_id');
    return rows.map((row) => row.partner_tenant_id);
  }
}

async function checkpointOf(db: Pool | Tx, partnerTenantId: string): Promise<AuditCheckpoint | undefined> {
  const { rows } = await db.query('SELECT checkpoint_seq, checkpoint_hash, checkpoint_at, checkpoint_pruned_at FROM audit_heads WHERE partner_tenant_id = $1 AND checkpoint_seq IS NOT NULL', [partnerTenantId]);
  const row = rows[0];
  return row && { partnerTenantId, seq: Number(row.checkpoint_seq), hash: row.checkpoint_hash, at: row.checkpoint_at, prunedAt: row.checkpoint_pruned_at };
}
