/**
 * The audit trail as the services use it: entries made from the acting person (with the role they
 * hold, from the partner repository), refusals appended as they are, old entries pruned by the
 * sweep, and the pages chat shows. A change's own entries are written by the repository that makes
 * the change, in the same transaction (see AuditOf in repositories.ts).
 */
import type { Logger } from 'pino';
import type { Actor } from '../domain/actor.js';
import { auditDraft, retentionCutoff, type AuditActor, type AuditDraft, type AuditDraftInput } from '../domain/audit.js';
import { roleOf, type RoleBook } from '../domain/roles.js';
import type { AuditLog, AuditPage, AuditQuery } from '../store/auditLog.js';
import type { PartnerRepository } from '../store/repositories.js';

/** What a use case says about its change; the trail adds when, who and where. */
export type AuditFacts = Omit<AuditDraftInput, 'at' | 'actor' | 'partnerTenantId'>;

/** The bot's own jobs (the release sweep, scheduled switches) act as the system. */
export const SYSTEM: Actor = { tenantId: '', userId: 'partner-setup-bot', name: 'Partner Setup Bot' };

/** Who acted, with the role they held in `book`: a customer's admin in their tenant, the system for jobs. */
function auditActor(partnerTenantId: string, actor: Actor, book: Readonly<RoleBook> | undefined): AuditActor {
  if (actor === SYSTEM) return { name: actor.name, objectId: actor.userId, role: 'system' };
  if (actor.tenantId !== partnerTenantId) return { name: actor.name, objectId: actor.userId, role: 'customerAdmin' };
  return { name: actor.name, objectId: actor.userId, role: roleOf(book ?? {}, actor.userId) ?? 'none' };
}

export class AuditTrail {
  constructor(
    private readonly partners: Pick<PartnerRepository, 'roles'>,
    private readonly log: AuditLog,
    private readonly now: () => Date,
    private readonly retentionDays: number,
    private readonly logger: Logger,
  ) {}

  /** Who acted, with the role they hold now: settle it before a transaction, whose callbacks stay pure. */
  async actorOf(partnerTenantId: string, actor: Actor): Promise<AuditActor> {
    if (actor === SYSTEM || actor.tenantId !== partnerTenantId) return auditActor(partnerTenantId, actor, undefined);
    return auditActor(partnerTenantId, actor, await this.partners.roles(partnerTenantId));
  }

  /** An entry of a change, at the time asked; `actor` is the person as `actorOf` gave them. */
  draft(partnerTenantId: string, actor: AuditActor, facts: AuditFacts, at = this.now()): AuditDraft {
    return auditDraft({ ...facts, at, partnerTenantId, actor });
  }

  /** A refusal changes nothing: its entry goes straight to the trail. */
  async refused(partnerTenantId: string, actor: Actor, facts: Omit<AuditFacts, 'outcome'>, reason: string): Promise<void> {
    await this.log.append(this.draft(partnerTenantId, await this.actorOf(partnerTenantId, actor), { ...facts, outcome: { result: 'refused', reason } }));
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
