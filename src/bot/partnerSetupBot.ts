/**
 * The Teams activity handler: identifies the actor, remembers where to reach them, routes typed
 * commands and card actions, and answers every turn, including the ones that fail.
 */
import { ActivityHandler, ActivityTypes, CardFactory, MessageFactory, TeamsInfo, type InvokeResponse, type TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AdaptiveCard } from '../cards.js';
import type { LifecycleDays } from '../domain/lifecycle.js';
import { timeZoneOf } from '../domain/profile.js';
import { canonicalTimeZone, isTimeZone } from '../domain/timeZones.js';
import { maskKeysInText } from '../domain/productKey.js';
import { fill, messagesFor } from '../i18n/index.js';
import { holdersOf, roleOf, type Requester } from '../domain/roles.js';
import { refusalOf, runAction, VERBS } from './actions.js';
import { customersCard, CUSTOMERS_PAGE_SIZE } from './accountViews.js';
import { customerShown } from './flows/roles.js';
import { actorFrom } from './actor.js';
import { channelReference, personalReference, type Conversations } from './conversations.js';
import { profileShown } from './flows/account.js';
import { answerCustomer } from './flows/customerSide.js';
import { cancelLatest, startRedeem, welcomeFor } from './flows/redeem.js';
import type { Turn } from './flows/verb.js';
import type { Services } from './ports.js';
import { remindersCard } from './renewalViews.js';
import { parseTextCommand, verbOfCommand } from './textCommands.js';
import { noticeCard } from './views.js';

const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
const InvokeEnvelope = z.object({ action: z.object({ type: z.literal('Action.Execute'), verb: z.string().max(100), data: z.unknown().optional() }) });

export interface BotDeps extends Services {
  lifecycle: LifecycleDays;
  /** Whether an error means a change could not be saved (the store's own error type). */
  isNotSaved: (error: unknown) => boolean;
  conversations: Conversations;
  log: Logger;
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

const ClientInfo = z.object({ type: z.literal('clientInfo'), timezone: z.string().max(64).refine(isTimeZone) });

/** The time zone the person's Teams client reports (its `clientInfo` entity), if it is a real one. */
function clientTimeZone(context: TurnContext): string | undefined {
  const entities = Array.isArray(context.activity.entities) ? context.activity.entities : [];
  for (const entity of entities.slice(0, 20)) {
    const info = ClientInfo.safeParse(entity);
    if (info.success) return canonicalTimeZone(info.data.timezone);
  }
  return undefined;
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
          if (turn.customer) return this.answerCustomer(context, turn, turn.customer);
          return turn.personal ? this.welcomeOnInstall(context, turn) : welcomeFor(turn);
        });
        if (card) await this.sendCard(context, card);
      }
      await next();
    });
    // Teams' conversationUpdate of an install carries no locale; its installationUpdate does.
    this.onInstallationUpdateAdd(async (context, next) => {
      const card = await this.answer(context, async (turn) => (!turn.customer && turn.personal ? this.welcomeOnInstall(context, turn) : undefined));
      if (card) await this.sendCard(context, card);
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
   * Welcomes a staff member in their personal chat once per install, in their language: Teams sends
   * an install's conversationUpdate (without a locale) and its installationUpdate (with one) in
   * either order, so the later of the two puts right the language of the welcome the first one sent.
   */
  private async welcomeOnInstall(context: TurnContext, turn: Turn): Promise<undefined> {
    const { actor, m, partners } = turn;
    const conversationId = String(context.activity.conversation?.id ?? '');
    const sent = await partners.recentWelcome(actor, conversationId);
    if (sent?.language === m.language) return undefined;
    const message = MessageFactory.attachment(CardFactory.adaptiveCard(await welcomeFor(turn)));
    let activityId = sent?.activityId;
    if (activityId) await context.updateActivity({ ...message, id: activityId });
    else activityId = (await context.sendActivity(message))?.id;
    await partners.rememberWelcome(actor, { conversationId, activityId, language: m.language });
    return undefined;
  }

  private answerCustomer(context: TurnContext, turn: Turn, link: NonNullable<Turn['customer']>): Promise<AdaptiveCard | undefined> {
    if (parseTextCommand(context.activity.text)?.command === 'partnerActivity') return runAction(turn, 'activity.show', {});
    return answerCustomer(turn, link, context.activity.text, async (card) => (await context.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(card))))?.id);
  }

  private async answerText(turn: Turn, text: string | undefined): Promise<AdaptiveCard> {
    const { actor, m, partners } = turn;
    // No text command takes a product key: one pasted into a name or filter is masked before it is shown back.
    const command = parseTextCommand(text === undefined ? undefined : maskKeysInText(text));
    const refusal = refusalOf(turn, verbOfCommand(command));
    if (refusal) return refusal;
    if (!turn.personal && (command?.command === 'redeem' || command?.command === 'cancel')) return noticeCard(m, { text: m.t.notice.personalOnly, style: 'warning' });
    switch (command?.command) {
      case 'redeem':
        return startRedeem(m);
      case 'cancel':
        return cancelLatest(turn);
      case 'profile':
        return profileShown(turn);
      case 'customers':
        return customersCard(m, await partners.customerPage(actor.tenantId, command.filter, 1, CUSTOMERS_PAGE_SIZE), command.filter, turn.day);
      case 'customer':
      case 'delegate':
      case 'addUser':
      case 'addKeys': {
        const matches = await partners.customerPage(actor.tenantId, command.name, 1, CUSTOMERS_PAGE_SIZE);
        if (matches.total !== 1) return customersCard(m, matches, command.name, turn.day);
        const customer = matches.shown[0]!;
        if (command.command === 'customer') return customerShown(turn, customer);
        // The same as the customer card's buttons, which check the rest.
        const verb = command.command === 'delegate' ? 'delegation.compose' : command.command === 'addUser' ? 'user.compose' : 'keys.compose';
        return runAction(turn, verb, { customerId: customer.tenantId });
      }
      case 'removeAccess':
        return noticeCard(m, { text: m.t.offer.notYours, style: 'accent' }, true);
      case 'reminders':
        return this.remindersOverview(turn);
      case 'roles':
        return runAction(turn, 'roles.show', {});
      case 'history':
        return runAction(turn, 'history.show', { customer: command.customer });
      case 'partnerActivity':
        return runAction(turn, 'activity.show', {});
      case 'remindersHere': {
        const conversation = turn.channel;
        if (turn.personal || !conversation) return this.remindersOverview(turn);
        await turn.reminders.setChannel(actor, conversation);
        return noticeCard(m, { text: m.t.reminders.channelSet, style: 'good' });
      }
      default:
        return welcomeFor(turn);
    }
  }

  /** The renewals overview as it first opens: the next 60 days, the page with the soonest. */
  private async remindersOverview({ actor, m, reminders }: Turn): Promise<AdaptiveCard> {
    return remindersCard(m, await reminders.upcoming(actor.tenantId, 60), { range: '60', page: 1 });
  }

  /**
   * Runs a turn's work for an identified actor; a failure becomes a plain answer, never a crash
   * or a half-told success.
   */
  private async answer<T extends AdaptiveCard | undefined>(context: TurnContext, work: (turn: Turn) => Promise<T>): Promise<T | AdaptiveCard> {
    let m = messagesFor(localeOf(context));
    try {
      const actor = actorFrom(context.activity);
      if (!actor) {
        context.turnState.set(OUTCOME, 'no-tenant');
        return noticeCard(m, { text: m.t.notice.teamsOnly, style: 'attention' });
      }
      // Staff of a partner are remembered as staff; a customer's admin is remembered with the customer.
      const { setups, accounts, partners, delegation, reminders, renewals, audit, lifecycle, maxFieldLength } = this.deps;
      // The member as stored before this turn (read first: on PostgreSQL the role book comes with it,
      // and whether the tenant is a customer's). Remembering below keeps what the client does not say
      // now, so the language and zone are the same.
      const known = await partners.member(actor.tenantId, actor.userId);
      const customer = await delegation.link(actor.tenantId);
      const member = customer ? undefined : known;
      // Roles before remembering: a partner that predates roles upgrades the staff it knew, not a newcomer.
      const roles = customer ? {} : await partners.ensureRoles(actor.tenantId);
      const client = { locale: localeOf(context), timeZone: clientTimeZone(context) };
      // Made once per turn: it is remembered and handed to the turn's work.
      const reference = personalReference(context.activity);
      if (!customer) await this.deps.conversations.remember(actor, reference, client);
      // What the client says now, else what it said before, else the partner profile's zone.
      const timeZone = client.timeZone ?? member?.timeZone ?? timeZoneOf(await partners.profile(customer?.partnerTenantId ?? actor.tenantId));
      m = messagesFor(client.locale ?? member?.locale, timeZone);
      const requester: Requester = customer ? { side: 'customer' } : { side: 'partner', role: roleOf(roles, actor.userId), tenantHasAdmin: holdersOf(roles, 'admin').length > 0 };
      const type = context.activity.conversation?.conversationType;
      return await work({
        actor,
        // The customer's side speaks the language chosen for the customer's account, as the cards pushed to it do.
        m: customer ? messagesFor(customer.customer.language) : m,
        setups,
        accounts,
        partners,
        delegation,
        reminders,
        renewals,
        audit,
        requester,
        roles,
        day: { today: await renewals.today(actor.tenantId), lifecycle },
        maxFieldLength,
        personal: !type || type === 'personal',
        customer,
        reference,
        channel: channelReference(context.activity),
        signInName: async () => (await TeamsInfo.getMember(context, context.activity.from.id)).userPrincipalName,
      });
    } catch (error) {
      const notSaved = this.deps.isNotSaved(error);
      context.turnState.set(OUTCOME, notSaved ? 'not-saved' : 'failed');
      this.deps.log.error({ err: error }, notSaved ? 'a change could not be saved' : 'turn failed');
      return noticeCard(m, { text: notSaved ? m.t.notice.notSaved : m.t.notice.failed, style: 'attention' }, true);
    }
  }

  private async sendCard(context: TurnContext, card: AdaptiveCard): Promise<void> {
    await context.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(card)));
  }
}
