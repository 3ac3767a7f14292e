/**
 * The Teams activity handler: identifies the actor, remembers where to reach them, routes typed
 * commands and card actions, and answers every turn, including the ones that fail.
 */
import { ActivityHandler, CardFactory, MessageFactory, type InvokeResponse, type TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AdaptiveCard } from '../cards.js';
import { fill, messagesFor, type Messages } from '../i18n/index.js';
import type { Actor, SetupService } from '../setups/setupService.js';
import { StoreWriteError } from '../store/documentFile.js';
import { runAction } from './actions.js';
import { actorFrom } from './actor.js';
import type { Conversations } from './conversations.js';
import { parseTextCommand } from './textCommands.js';
import { entryCard, noticeCard, setupCard, welcomeCard } from './views.js';
import { randomUUID } from 'node:crypto';

const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
const InvokeEnvelope = z.object({ action: z.object({ type: z.literal('Action.Execute'), verb: z.string().max(100), data: z.unknown().optional() }) });

export interface BotDeps {
  setups: SetupService;
  conversations: Conversations;
  log: Logger;
  maxFieldLength: number;
}

/** What a turn did, for its log line. */
const OUTCOME = Symbol('outcome');

export class PartnerSetupBot extends ActivityHandler {
  constructor(private readonly deps: BotDeps) {
    super();
    this.onMessage(async (context, next) => {
      await this.answerMessage(context);
      await next();
    });
    this.onMembersAdded(async (context, next) => {
      const botAdded = context.activity.membersAdded?.some((member) => member.id === context.activity.recipient?.id);
      if (botAdded) await this.withActor(context, (actor, m) => this.sendCard(context, welcomeCard(m, actor.userId, this.deps.setups.openSetups(actor.tenantId))));
      await next();
    });
  }

  override async run(context: TurnContext): Promise<void> {
    const started = performance.now();
    try {
      await super.run(context);
    } finally {
      const { type, name } = context.activity;
      this.deps.log.info(
        { type, name, verb: (context.activity.value as { action?: { verb?: unknown } } | undefined)?.action?.verb, outcome: context.turnState.get(OUTCOME) ?? 'ok', ms: Math.round(performance.now() - started) },
        'turn',
      );
    }
  }

  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    if (context.activity.name !== 'adaptiveCard/action') return super.onInvokeActivity(context);
    const m = messagesFor(context.activity.locale);
    const card = await this.guard(context, m, async () => {
      const actor = actorFrom(context.activity);
      if (!actor) return this.refuse(context, noticeCard(m, { text: m.t.notice.teamsOnly, style: 'attention' }), 'no-tenant');
      await this.deps.conversations.remember(actor, context.activity);
      const envelope = InvokeEnvelope.safeParse(context.activity.value);
      if (!envelope.success) {
        const problem = envelope.error.issues[0]?.path.join('.') || 'value';
        return this.refuse(context, noticeCard(m, { text: fill(m.t.notice.badPayload, { problem }), style: 'attention' }, true), 'bad-envelope');
      }
      const { verb, data } = envelope.data.action;
      return runAction({ actor, m, setups: this.deps.setups, maxFieldLength: this.deps.maxFieldLength }, verb, data);
    });
    return { status: 200, body: { statusCode: 200, type: CARD_CONTENT_TYPE, value: card } };
  }

  private async answerMessage(context: TurnContext): Promise<void> {
    const m = messagesFor(context.activity.locale);
    const card = await this.guard(context, m, async () => {
      const actor = actorFrom(context.activity);
      if (!actor) return this.refuse(context, noticeCard(m, { text: m.t.notice.teamsOnly, style: 'attention' }), 'no-tenant');
      await this.deps.conversations.remember(actor, context.activity);
      const { setups } = this.deps;
      switch (parseTextCommand(context.activity.text)) {
        case 'redeem':
          return entryCard(m, randomUUID(), undefined, { values: [''] });
        case 'cancel':
          return this.cancel(actor, m);
        default:
          return welcomeCard(m, actor.userId, setups.openSetups(actor.tenantId));
      }
    });
    await this.sendCard(context, card);
  }

  /** "cancel" discards the person's latest unfinished setup, unless its keys are already reserved. */
  private async cancel(actor: Actor, m: Messages): Promise<AdaptiveCard> {
    const { setups } = this.deps;
    const latest = setups.openSetups(actor.tenantId).find((setup) => setup.ownerId === actor.userId);
    if (!latest) return noticeCard(m, { text: m.t.cancel.nothing, style: 'accent' }, true);
    if (latest.status === 'reserved') return setupCard(m, latest, { notice: { text: m.t.cancel.keptReserved, style: 'warning' }, actions: true });
    const result = await setups.discard(actor, latest.id, latest.rev);
    if ('refused' in result) return noticeCard(m, { text: m.t.notice.stale, style: 'warning' }, true);
    return noticeCard(m, { text: fill(m.t.cancel.discarded, { keys: m.count(m.t.common.keyCount, latest.keys.length) }), style: 'good' }, true);
  }

  /** Runs a turn's work; a failure becomes a plain answer, never a crash or a half-told success. */
  private async guard(context: TurnContext, m: Messages, work: () => Promise<AdaptiveCard>): Promise<AdaptiveCard> {
    try {
      return await work();
    } catch (error) {
      const notSaved = error instanceof StoreWriteError;
      context.turnState.set(OUTCOME, notSaved ? 'not-saved' : 'failed');
      this.deps.log.error({ err: error }, notSaved ? 'a change could not be saved' : 'turn failed');
      return noticeCard(m, { text: notSaved ? m.t.notice.notSaved : m.t.notice.failed, style: 'attention' }, true);
    }
  }

  private refuse(context: TurnContext, card: AdaptiveCard, outcome: string): AdaptiveCard {
    context.turnState.set(OUTCOME, outcome);
    return card;
  }

  private async withActor(context: TurnContext, work: (actor: Actor, m: Messages) => Promise<void>): Promise<void> {
    const actor = actorFrom(context.activity);
    if (!actor) return;
    await this.deps.conversations.remember(actor, context.activity);
    await work(actor, messagesFor(context.activity.locale));
  }

  private async sendCard(context: TurnContext, card: AdaptiveCard): Promise<void> {
    await context.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(card)));
  }
}
