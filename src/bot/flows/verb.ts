/**
 * What every flow's verbs share: the turn they run in, how a verb is declared (its zod schema and
 * its handler), and the answers several flows give.
 */
import { z } from 'zod';
import type { AdaptiveCard } from '../../cards.js';
import type { Actor } from '../../domain/actor.js';
import type { ConversationRef } from '../../domain/conversation.js';
import type { CustomerLink, Refusal } from '../../domain/outcomes.js';
import type { Access, Permission, Requester, RoleBook } from '../../domain/roles.js';
import type { Messages } from '../../i18n/index.js';
import type { Today } from '../notice.js';
import type { Services } from '../ports.js';
import { noticeCard, refusalCard, type SetupContext } from '../views.js';

/** One turn of one person, with every service; each flow's handlers declare the services they use. */
export interface Turn extends Services {
  actor: Actor;
  m: Messages;
  /** The customer record behind the actor's tenant, when the actor writes from a customer's tenant. */
  customer?: CustomerLink;
  /** This chat, when it is a personal one: where answers to an offer sent from here are reported. */
  reference?: ConversationRef;
  /** This chat, when it is a team channel: where "send reminders here" points. */
  channel?: ConversationRef;
  /** The actor's sign-in name from Teams member info, asked only when needed. */
  signInName: () => Promise<string | undefined>;
  /** The partner's calendar day and the life-cycle day counts, for subscription states. */
  day: Today;
  /** A one-to-one chat; keys and customer details are only ever shown there. */
  personal: boolean;
  /** Longest text kept from one key field when the card comes back. */
  maxFieldLength: number;
  /** Who asks, for the permission check: the partner's staff with their role, or a customer's admin. */
  requester: Requester;
  /** The partner's role book (empty in a customer's tenant). */
  roles: RoleBook;
}

/** A turn with only the services a flow says it needs. */
export type TurnWith<K extends keyof Services> = Omit<Turn, keyof Services> & Pick<Services, K>;

export interface Verb<S extends z.ZodType, K extends keyof Services> {
  schema: S;
  run(turn: TurnWith<K>, data: z.infer<S>): Promise<AdaptiveCard>;
}

/** Declares the verbs of a flow that needs the services `K`. */
export function verbsOf<K extends keyof Services>() {
  return <S extends z.ZodType>(schema: S, run: Verb<S, K>['run']): Verb<S, K> => ({ schema, run });
}

/**
 * Who may run each of a flow's verbs, and what it does (for the README's table): one declaration per
 * verb, and the compiler sees to it that none of the flow's verbs lacks one.
 */
export function permissionsOf<V extends object>(declared: { [K in keyof V & string]: [access: Access, does: string] }): Permission[] {
  return (Object.entries(declared) as Array<[string, [Access, string]]>).map(([verb, [access, does]]) => ({ verb, access, does }));
}

/** A typed form field: text of bounded length; anything else is treated as not typed. */
export const typed = z.string().max(2000).optional().catch(undefined);

export const customerId = z.string().min(1).max(100);

/** A record the actor cannot see, their own or another partner's, answered alike. */
export function notFound(m: Messages): AdaptiveCard {
  return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' }, true);
}

/** What a card about a setup needs besides the setup. */
export async function setupContext({ actor, partners, day }: TurnWith<'partners'>): Promise<SetupContext> {
  return { profile: await partners.profile(actor.tenantId), customers: await partners.customers(actor.tenantId), day };
}

/** Why an action on a setup was not applied, on top of the state it met. */
export async function refused(turn: TurnWith<'partners'>, refusal: Refusal): Promise<AdaptiveCard> {
  return refusalCard(turn.m, refusal, await setupContext(turn));
}

export function isRefusal(result: object): result is Refusal {
  return 'refused' in result;
}
