/**
 * Every card verb, gathered from the flows that declare them, and the one entry point that runs a
 * verb from untrusted invoke data: bad data gets a plain answer and changes nothing.
 */
import type { z } from 'zod';
import type { AdaptiveCard } from '../cards.js';
import { maskKeysInText } from '../domain/productKey.js';
import { fill } from '../i18n/index.js';
import { accountVerbs } from './flows/account.js';
import { customerVerbs } from './flows/customerSide.js';
import { delegationVerbs } from './flows/delegation.js';
import { redeemVerbs } from './flows/redeem.js';
import { renewalVerbs } from './flows/renewal.js';
import type { Turn } from './flows/verb.js';
import { noticeCard } from './views.js';

/** Each verb with its zod schema and handler, as its flow declares it. */
export const verbs = { ...redeemVerbs, ...accountVerbs, ...delegationVerbs, ...customerVerbs, ...renewalVerbs };

export type Verb = keyof typeof verbs;

/** Every verb a card may send; the authorisation and fuzz tests take their lists from here. */
export const VERBS = Object.keys(verbs) as Verb[];

/** Verbs that show or take product keys, customer details or passwords: a card refreshed in a channel shows to everyone. */
const PERSONAL_ONLY = /^(redeem|setup|account|delegation|user|renew|keys|password)\./;

/** What someone in a customer's tenant may do: answer offers and end delegation. */
const CUSTOMER_VERBS: ReadonlySet<string> = new Set(Object.keys(customerVerbs));

/** Card data's text fields other than the key fields, with any pasted product key masked. */
function maskKeysOutsideKeyFields(data: unknown): unknown {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return data;
  return Object.fromEntries(Object.entries(data).map(([field, value]) => [field, typeof value === 'string' && !/^key\d*$/.test(field) ? maskKeysInText(value) : value]));
}

export async function runAction(turn: Turn, verb: string, data: unknown): Promise<AdaptiveCard> {
  const { m } = turn;
  if (!Object.hasOwn(verbs, verb)) return noticeCard(m, { text: m.t.notice.unknownVerb, style: 'attention' }, true);
  // A customer's tenant gets only the customer side, as its messages do, so a partner's card never acts there.
  if (turn.customer && !CUSTOMER_VERBS.has(verb)) return noticeCard(m, { text: m.t.notice.notFound, style: 'attention' });
  if (!turn.personal && PERSONAL_ONLY.test(verb)) return noticeCard(m, { text: m.t.notice.personalOnly, style: 'warning' });
  const def = verbs[verb as Verb] as { schema: z.ZodType; run(turn: Turn, data: unknown): Promise<AdaptiveCard> };
  const parsed = def.schema.safeParse(maskKeysOutsideKeyFields(data ?? {}));
  if (!parsed.success) {
    // Only the field's name: zod's own wording is English and would leak into the German text.
    const problem = (parsed.error.issues[0]?.path.join('.') || 'data').slice(0, 100);
    return noticeCard(m, { text: fill(m.t.notice.badPayload, { problem }), style: 'attention' }, true);
  }
  return def.run(turn, parsed.data);
}
