/**
 * Polite, durable proactive delivery through the outbox (OutboxRepository): a message is queued under
 * its unique key before it is sent, claimed with a lease, and marked sent once the connector took it,
 * so a retry (after a crash, or on another instance) finds it sent instead of sending it again; the
 * claim of a sender that died runs out and the message is taken over. Teams' per-tenant rate is
 * counted across every instance (takeSendSlot); a 429 is retried after its Retry-After, 412/5xx with
 * backoff, and 403/404 end the message as unreachable so the caller can try another chat.
 */
import { randomUUID } from 'node:crypto';
import type { ConversationRef, Delivery } from '../domain/conversation.js';
import type { OutboxRepository, OutboxState, OutgoingMessage } from '../store/repositories.js';

/** `later`: not sent yet (Teams kept failing, or another sender holds it); it stays queued for the next run. */
export type SendOutcome = 'sent' | 'unreachable' | 'later';

export interface QueueOptions {
  /** Sends per second and tenant, across all instances. */
  sendsPerSecond: number;
  /** Attempts within one send; a message not sent by then waits for the next run. */
  maxAttempts: number;
  /** First backoff after a 412 or 5xx; doubled each time. */
  retryBaseMs: number;
  /** How long a claim keeps other senders off a message: longer than one send can take. */
  leaseMs: number;
}

const RETRYABLE = new Set([412, 429, 500, 502, 503, 504]);
const UNREACHABLE = 'unreachable';
/** How often a sender waiting for another's claim looks whether it was sent meanwhile. */
const HOLDER_POLL_MS = 500;

export class DeliveryQueue {
  /** This process's name in the outbox's claims. */
  private readonly workerId = `sender-${randomUUID()}`;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly deliver: (conversation: ConversationRef, activity: Record<string, unknown>) => Promise<Delivery>,
    private readonly options: QueueOptions,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Queues the message (once per unique key) and sends it unless it was sent before. */
  async send(message: OutgoingMessage): Promise<SendOutcome> {
    await this.outbox.enqueue(message);
    let waitedMs = 0;
    for (let attempt = 1; attempt <= this.options.maxAttempts; ) {
      const claimed = await this.outbox.claimKey(message.uniqueKey, this.workerId, this.options.leaseMs);
      if (!claimed) {
        const state = await this.outbox.state(message.uniqueKey);
        // Another sender holds it: one sending it now, or one that died mid-send (its claim runs out
        // within a lease). Waiting for either here, instead of leaving it to the next sweep, is what
        // lets the instance that takes a dead one's run over finish it.
        if (state?.state !== 'pending' || waitedMs >= this.options.leaseMs) return outcomeOf(state);
        const wait = Math.min((state.heldForMs ?? 0) + 10, HOLDER_POLL_MS, this.options.leaseMs - waitedMs);
        await this.sleep(wait);
        waitedMs += wait;
        continue;
      }
      await this.pace(claimed.tenantId);
      const result = await this.deliver(claimed.conversation, claimed.activity);
      if (result.ok) {
        // False only when the claim ran out meanwhile: Teams has the message all the same.
        await this.outbox.markSent(claimed.id, this.workerId, result.activityId);
        return 'sent';
      }
      if (result.unreachable) {
        await this.outbox.fail(claimed.id, this.workerId, UNREACHABLE);
        return 'unreachable';
      }
      const retryable = result.status === undefined || RETRYABLE.has(result.status);
      const backoff = result.status === 429 && result.retryAfterMs !== undefined ? result.retryAfterMs : this.options.retryBaseMs * 2 ** (attempt - 1);
      await this.outbox.retryLater(claimed.id, this.workerId, backoff, `status ${result.status ?? 'none'}`);
      if (!retryable) return 'later';
      if (++attempt <= this.options.maxAttempts) await this.sleep(backoff);
    }
    return 'later';
  }

  /** Waits for one of the tenant's sends of a second, counted by every instance. */
  private async pace(tenantId: string): Promise<void> {
    for (let wait = await this.take(tenantId); wait > 0; wait = await this.take(tenantId)) await this.sleep(wait);
  }

  private take(tenantId: string): Promise<number> {
    return this.outbox.takeSendSlot(tenantId, this.options.sendsPerSecond, new Date());
  }
}

/** What became of a message another sender took care of. */
function outcomeOf(state: OutboxState | undefined): SendOutcome {
  if (state?.state === 'sent') return 'sent';
  if (state?.state === 'failed' && state.error === UNREACHABLE) return 'unreachable';
  return 'later';
}
