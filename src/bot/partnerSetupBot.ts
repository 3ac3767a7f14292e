/**
 * The Teams activity handler: identifies the actor, remembers where to reach them, routes typed
 * commands and card actions, and answers every turn, including the ones that fail.
 */
import { randomUUID } from 'node:crypto';
import { ActivityHandler, ActivityTypes, CardFactory, MessageFactory, TeamsInfo, type InvokeResponse, type TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AdaptiveCard } from '../cards.js';
import { fill, messagesFor, type Messages } from '../i18n/index.js';
import type { CustomerLink, DelegationService } from '../delegation/delegationService.js';
import { delegationState } from '../domain/delegation.js';
import type { LifecycleDays } from '../domain/lifecycle.js';
import { maskKeysInText } from '../domain/productKey.js';
import type { PartnerService } from '../partners/partnerService.js';
import type { ReminderService } from '../reminders/reminderService.js';
import type { RenewalService } from '../renewals/renewalService.js';
import type { AccountService } from '../setups/accountService.js';
import type { Actor, SetupService } from '../setups/setupService.js';
import { StoreWriteError } from '../store/documentFile.js';
import { runAction, VERBS, welcomeFor, type ActionTurn } from './actions.js';
import { customerCard, customersCard, profileCard } from './accountViews.js';
import { actorFrom } from './actor.js';
import { channelReference, personalReference, type Conversations } from './conversations.js';
import { accessEndCard, offerCard } from './delegationViews.js';
import { remindersCard } from './renewalViews.js';
import type { TeamsOfferChannel } from './offerChannel.js';
import { parseTextCommand } from './textCommands.js';
import { entryCard, noticeCard, setupCard } from './views.js';

const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
const InvokeEnvelope = z.object({ action: z.object({ type: z.literal('Action.Execute'), verb: z.string().max(100), data: z.unknown().optional() }) });

export interface BotDeps {
  setups: SetupService;
  accounts: AccountService;
  partners: PartnerService;
  delegation: DelegationService;
  offers: TeamsOfferChannel;
  reminders: ReminderService;
  renewals: RenewalService;
  lifecycle: LifecycleDays;
  conversations: Conversations;
  log: Logger;
  now: () => Date;
  maxFieldLength: number;
}

/** What the turn log may name as received; anything else is someone's text (a pasted key, say). */
const ACTIVITY_TYPES: ReadonlySet<unknown> = new Set(Object.values(ActivityTypes));
const INVOKE_NAMES: ReadonlySet<unknown> = new Set(['adaptiveCard/action']);
const VERB_NAMES: ReadonlySet<unknown> = new Set(VERBS);

/** A received value for the log: itself when known, else only its kind and length. */
function known(value: unknown, names: ReadonlySet<unknown>): string | undefined {
  if (value === undefined || names.has(value)) return value as string | undefined;
  return typeof value === 'string' ? `unknown (${value.length} characters)` : `unknown (${typeof value})`;
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
      const card = await this.answer(context, async (turn) => {
        // Someone in a customer's tenant: the customer side (offers and ending delegation).
        return turn.customer ? this.answerCustomer(context, turn, turn.customer) : this.answerText(turn, context.activity.text);
      });
      if (card) await this.sendCard(context, card);
      await next();
    });
    this.onMembersAdded(async (context, next) => {
      const botAdded = context.activity.membersAdded?.some((member) => member.id === context.activity.recipient?.id);
      if (botAdded) {
        const card = await this.answer(context, async (turn) => {
          return turn.customer ? this.answerCustomer(context, turn, turn.customer) : welcomeFor(turn);
        });
        if (card) await this.sendCard(context, card);
      }
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
        { type: known(type, ACTIVITY_TYPES), name: known(name, INVOKE_NAMES), verb: known(verb, VERB_NAMES), outcome: context.turnState.get(OUTCOME) ?? 'ok', ms: Math.round(performance.now() - started) },
        'turn',
      );
    }
  }

  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    // The manifest declares no other invokes (task modules, message extensions); say so plainly.
    if (context.activity.name !== 'adaptiveCard/action') return { status: 400, body: { code: 'NotSupported', message: 'This bot answers only Adaptive Card actions.' } };
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

  /**
   * The customer's admin: shows offers not seen yet (each as its own card, so it can be answered and
   * updated in place) or handles "remove partner access". Anyone else in the tenant is turned away.
   */
  private async answerCustomer(context: TurnContext, turn: ActionTurn, link: CustomerLink): Promise<AdaptiveCard | undefined> {
    const { m, delegation, partners } = turn;
    const partner = partners.organisationName(link.partnerTenantId);
    if (!(await delegation.isAdmin(turn.actor, link, turn.signInName))) {
      return noticeCard(m, { text: fill(m.t.offer.notAdmin, { upn: link.customer.admin.userPrincipalName }), style: 'attention' });
    }
    if (turn.reference) await delegation.rememberAdmin(link, turn.reference);
    const current = delegation.link(link.customer.tenantId) ?? link;
    if (parseTextCommand(context.activity.text)?.command === 'removeAccess') {
      return accessEndCard(m, partner, delegationState(current.customer.offers).state === 'active');
    }
    const unseen = delegation.unseenOffers(current);
    const pending = delegationState(current.customer.offers);
    const toShow = unseen.length > 0 ? unseen : pending.state === 'pending' ? [pending.offer] : [];
    await this.sendCard(context, noticeCard(m, { text: `${fill(m.t.offer.welcome, { partner, domain: current.customer.domain })}${toShow.length === 0 ? `\n\n${m.t.offer.noOffers}` : ''}`, style: 'accent' }));
    for (const offer of toShow) {
      const sent = await context.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(offerCard(m, partner, current.customer, offer))));
      if (turn.reference) await delegation.markShown(current, offer.id, turn.reference, sent?.id);
    }
    return undefined;
  }

  private async answerText(turn: ActionTurn, text: string | undefined): Promise<AdaptiveCard> {
    const { actor, m, partners } = turn;
    // No text command takes a product key: one pasted into a name or filter is masked before it is shown back.
    const command = parseTextCommand(text === undefined ? undefined : maskKeysInText(text));
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
        return customersCard(m, partners.customers(actor.tenantId, command.filter), command.filter, 1, turn.day);
      case 'customer':
      case 'delegate':
      case 'addUser': {
        const matches = partners.customers(actor.tenantId, command.name);
        if (matches.length !== 1) return customersCard(m, matches, command.name, 1, turn.day);
        const customer = matches[0]!;
        if (command.command === 'customer') return customerCard(m, customer, turn.day);
        // The same as the customer card's buttons, which check the rest.
        return runAction(turn, command.command === 'delegate' ? 'delegation.compose' : 'user.compose', { customerId: customer.tenantId });
      }
      case 'removeAccess':
        return noticeCard(m, { text: m.t.offer.notYours, style: 'accent' }, true);
      case 'reminders':
        return remindersCard(m, turn.reminders.upcoming(actor.tenantId));
      case 'remindersHere': {
        const conversation = turn.channel;
        if (turn.personal || !conversation) return remindersCard(m, turn.reminders.upcoming(actor.tenantId));
        await turn.reminders.setChannel(actor, conversation);
        return noticeCard(m, { text: m.t.reminders.channelSet, style: 'good' });
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
  private async answer<T extends AdaptiveCard | undefined>(context: TurnContext, work: (turn: ActionTurn) => Promise<T>): Promise<T | AdaptiveCard> {
    const m = messagesFor(localeOf(context));
    try {
      const actor = actorFrom(context.activity);
      if (!actor) {
        context.turnState.set(OUTCOME, 'no-tenant');
        return noticeCard(m, { text: m.t.notice.teamsOnly, style: 'attention' });
      }
      // Staff of a partner are remembered as staff; a customer's admin is remembered with the customer.
      const customer = this.deps.delegation.link(actor.tenantId);
      if (!customer) await this.deps.conversations.remember(actor, context.activity, localeOf(context));
      const { setups, accounts, partners, delegation, reminders, renewals, lifecycle, now, maxFieldLength } = this.deps;
      const type = context.activity.conversation?.conversationType;
      return await work({
        actor,
        m,
        setups,
        accounts,
        partners,
        delegation,
        reminders,
        renewals,
        now,
        day: { today: renewals.today(actor.tenantId), lifecycle },
        maxFieldLength,
        personal: !type || type === 'personal',
        customer,
        reference: personalReference(context.activity),
        channel: channelReference(context.activity),
        signInName: async () => (await TeamsInfo.getMember(context, context.activity.from.id)).userPrincipalName,
      });
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
