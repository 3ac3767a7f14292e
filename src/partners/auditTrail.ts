/**
 * The audit trail as the services use it: entries made from the acting person, written in the same
 * write as the change they record (the document's outbox), refusals appended as they are, the
 * outboxes a crash left emptied at start, and old entries pruned by the sweep.
 */
import type { Logger } from 'pino';
import type { Actor } from '../domain/actor.js';
import { auditDraft, retentionCutoff, type AuditActor, type AuditDraft, type AuditDraftInput } from '../domain/audit.js';
import { roleOf } from '../domain/roles.js';
import type { AuditLog, AuditPage, AuditQuery } from '../store/auditLog.js';
import { AuditRecorder, type Recorded } from '../store/auditOutbox.js';
import type { PartnerDoc, SetupBook } from '../store/documents.js';
import type { Store } from '../store/store.js';

/** What a use case says about its change; the trail adds when, who and where. */
export type AuditFacts = Omit<AuditDraftInput, 'at' | 'actor' | 'partnerTenantId'>;

/** The bot's own jobs (the release sweep, scheduled switches) act as the system. */
export const SYSTEM: Actor = { tenantId: '', userId: 'partner-setup-bot', name: 'Partner Setup Bot' };

export class AuditTrail {
  constructor(
    private readonly store: Store,
    private readonly log: AuditLog,
    private readonly now: () => Date,
    private readonly retentionDays: number,
    private readonly logger: Logger,
    /** Shared with the file repositories, which record their changes through it too. */
    private readonly recorder = new AuditRecorder(log),
  ) {}

  /** Who acted, with the role they held: a customer's admin in their tenant, the system for jobs. */
  actorOf(partnerTenantId: string, actor: Actor): AuditActor {
    if (actor === SYSTEM) return { name: actor.name, objectId: actor.userId, role: 'system' };
    if (actor.tenantId !== partnerTenantId) return { name: actor.name, objectId: actor.userId, role: 'customerAdmin' };
    return { name: actor.name, objectId: actor.userId, role: roleOf(this.store.head(partnerTenantId).roles ?? {}, actor.userId) ?? 'none' };
  }

  draft(partnerTenantId: string, actor: Actor, facts: AuditFacts): AuditDraft {
    return auditDraft({ ...facts, at: this.now(), partnerTenantId, actor: this.actorOf(partnerTenantId, actor) });
  }

  /** Changes the partner's file and records the change in the same write. */
  async inPartner<R>(tenantId: string, change: (doc: PartnerDoc, current: Readonly<PartnerDoc>) => Recorded<R>): Promise<R> {
    return (await this.recorder.change(this.store.partner(tenantId), change)).result;
  }

  /** Changes the partner's setup book and records the change in the same write. */
  async inSetupBook<R>(tenantId: string, change: (book: SetupBook, current: Readonly<SetupBook>) => Recorded<R>): Promise<R> {
    return (await this.recorder.change(this.store.setupBook(tenantId), change)).result;
  }

  /** A refusal changes nothing: its entry goes straight to the trail. */
  async refused(partnerTenantId: string, actor: Actor, facts: Omit<AuditFacts, 'outcome'>, reason: string): Promise<void> {
    await this.recorder.refusal(this.draft(partnerTenantId, actor, { ...facts, outcome: { result: 'refused', reason } }));
  }

  /** At start, before any turn: appends what a crash left in outboxes and is not in the trail yet. */
  async recover(): Promise<number> {
    let count = 0;
    for (const doc of this.store.partnersWith('auditOutbox')) count += (await this.recorder.recover(doc)).length;
    for (const book of this.store.setupBooks()) if (book.data.auditOutbox.length > 0) count += (await this.recorder.recover(book)).length;
    return count;
  }

  /** Retention: each partner's entries older than the retention go, behind a checkpoint. */
  async prune(): Promise<number> {
    const now = this.now();
    let pruned = 0;
    for (const partner of await this.log.partners()) {
      try {
        pruned += await this.log.prune(partner, retentionCutoff(now, this.retentionDays), now);
      } catch (error) {
        // A trail that does not verify is kept whole as evidence; the others are still pruned.
        this.logger.error({ err: error, partnerTenantId: partner }, 'audit trail not pruned');
      }
    }
    return pruned;
  }

  page(partnerTenantId: string, query: AuditQuery): Promise<AuditPage> {
    return this.log.page(partnerTenantId, query);
  }

  pageForCustomer(partnerTenantId: string, customerTenantId: string, query: Omit<AuditQuery, 'customerTenantId' | 'objectId'>): Promise<AuditPage> {
    return this.log.pageForCustomer(partnerTenantId, customerTenantId, query);
  }
}
