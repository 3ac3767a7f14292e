/**
 * Every card verb, gathered from the flows that declare them, and the one entry point that runs a
 * verb from untrusted invoke data: bad data gets a plain answer and changes nothing.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { AdaptiveCard } from '../cards.js';
import { maskKeysInText } from '../domain/productKey.js';
import { check, permissionTable, refusalData, type Permission } from '../domain/roles.js';
import { fill } from '../i18n/index.js';
import { refusalText } from './auditViews.js';
import { accountPermissions, accountVerbs } from './flows/account.js';
import { customerPermissions, customerVerbs } from './flows/customerSide.js';
import { delegationPermissions, delegationVerbs } from './flows/delegation.js';
import { redeemPermissions, redeemVerbs } from './flows/redeem.js';
import { renewalPermissions, renewalVerbs } from './flows/renewal.js';
import { rolePermissions, roleVerbs } from './flows/roles.js';
import type { Turn } from './flows/verb.js';
import { textPermissions } from './textCommands.js';
import { noticeCard } from './views.js';

/** Each verb with its zod schema and handler, as its flow declares it. */
export const verbs = { ...redeemVerbs, ...accountVerbs, ...delegationVerbs, ...customerVerbs, ...renewalVerbs, ...roleVerbs };

/** Who may do what: every card verb's declaration, then the typed commands'. The README's table is rendered from it. */
export const PERMISSIONS: readonly Permission[] = [...redeemPermissions, ...accountPermissions, ...delegationPermissions, ...renewalPermissions, ...rolePermissions, ...customerPermissions, ...textPermissions];
const TABLE = permissionTable(PERMISSIONS);

export type Verb = keyof typeof verbs;

/** Every verb a card may send; the authorisation and fuzz tests take their lists from here. */
export const VERBS = Object.keys(verbs) as Verb[];

/** Verbs that show or take product keys, customer details or passwords: a card refreshed in a channel shows to everyone. */
const PERSONAL_ONLY = /^(redeem|setup|account|delegation|user|renew|keys|password)\./;

/** What someone in a customer's tenant may do: answer offers, end delegation, see the partner's activity. */
const CUSTOMER_VERBS: ReadonlySet<string> = new Set(PERMISSIONS.filter((permission) => permission.access.kind === 'customerAdmin').map((permission) => permission.verb));

/**
 * The permission check, before any handler runs: undefined when the turn's person may run `verb`,
 * otherwise the answer, naming the role needed and who holds it.
 */
export function refusalOf(turn: Turn, verb: string): AdaptiveCard | undefined {
  const verdict = check(TABLE, verb, turn.requester);
  if (verdict.allowed) return undefined;
  const { m } = turn;
  // Partner staff pressing a customer's button: answered as before roles, as not theirs.
  if (verdict.needed === 'customerAdmin') return noticeCard(m, { text: m.t.offer.notYours, style: 'attention' });
  return noticeCard(m, { text: refusalText(m, refusalData(verb, verdict.needed, turn.roles)), style: 'attention' }, true);
}

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
  const refusal = refusalOf(turn, verb);
  if (refusal) {
    // A forged or stale press the role does not allow: refused, changing nothing, and recorded.
    if (turn.requester.side === 'partner') await turn.audit.refused(turn.actor.tenantId, turn.actor, { id: `refused:${randomUUID()}`, verb }, 'role');
    return refusal;
  }
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
