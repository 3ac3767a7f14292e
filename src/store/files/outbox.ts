/**
 * The outbox and the runner lock of the file store, for its one instance (the data folder belongs to
 * one process): messages in one document (`outbox.json`), claims with a lease as on PostgreSQL, the
 * send rate and the runner lock counted in memory, since no other process shares them.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { ConversationRefSchema } from '../documents.js';
import { DocumentFile } from '../documentFile.js';
import type { ClaimedMessage, OutboxRepository, OutboxState, OutgoingMessage, RunnerLock } from '../repositories.js';
import { copyOf } from '../copy.js';

const MessageSchema = z.object({
  uniqueKey: z.string().min(1),
  tenantId: z.string(),
  // Dropped once the message is sent or failed: only its state is kept then, so the file stays small.
  conversation: ConversationRefSchema.optional(),
  activity: z.record(z.string(), z.unknown()).optional(),
  attempts: z.number().int().nonnegative(),
  nextAttemptAt: z.number(),
  lockedBy: z.string().optional(),
  lockedUntil: z.number().optional(),
  sentAt: z.iso.datetime().optional(),
  activityId: z.string().optional(),
  failedAt: z.iso.datetime().optional(),
  lastError: z.string().optional(),
});
type Message = z.infer<typeof MessageSchema>;

const OutboxDocSchema = z.object({ schemaVersion: z.literal(1), nextId: z.number().int().positive(), messages: z.record(z.string(), MessageSchema) });
type OutboxDoc = z.infer<typeof OutboxDocSchema>;

export class FileOutbox implements OutboxRepository {
  private readonly slots = new Map<string, { windowStart: number; used: number }>();
  /** Message ids by unique key, so that enqueuing and looking up one does not walk them all. */
  private readonly byKey = new Map<string, string>();

  private constructor(
    private readonly doc: DocumentFile<OutboxDoc>,
    private readonly clock: () => number,
  ) {
    for (const [id, m] of Object.entries(doc.data.messages)) this.byKey.set(m.uniqueKey, id);
  }

  static async open(dataDir: string, clock: () => number = Date.now): Promise<FileOutbox> {
    const doc = await DocumentFile.open(join(dataDir, 'outbox.json'), OutboxDocSchema, () => ({ schemaVersion: 1 as const, nextId: 1, messages: {} }));
    return new FileOutbox(doc, clock);
  }

  enqueue(message: OutgoingMessage): Promise<boolean> {
    return this.doc.update((draft) => {
      if (this.byKey.has(message.uniqueKey)) return false;
      const id = String(draft.nextId++);
      draft.messages[id] = { ...copyOf(message), attempts: 0, nextAttemptAt: this.clock() };
      this.byKey.set(message.uniqueKey, id);
      return true;
    }).catch((error: unknown) => {
      // Not written: the key is free again.
      if (!this.doc.data.messages[this.byKey.get(message.uniqueKey) ?? '']) this.byKey.delete(message.uniqueKey);
      throw error;
    });
  }

  async claimKey(uniqueKey: string, workerId: string, leaseMs: number): Promise<ClaimedMessage | undefined> {
    const id = this.byKey.get(uniqueKey);
    if (id === undefined) return undefined;
    const claimable = (m: Message | undefined, now: number): m is Message => m !== undefined && !m.sentAt && !m.failedAt && (m.lockedUntil === undefined || m.lockedUntil <= now);
    if (!claimable(this.doc.data.messages[id], this.clock())) return undefined;
    return this.doc.update((draft, current) => {
      const now = this.clock();
      const m = current.messages[id];
      if (!claimable(m, now)) return undefined;
      const attempts = m.attempts + 1;
      Object.assign(draft.messages[id]!, { lockedBy: workerId, lockedUntil: now + leaseMs, attempts });
      return { id, uniqueKey, tenantId: m.tenantId, conversation: copyOf(m.conversation!), activity: copyOf(m.activity!), attempts };
    });
  }

  async state(uniqueKey: string): Promise<OutboxState | undefined> {
    const m = this.doc.data.messages[this.byKey.get(uniqueKey) ?? ''];
    if (!m) return undefined;
    if (m.sentAt) return { state: 'sent', ...(m.activityId !== undefined && { activityId: m.activityId }) };
    if (m.failedAt) return { state: 'failed', error: m.lastError ?? '' };
    const heldForMs = (m.lockedUntil ?? 0) - this.clock();
    return { state: 'pending', ...(heldForMs > 0 && { heldForMs }) };
  }

  async prune(finishedBefore: Date): Promise<number> {
    const cutoff = finishedBefore.toISOString();
    const done = (m: Message) => (m.sentAt ?? m.failedAt ?? '\uffff') < cutoff;
    if (!Object.values(this.doc.data.messages).some(done)) return 0;
    const keys = await this.doc.update((draft, current) => {
      const ids = Object.keys(current.messages).filter((id) => done(current.messages[id]!));
      for (const id of ids) delete draft.messages[id];
      return ids.map((id) => current.messages[id]!.uniqueKey);
    });
    // Only once written: a key forgotten before would let its message be queued twice.
    for (const key of keys) this.byKey.delete(key);
    return keys.length;
  }

  claim(workerId: string, limit: number, leaseMs: number): Promise<ClaimedMessage[]> {
    return this.doc.update((draft, current) => {
      const now = this.clock();
      const ready = Object.entries(current.messages)
        // A lease of 0 ends at once: the message may be claimed again in the same millisecond.
        .filter(([, m]) => !m.sentAt && !m.failedAt && m.nextAttemptAt <= now && (m.lockedUntil === undefined || m.lockedUntil <= now))
        .sort(([a, x], [b, y]) => x.nextAttemptAt - y.nextAttemptAt || Number(a) - Number(b))
        .slice(0, limit);
      return ready.map(([id, m]) => {
        const attempts = m.attempts + 1;
        Object.assign(draft.messages[id]!, { lockedBy: workerId, lockedUntil: now + leaseMs, attempts });
        return { id, uniqueKey: m.uniqueKey, tenantId: m.tenantId, conversation: copyOf(m.conversation!), activity: copyOf(m.activity!), attempts };
      });
    });
  }

  markSent(id: string, workerId: string, activityId?: string): Promise<boolean> {
    return this.change(id, workerId, (m) => Object.assign(m, { sentAt: new Date(this.clock()).toISOString(), activityId, lastError: undefined, conversation: undefined, activity: undefined }));
  }

  async retryLater(id: string, workerId: string, delayMs: number, error: string): Promise<void> {
    await this.change(id, workerId, (m) => Object.assign(m, { nextAttemptAt: this.clock() + delayMs, lastError: error }));
  }

  async fail(id: string, workerId: string, error: string): Promise<void> {
    await this.change(id, workerId, (m) => Object.assign(m, { failedAt: new Date(this.clock()).toISOString(), lastError: error, conversation: undefined, activity: undefined }));
  }

  async takeSendSlot(tenantId: string, perSecond: number, at: Date): Promise<number> {
    const windowStart = Math.floor(at.getTime() / 1000) * 1000;
    const slot = this.slots.get(tenantId);
    if (!slot || slot.windowStart !== windowStart) {
      this.slots.set(tenantId, { windowStart, used: 1 });
      return 0;
    }
    if (slot.used >= perSecond) return windowStart + 1000 - at.getTime();
    slot.used++;
    return 0;
  }

  /** Changes a message this worker still holds (not sent, not failed); false when it does not. */
  private change(id: string, workerId: string, change: (message: Message) => void): Promise<boolean> {
    const holds = (m: Message | undefined) => m !== undefined && m.lockedBy === workerId && !m.sentAt && !m.failedAt;
    if (!holds(this.doc.data.messages[id])) return Promise.resolve(false);
    return this.doc.update((draft) => {
      const m = draft.messages[id];
      if (!holds(m)) return false;
      change(m!);
      // Undefined fields are left out, as the schema's optional fields are.
      for (const key of Object.keys(m!) as Array<keyof Message>) if (m![key] === undefined) delete m![key];
      delete m!.lockedBy;
      delete m!.lockedUntil;
      return true;
    });
  }
}

/** One run of each job at a time in this process: the file store's one instance. */
export class LocalRunnerLock implements RunnerLock {
  private readonly running = new Set<string>();

  async runExclusive<T>(name: string, work: () => Promise<T>): Promise<{ ran: true; result: T } | { ran: false }> {
    if (this.running.has(name)) return { ran: false };
    this.running.add(name);
    try {
      return { ran: true, result: await work() };
    } finally {
      this.running.delete(name);
    }
  }
}
