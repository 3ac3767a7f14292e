/**
 * The outbox and the runner lock of the file store, for its one instance (the data folder belongs to
 * one process): messages in one document (`outbox.json`), claims with a lease as on PostgreSQL, the
 * send rate and the runner lock counted in memory, since no other process shares them.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { ConversationRefSchema } from '../documents.js';
import { DocumentFile } from '../documentFile.js';
import type { ClaimedMessage, OutboxRepository, OutgoingMessage, RunnerLock } from '../repositories.js';

const MessageSchema = z.object({
  uniqueKey: z.string().min(1),
  tenantId: z.string(),
  conversation: ConversationRefSchema,
  activity: z.record(z.string(), z.unknown()),
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

  private constructor(
    private readonly doc: DocumentFile<OutboxDoc>,
    private readonly clock: () => number,
  ) {}

  static async open(dataDir: string, clock: () => number = Date.now): Promise<FileOutbox> {
    const doc = await DocumentFile.open(join(dataDir, 'outbox.json'), OutboxDocSchema, () => ({ schemaVersion: 1 as const, nextId: 1, messages: {} }));
    return new FileOutbox(doc, clock);
  }

  enqueue(message: OutgoingMessage): Promise<boolean> {
    return this.doc.update((draft, current) => {
      if (Object.values(current.messages).some((m) => m.uniqueKey === message.uniqueKey)) return false;
      draft.messages[String(draft.nextId++)] = { ...structuredClone(message), attempts: 0, nextAttemptAt: this.clock() };
      return true;
    });
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
        return { id, uniqueKey: m.uniqueKey, tenantId: m.tenantId, conversation: structuredClone(m.conversation), activity: structuredClone(m.activity), attempts };
      });
    });
  }

  markSent(id: string, workerId: string, activityId?: string): Promise<boolean> {
    return this.change(id, workerId, (m) => Object.assign(m, { sentAt: new Date(this.clock()).toISOString(), activityId, lastError: undefined }));
  }

  async retryLater(id: string, workerId: string, delayMs: number, error: string): Promise<void> {
    await this.change(id, workerId, (m) => Object.assign(m, { nextAttemptAt: this.clock() + delayMs, lastError: error }));
  }

  async fail(id: string, workerId: string, error: string): Promise<void> {
    await this.change(id, workerId, (m) => Object.assign(m, { failedAt: new Date(this.clock()).toISOString(), lastError: error }));
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
