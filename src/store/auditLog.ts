/**
 * The audit trail's repository: append-only, one hash chain per partner. The file implementation is
 * auditFile.ts; a PostgreSQL one implements the same interface.
 */
import { AuditDraftSchema, type AuditCheckpoint, type AuditDraft, type AuditEntry, type ChainVerdict } from '../domain/audit.js';

export interface AuditQuery {
  /** Only entries about this customer tenant. */
  customerTenantId?: string;
  /** Only entries of this person (Entra object id). */
  objectId?: string;
  /** Only entries older than this sequence number: the `next` of the page before. */
  before?: number;
  limit: number;
}

/** Entries newest first; `next`, when there are older ones, is the `before` of the next page. */
export interface AuditPage {
  entries: AuditEntry[];
  next?: number;
}

export interface AuditVerification {
  partnerTenantId: string;
  /** Where the trail begins after pruning. */
  checkpoint?: AuditCheckpoint;
  verdict: ChainVerdict;
  /** The trail ends in a line a crash cut short: an entry never acknowledged, so not part of the trail. */
  torn: boolean;
}

export interface AuditLog {
  /** Appends the entry to its partner's chain and returns it with its sequence number and hashes. */
  append(draft: AuditDraft): Promise<AuditEntry>;
  /**
   * Appends those drafts (all of one partner) whose id is not in the partner's trail yet, in order:
   * recording a change again after a crash adds nothing twice. Returns every draft's entry.
   */
  appendMissing(partnerTenantId: string, drafts: readonly AuditDraft[]): Promise<AuditEntry[]>;
  /** A page of a partner's trail, newest first, filtered by customer and person. */
  page(partnerTenantId: string, query: AuditQuery): Promise<AuditPage>;
  /** What the partner did in one customer tenant and nothing else: for that customer's admin. */
  pageForCustomer(partnerTenantId: string, customerTenantId: string, query: Omit<AuditQuery, 'customerTenantId' | 'objectId'>): Promise<AuditPage>;
  /** A partner's entries oldest first, for an export. */
  entries(partnerTenantId: string): AsyncIterable<AuditEntry>;
  /** Walks the partner's chain from its checkpoint and names the first entry that does not fit. */
  verify(partnerTenantId: string): Promise<AuditVerification>;
  /**
   * Drops the entries made before `cutoff` at the start of the trail, keeping a checkpoint so the
   * rest still verifies; refuses (throws) on a trail that does not verify, which must be kept as
   * evidence. Returns how many entries went.
   */
  prune(partnerTenantId: string, cutoff: Date, now: Date): Promise<number>;
  checkpoint(partnerTenantId: string): Promise<AuditCheckpoint | undefined>;
  /** The partners that have a trail. */
  partners(): Promise<string[]>;
}

/** The entry that records a pruning, in the trail it pruned: through which entry, how many, before when. */
export function pruneRecord(partnerTenantId: string, throughSeq: number, pruned: number, cutoff: Date, now: Date): AuditDraft {
  return AuditDraftSchema.parse({
    id: `audit.prune:${throughSeq}`,
    at: now.toISOString(),
    partnerTenantId,
    actor: { name: 'Retention', objectId: 'system:retention', role: 'system' },
    verb: 'audit.prune',
    details: { through: String(throughSeq), entries: String(pruned), before: cutoff.toISOString() },
    outcome: { result: 'done' },
  });
}
