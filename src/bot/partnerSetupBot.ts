/**
 * The Teams activity handler: identifies the actor, remembers where to reach them, routes typed
 * commands and card actions, and answers every turn, including the ones that fail.
 */
import { randomUUID } from 'node:crypto';
import { ActivityHandler, CardFactory, MessageFactory, type InvokeResponse, type TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AdaptiveCard } from '../cards.js';
import { fill, messagesFor, type Messages } from '../i18n/index.js';
import type { PartnerService } from '../partners/partnerService.js';
import type { AccountService } from '../setups/accountService.js';
import type { Actor, SetupService } from '../setups/setupService.js';
import { StoreWriteError } from '../store/documentFile.js';
import { runAction, welcomeFor, type ActionTurn } from './actions.js';
import { customerCard, customersCard, profileCard } from './accountViews.js';
import { actorFrom } from './actor.js';
import type { Conversations } from './conversations.js';
import { parseTextCommand } from './textCommands.js';
import { entryCard, noticeCard, setupCard } from './views.js';

const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
const InvokeEnvelope = z.object({ action: z.object({ type: z.literal('Action.Execute'), verb: z.string().max(100), data: z.unknown().optional() }) });

export interface BotDeps {
  setups: SetupService;
  accounts: AccountService;
  partners: PartnerService;
  conversations: Conversations;
  log: Logger;
  now: () => Date;
  maxFieldLength: number;
}

/** What a turn did, for its log line. */
const OUTCOME = Symbol('outcome');

function localeOf(context: TurnContext): string | undefined {
  const { locale } = context.activity;
  return typeof locale === 'string' && locale.length <= 20 ? locale : undefined;
}

export class PartnerSetupBot extends ActivityHandler {
  constructor(private readonly deps: BotDeps) {
    super();
    this.onMessage(async (context, next) => {
      await this.sendCard(context, await this.answer(context, (turn) => this.answerText(turn, context.activity.text)));
      await next();
    });
    this.onMembersAdded(async (context, next) => {
      const botAdded = context.activity.membersAdded?.some((member) => member.id === context.activity.recipient?.id);
      if (botAdded) await this.sendCard(context, await this.answer(context, async (turn) => welcomeFor(turn)));
      await next();
    });
  }

  override async run(context: TurnContext): Promise<void> {
    const started = performance.now();
    try {
      await super.run(context);
    } finally {
      const { type, name } = context.activity;
      const verb = (context.activity.value as { action?: { verb?: unknown } } | undefined)?.action?.verb;
      this.deps.log.info(
        { type, name, verb: typeof verb === 'string' ? verb.slice(0, 100) : undefined, outcome: context.turnState.get(OUTCOME) ?? 'ok', ms: Math.round(performance.now() - started) },
        'turn',
      );
    }
  }

  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    if (context.activity.name !== 'adaptiveCard/action') return super.onInvokeActivity(context);
    const card = await this.answer(context, (turn) => {
      const envelope = InvokeEnvelope.safeParse(context.activity.value);
      if (!envelope.success) {
        const problem = envelope.error.issues[0]?.path.join('.') || 'value';
        context.turnState.set(OUTCOME, 'bad-envelope');
        return Promise.resolve(noticeCard(turn.m, { text: fill(turn.m.t.notice.badPayload, { problem }), style: 'attention' }, true));
      }
      const { verb, data } = envelope.data.action;
      return runAction(turn, verb, data);
    });
    return { status: 200, body: { statusCode: 200, type: CARD_CONTENT_TYPE, value: card } };
  }

  private async answerText(turn: ActionTurn, text: string | undefined): Promise<AdaptiveCard> {
    const { actor, m, partners } = turn;
    const command = parseTextCommand(text);
    if (!turn.personal && (command?.command === 'redeem' || command?.command === 'cancel')) return noticeCard(m, { text: m.t.notice.personalOnly, style: 'warning' });
    switch (command?.command) {
      case 'redeem':
        return entryCard(m, randomUUID(), undefined, { values: [''] });
      case 'cancel':
        return this.cancel(actor, m);
      case 'profile': {
        const profile = partners.profile(actor.tenantId);
        return profileCard(m, profile, { updatedByName: profile && partners.memberName(actor.tenantId, profile.updatedBy) });
      }
      case 'customers':
        return customersCard(m, partners.customers(actor.tenantId, command.filter), command.filter, 1);
      case 'customer': {
        const matches = partners.customers(actor.tenantId, command.name);
        return matches.length === 1 ? customerCard(m, matches[0]!) : customersCard(m, matches, command.name, 1);
      }
      default:
        return welcomeFor(turn);
    }
  }

  /** "cancel" discards the person's latest unfinished setup, unless its keys are already reserved. */
  private async cancel(actor: Actor, m: Messages): Promise<AdaptiveCard> {
    const { setups } = this.deps;
    const latest = setups.openSetups(actor.tenantId).find((setup) => setup.ownerId === actor.userId);
    if (!latest) return noticeCard(m, { text: m.t.cancel.nothing, style: 'accent' }, true);
    if (latest.status === 'reserved' || latest.status === 'creating') {
      return setupCard(m, latest, { notice: { text: m.t.cancel.keptReserved, style: 'warning' }, actions: latest.status === 'reserved' });
    }
    const result = await setups.discard(actor, latest.id, latest.rev);
    if ('refused' in result) return noticeCard(m, { text: m.t.cancel.nothing, style: 'accent' }, true);
    return noticeCard(m, { text: fill(m.t.cancel.discarded, { keys: m.count(m.t.common.keyCount, latest.keys.length) }), style: 'good' }, true);
  }

  /**
   * Runs a turn's work for an identified actor; a failure becomes a plain answer, never a crash
   * or a half-told success.
   */
  private async answer(context: TurnContext, work: (turn: ActionTurn) => Promise<AdaptiveCard>): Promise<AdaptiveCard> {
    const m = messagesFor(localeOf(context));
    try {
      const actor = actorFrom(context.activity);
      if (!actor) {
        context.turnState.set(OUTCOME, 'no-tenant');
        return noticeCard(m, { text: m.t.notice.teamsOnly, style: 'attention' });
      }
      await this.deps.conversations.remember(actor, context.activity, localeOf(context));
      const { setups, accounts, partners, now, maxFieldLength } = this.deps;
      const type = context.activity.conversation?.conversationType;
      return await work({ actor, m, setups, accounts, partners, now, maxFieldLength, personal: !type || type === 'personal' });
    } catch (error) {
      const notSaved = error instanceof StoreWriteError;
      context.turnState.set(OUTCOME, notSaved ? 'not-saved' : 'failed');
      this.deps.log.error({ err: error }, notSaved ? 'a change could not be saved' : 'turn failed');
      return noticeCard(m, { text: notSaved ? m.t.notice.notSaved : m.t.notice.failed, style: 'attention' }, true);
    }
  }

  private async sendCard(context: TurnContext, card: AdaptiveCard): Promise<void> {
    await context.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(card)));
  }
}
