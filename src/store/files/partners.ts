/** The partner aggregate on the files: the profile, staff and reminder channel in the partner's file. */
import type { PartnerProfile } from '../../domain/profile.js';
import type { AuditRecorder } from '../auditOutbox.js';
import type { AuditOf, Member, PartnerRepository, ReminderChannel } from '../repositories.js';
import type { Store } from '../store.js';

export class FilePartners implements PartnerRepository {
  constructor(
    private readonly store: Store,
    private readonly recorder: AuditRecorder,
  ) {}

  async profile(tenantId: string): Promise<PartnerProfile | undefined> {
    return this.store.head(tenantId).profile;
  }

  async saveProfile(tenantId: string, profile: PartnerProfile): Promise<void> {
    await this.store.partner(tenantId).update((draft) => void (draft.profile = profile));
  }

  async staff(tenantId: string): Promise<Record<string, Member>> {
    return structuredClone(this.store.head(tenantId).members);
  }

  async rememberMember(tenantId: string, userId: string, member: Member): Promise<void> {
    await this.store.partner(tenantId).update((draft) => void (draft.members[userId] = { ...member, reachable: true }));
  }

  async markMemberUnreachable(tenantId: string, userId: string): Promise<void> {
    if (!this.store.head(tenantId).members[userId]) return;
    await this.store.partner(tenantId).update((draft) => {
      const member = draft.members[userId];
      if (member) member.reachable = false;
    });
  }

  async reminderChannel(tenantId: string): Promise<ReminderChannel | undefined> {
    const channel = this.store.partner(tenantId).data.reminderChannel;
    return channel && structuredClone(channel);
  }

  async setReminderChannel(tenantId: string, channel: ReminderChannel, audit?: AuditOf<void>): Promise<void> {
    await this.recorder.change(this.store.partner(tenantId), (draft) => {
      draft.reminderChannel = channel;
      return { result: undefined, entries: [...(audit?.(undefined) ?? [])] };
    });
  }

  async markReminderChannelUnreachable(tenantId: string): Promise<void> {
    if (!this.store.partner(tenantId).data.reminderChannel) return;
    await this.store.partner(tenantId).update((draft) => {
      if (draft.reminderChannel) draft.reminderChannel.reachable = false;
    });
  }

  async timeZones(): Promise<Set<string>> {
    return new Set([...this.store.summaries()].map(([, summary]) => summary.timeZone));
  }
}
