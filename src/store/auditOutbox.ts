/**
 * A change and its audit entry, together on the file store: the entry is queued in an outbox inside
 * the changed document and written with the change (one atomic rename), then appended to the trail.
 * A crash between the two leaves the entry in the outbox, and `recover` at the next start appends
 * it, once: a change never stays without its entry, and an entry is only appended after its change
 * is on disk. Entries already appended leave the outbox with the document's next change.
 */
import { z } from 'zod';
import { AuditDraftSchema, type AuditDraft, type AuditEntry } from '../domain/audit.js';
import type { AuditLog } from './auditLog.js';
import { detached, type Doc } from './documentFile.js';

/** The field a recorded document carries (default empty, so documents written before it still load). */
export const AuditOutboxSchema = z.array(AuditDraftSchema).default([]);

export interface WithAuditOutbox {
  auditOutbox: AuditDraft[];
}

/** What a recorded change returns: its result, and the entry that records it (none when nothing changed). */
export interface Recorded<R> {
  result: R;
  entry?: AuditDraft;
  /** Several entries of one change (an upgrade giving several people a role), in order. */
  entries?: AuditDraft[];
}

const keyOf = (entry: Pick<AuditDraft, 'partnerTenantId' | 'id'>) => `${entry.partnerTenantId}\u0000${entry.id}`;

export class AuditRecorder {
  /** Entries in the trail that may still sit in a document's outbox. */
  private readonly appended = new Set<string>();

  constructor(private readonly log: AuditLog) {}

  /** Applies `change` to the document and records it; resolves once both are on disk. */
  async change<T extends WithAuditOutbox, R>(doc: Doc<T>, change: (draft: T, current: Readonly<T>) => Recorded<R>): Promise<{ result: R; entry?: AuditEntry }> {
    const { result, drafts } = await doc.update((draft, current) => {
      draft.auditOutbox = draft.auditOutbox.filter((queued) => !this.appended.has(keyOf(queued)));
      const recorded = change(draft, current);
      const drafts = [...(recorded.entry ? [recorded.entry] : []), ...(recorded.entries ?? [])].map((entry) => AuditDraftSchema.parse(entry));
      draft.auditOutbox.push(...drafts);
      // The result may be part of the draft, revoked once the change is done: a plain copy goes out.
      return { result: detached(recorded.result) as R, drafts };
    });
    const stored: AuditEntry[] = [];
    for (const entry of drafts) {
      // Written with the change: if this append fails, the entry stays in the outbox for `recover`.
      stored.push(await this.log.append(entry));
      this.appended.add(keyOf(entry));
    }
    return stored.length > 0 ? { result, entry: stored[0] } : { result };
  }

  /** A refusal changes nothing: its entry goes straight to the trail. */
  async refusal(entry: AuditDraft): Promise<AuditEntry> {
    return this.log.append(AuditDraftSchema.parse(entry));
  }

  /**
   * At start, before any change: appends what a crash left in the document's outbox and is not in
   * the trail yet. Writes nothing to the document; its next change empties the outbox.
   */
  async recover<T extends WithAuditOutbox>(doc: Doc<T>): Promise<AuditEntry[]> {
    const byPartner = new Map<string, AuditDraft[]>();
    for (const entry of doc.data.auditOutbox) byPartner.set(entry.partnerTenantId, [...(byPartner.get(entry.partnerTenantId) ?? []), entry]);
    const out: AuditEntry[] = [];
    for (const [partnerTenantId, drafts] of byPartner) {
      out.push(...(await this.log.appendMissing(partnerTenantId, drafts)));
      drafts.forEach((draft) => this.appended.add(keyOf(draft)));
    }
    return out;
  }
}
