/**
 * Talks to the bot the way Teams does: activities POSTed to /api/messages, replies collected at the
 * serviceUrl's connector, card buttons pressed as adaptiveCard/action invokes.
 */
import { randomUUID } from 'node:crypto';
import { button, buttons, inputs, type Card } from './cardQuery.js';
import type { FakeConnector } from './connector.js';

export interface TeamsUserOptions {
  botUrl: string;
  connector: FakeConnector;
  tenantId: string;
  userId: string;
  name: string;
  locale?: string;
  /** The time zone the user's Teams client reports in its clientInfo entity; none when not set. */
  timeZone?: string;
  conversationType?: 'personal' | 'channel';
}

export interface InvokeResult {
  httpStatus: number;
  body: any;
  card: Card;
}

/** The data Teams sends for an Action.Execute button: the card's inputs overridden by `typed`, then the button's own data. */
export function pressData(card: Card, action: Record<string, any>, typed: Record<string, string> = {}): Record<string, unknown> {
  const withInputs = action.associatedInputs === 'none' ? {} : { ...inputs(card), ...typed };
  return { ...withInputs, ...action.data };
}

export class TeamsUser {
  readonly conversationId: string;

  constructor(readonly options: TeamsUserOptions) {
    this.conversationId = `a:${randomUUID()}`;
  }

  private base(type: string): Record<string, unknown> {
    const o = this.options;
    return {
      type,
      id: randomUUID(),
      channelId: 'msteams',
      serviceUrl: o.connector.url,
      timestamp: new Date().toISOString(),
      locale: o.locale ?? 'en-US',
      from: { id: `29:${o.userId}`, name: o.name, aadObjectId: o.userId },
      recipient: { id: '28:bot', name: 'Partner Setup Bot' },
      conversation: { id: this.conversationId, conversationType: o.conversationType ?? 'personal', tenantId: o.tenantId },
      channelData: { tenant: { id: o.tenantId } },
      ...(o.timeZone && { entities: [{ type: 'clientInfo', locale: o.locale ?? 'en-US', country: 'US', platform: 'Web', timezone: o.timeZone }] }),
    };
  }

  async post(activity: Record<string, unknown>): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.options.botUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(activity),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  /** Sends a message and returns the cards the bot replied with. */
  async say(text: string): Promise<Card[]> {
    const from = this.options.connector.sent.length;
    const { status } = await this.post({ ...this.base('message'), text });
    if (status !== 200) throw new Error(`message answered with HTTP ${status}`);
    return this.repliesSince(from);
  }

  /** Sends a message and returns the first card of the answer. */
  async reply(text: string): Promise<Card> {
    const [card] = await this.say(text);
    if (!card) throw new Error(`no card in answer to "${text}"`);
    return card;
  }

  /** The newest card with a button of this verb that reached this chat since `from`, sent or updated (a pushed offer, a reminder). */
  latestCardWith(verb: string, from = 0): Card {
    const card = this.repliesSince(from).findLast((c) => buttons(c).some((b) => b.verb === verb));
    if (!card) throw new Error(`no card with ${verb} reached ${this.options.name}`);
    return card;
  }

  repliesSince(from: number): Card[] {
    return this.options.connector
      .since(from, this.conversationId)
      .flatMap((sent) => (sent.activity.attachments ?? []).map((attachment: any) => attachment.content as Card));
  }

  /** Sends an Action.Execute invoke with exactly this verb and data (for forged or replayed presses). */
  async invoke(verb: string, data: unknown, extra: Record<string, unknown> = {}): Promise<InvokeResult> {
    const { status, body } = await this.post({
      ...this.base('invoke'),
      name: 'adaptiveCard/action',
      value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
      ...extra,
    });
    return { httpStatus: status, body, card: body?.value };
  }

  /** Presses a button on a card, sending the card's current inputs overridden by `typed`. */
  async press(card: Card, title: string, typed: Record<string, string> = {}, nth = 0): Promise<InvokeResult> {
    const action = button(card, title, nth);
    if (action.type !== 'Action.Execute') throw new Error(`"${title}" is a ${action.type}, not Action.Execute`);
    return this.invoke(action.verb, pressData(card, action, typed));
  }

  /**
   * The bot being added to this chat, as Teams announces it: a conversationUpdate, which carries no
   * locale, and an installationUpdate, which does, in either order.
   */
  async install(order: 'conversationUpdateFirst' | 'installationUpdateFirst' = 'conversationUpdateFirst'): Promise<Card[]> {
    const from = this.options.connector.sent.length;
    const { locale: _none, ...conversationUpdate }: Record<string, unknown> = { ...this.base('conversationUpdate'), membersAdded: [{ id: '28:bot' }] };
    const installationUpdate = { ...this.base('installationUpdate'), action: 'add' };
    for (const activity of order === 'conversationUpdateFirst' ? [conversationUpdate, installationUpdate] : [installationUpdate, conversationUpdate]) await this.post(activity);
    return this.repliesSince(from);
  }
}
