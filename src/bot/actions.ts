/**
 * Card actions: each verb is declared once, with the zod schema of its data and its handler.
 * A handler applies the action to persisted state and returns the card that shows the result.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AdaptiveCard } from '../cards.js';
import { fill, type Messages } from '../i18n/index.js';
import type { Actor, Refusal, SetupService } from '../setups/setupService.js';
import { currentCard, entryCard, MAX_FIELDS, noticeCard, refusalCard, reviewCard, setupCard, welcomeCard } from './views.js';

export interface ActionTurn {
  actor: Actor;
  m: Messages;
  setups: SetupService;
  /** Longest text kept from one key field when the card comes back. */
  maxFieldLength: number;
}

interface ActionDef<S extends z.ZodType> {
  schema: S;
  run(turn: ActionTurn, data: z.infer<S>): Promise<AdaptiveCard>;
}

function action<S extends z.ZodType>(schema: S, run: ActionDef<S>['run']): ActionDef<S> {
  return { schema, run };
}

const setupId = z.uuid();
const rev = z.number().int().nonnegative();
const onSetup = z.object({ setupId, rev });
/** Key fields arrive as inputs named key0, key1, … merged into the action's data. */
const keyFields = onSetup.extend({ fieldCount: z.number().int().min(1).max(MAX_FIELDS) }).catchall(z.unknown());

function typedFields(data: z.infer<typeof keyFields>, maxLength: number): string[] {
  return Array.from({ length: data.fieldCount }, (_, index) => {
    const value = data[`key${index}`];
    return typeof value === 'string' ? value.slice(0, maxLength * 2) : '';
  });
}

function isRefusal(result: object): result is Refusal {
  return 'refused' in result;
}

export const actions = {
  'welcome.show': action(z.object({}), async ({ actor, m, setups }) => welcomeCard(m, actor.userId, setups.openSetups(actor.tenantId))),

  'redeem.start': action(z.object({}), async ({ m }) => entryCard(m, randomUUID(), undefined, { values: [''] })),

  'redeem.addField': action(keyFields, async ({ actor, m, setups, maxFieldLength }, data) => {
    const values = typedFields(data, maxFieldLength).map((value) => value.slice(0, maxFieldLength));
    const full = values.length >= MAX_FIELDS;
    const notice = full ? { text: fill(m.t.entry.fieldsFull, { max: MAX_FIELDS }), style: 'warning' as const } : undefined;
    return entryCard(m, data.setupId, setups.find(actor.tenantId, data.setupId), { values: full ? values : [...values, ''] }, notice);
  }),

  'redeem.next': action(keyFields, async ({ actor, m, setups, maxFieldLength }, data) => {
    const values = typedFields(data, maxFieldLength);
    const result = await setups.checkAndAdd(actor, data.setupId, data.rev, values);
    if (isRefusal(result)) return refusalCard(m, result);
    if (result.ok) return reviewCard(m, result.setup);
    const kept = { values: values.map((value) => value.slice(0, maxFieldLength)) };
    if ('locked' in result) {
      return entryCard(m, data.setupId, setups.find(actor.tenantId, data.setupId), kept, { text: fill(m.t.entry.locked, { time: m.dateTime(result.locked) }), style: 'attention' });
    }
    return entryCard(m, data.setupId, result.setup, { ...kept, errors: result.fieldErrors }, { text: m.t.entry.fix, style: 'attention' });
  }),

  'redeem.removeKey': action(onSetup.extend({ keyId: z.uuid() }), async ({ actor, m, setups }, data) => {
    const result = await setups.removeKey(actor, data.setupId, data.rev, data.keyId);
    return isRefusal(result) ? refusalCard(m, result) : currentCard(m, result.setup);
  }),

  'redeem.back': action(onSetup, async ({ actor, m, setups }, data) => {
    const result = await setups.backToEntry(actor, data.setupId, data.rev);
    return isRefusal(result) ? refusalCard(m, result) : currentCard(m, result.setup);
  }),

  'redeem.confirm': action(onSetup, async ({ actor, m, setups }, data) => {
    const result = await setups.confirm(actor, data.setupId, data.rev);
    if (isRefusal(result)) return refusalCard(m, result);
    if (result.ok) return setupCard(m, result.setup, { actions: false });
    return currentCard(m, result.setup, { text: fill(m.t.review.taken, { keys: result.taken.join(', ') }), style: 'attention' });
  }),

  'setup.open': action(z.object({ setupId }), async ({ actor, m, setups }, data) => {
    const refusal = setups.refusalFor(actor, data.setupId, undefined, () => true);
    if (refusal) return refusalCard(m, refusal);
    return currentCard(m, setups.find(actor.tenantId, data.setupId)!);
  }),

  'setup.discard': action(onSetup, async ({ actor, m, setups }, data) => {
    const result = await setups.discard(actor, data.setupId, data.rev);
    if (isRefusal(result)) return refusalCard(m, result);
    if (!result.setup) return noticeCard(m, { text: m.t.entry.cancelled, style: 'good' }, true);
    return setupCard(m, result.setup, { actions: false });
  }),
} satisfies Record<string, ActionDef<z.ZodType>>;

export type Verb = keyof typeof actions;

/** Runs a card action from untrusted invoke data; bad data gets a plain answer and changes nothing. */
export async function runAction(turn: ActionTurn, verb: string, data: unknown): Promise<AdaptiveCard> {
  const { m } = turn;
  if (!Object.hasOwn(actions, verb)) return noticeCard(m, { text: m.t.notice.unknownVerb, style: 'attention' }, true);
  const def = actions[verb as Verb] as ActionDef<z.ZodType>;
  const parsed = def.schema.safeParse(data ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const problem = `${issue?.path.join('.') || 'data'}: ${issue?.message ?? 'invalid'}`.slice(0, 200);
    return noticeCard(m, { text: fill(m.t.notice.badPayload, { problem }), style: 'attention' }, true);
  }
  return def.run(turn, parsed.data);
}
