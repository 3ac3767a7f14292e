/**
 * Appending to the audit trail inside a repository's transaction: the entry commits with the change
 * it records or not at all. The partner's head row is locked first, so appends of one partner run
 * one after the other across instances and the chain stays unbroken.
 */
import { AuditDraftSchema, AuditEntrySchema, chainEntry, EMPTY_HEAD, type AuditDraft, type AuditEntry, type ChainHead } from '../../domain/audit.js';
import type { Tx } from './database.js';

type Row = Record<string, any>;

/** An entry as it was hashed: optional fields absent, not null. */
export function entryFrom(row: Row): AuditEntry {
  return AuditEntrySchema.parse({
    id: row.id,
    at: row.at,
    partnerTenantId: row.partner_tenant_id,
    actor: { name: row.actor_name, objectId: row.actor_object_id, role: row.actor_role },
    verb: row.verb,
    ...(row.customer_tenant_id !== null && { customerTenantId: row.customer_tenant_id }),
    ...(row.subscription_id !== null && { subscriptionId: row.subscription_id }),
    keys: row.keys,
    details: row.details,
    outcome: row.outcome === 'refused' ? { result: 'refused', reason: row.reason } : { result: 'done' },
    seq: Number(row.seq),
    prev: row.prev,
    hash: row.hash,
  });
}

/** Locks the partner's chain for this transaction and returns its end. */
async function lockHead(tx: Tx, partnerTenantId: string): Promise<ChainHead> {
  await tx.query('INSERT INTO audit_heads (partner_tenant_id, seq, hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [partnerTenantId, EMPTY_HEAD.seq, EMPTY_HEAD.hash]);
  const { rows } = await tx.query('SELECT seq, hash FROM audit_heads WHERE partner_tenant_id = $1 FOR UPDATE', [partnerTenantId]);
  return { seq: Number(rows[0].seq), hash: rows[0].hash };
}

/**
 * Appends the drafts, in order, to their partners' chains in this transaction; a draft whose id is
 * already in its partner's trail is not appended again (its stored entry is returned instead).
 */
export async function appendAudit(tx: Tx, drafts: readonly AuditDraft[]): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  const heads = new Map<string, ChainHead>();
  for (const raw of drafts) {
    const draft = AuditDraftSchema.parse(raw);
    const tenant = draft.partnerTenantId;
    let head = heads.get(tenant);
    if (!head) {
      head = await lockHead(tx, tenant);
      heads.set(tenant, head);
    }
    const { rows: existing } = await tx.query('SELECT * FROM audit_entries WHERE partner_tenant_id = $1 AND id = $2', [tenant, draft.id]);
    if (existing.length > 0) {
      out.push(entryFrom(existing[0]));
      continue;
    }
    const entry = chainEntry(draft, head);
    await insertEntry(tx, entry);
    head = { seq: entry.seq, hash: entry.hash };
    heads.set(tenant, head);
    out.push(entry);
  }
  for (const [tenant, head] of heads) await tx.query('UPDATE audit_heads SET seq = $2, hash = $3 WHERE partner_tenant_id = $1', [tenant, head.seq, head.hash]);
  return out;
}

/** Inserts an entry as it is, numbered and hashed; its partner's head is the caller's to move. */
export async function insertEntry(tx: Tx, entry: AuditEntry): Promise<void> {
  await tx.query(
    `INSERT INTO audit_entries (partner_tenant_id, seq, id, at, actor_name, actor_object_id, actor_role, verb, customer_tenant_id, subscription_id, keys, details, outcome, reason, prev, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
    [
      entry.partnerTenantId,
      entry.seq,
      entry.id,
      entry.at,
      entry.actor.name,
      entry.actor.objectId,
      entry.actor.role,
      entry.verb,
      entry.customerTenantId ?? null,
      entry.subscriptionId ?? null,
      entry.keys,
      JSON.stringify(entry.details),
      entry.outcome.result,
      entry.outcome.result === 'refused' ? entry.outcome.reason : null,
      entry.prev,
      entry.hash,
    ],
  );
}
