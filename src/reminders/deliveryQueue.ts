/**
 * Polite proactive delivery: one send at a time at a configured rate (Teams limits bots per
 * conversation and per tenant), 429 retried after its Retry-After, 412/5xx with backoff, and
 * 403/404 reported as unreachable so the caller can try another chat.
 */
import type { ConversationRef, Delivery, OutgoingMessage } from '../domain/conversation.js';

export type SendOutcome = 'sent' | 'unreachable' | 'failed';

export interface QueueOptions {
  sendsPerSecond: number;
  maxAttempts: number;
  /** First backoff after a 412 or 5xx; doubled each time. */
  retryBaseMs: number;
}

const RETRYABLE = new Set([412, 429, 500, 502, 503, 504]);

export class DeliveryQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private lastSendAt = 0;

  constructor(
    private readonly deliver: (conversation: ConversationRef, message: OutgoingMessage) => Promise<Delivery>,
    private readonly options: QueueOptions,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  send(conversation: ConversationRef, message: OutgoingMessage): Promise<SendOutcome> {
    const run = this.tail.then(() => this.sendWithRetries(conversation, message));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async sendWithRetries(conversation: ConversationRef, message: OutgoingMessage): Promise<SendOutcome> {
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      await this.pace();
      const result = await this.deliver(conversation, message);
      if (result.ok) return 'sent';
      if (result.unreachable) return 'unreachable';
      if (result.status !== undefined && !RETRYABLE.has(result.status)) return 'failed';
      if (attempt < this.options.maxAttempts) {
        const backoff = this.options.retryBaseMs * 2 ** (attempt - 1);
        await this.sleep(result.status === 429 && result.retryAfterMs !== undefined ? result.retryAfterMs : backoff);
      }
    }
    return 'failed';
  }

  private async pace(): Promise<void> {
    const gap = 1000 / this.options.sendsPerSecond;
    const wait = this.lastSendAt + gap - Date.now();
    if (wait > 0) await this.sleep(wait);
    this.lastSendAt = Date.now();
  }
}
