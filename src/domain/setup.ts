/**
 * A partner's setup for one customer: the keys it redeems and how far it got.
 * Pure rules over persisted state; the bot loads a setup, applies one of these, saves it.
 */
import { z } from 'zod';
import { AccountSchema, type Account } from './account.js';

export const SetupKeySchema = z.object({
  id: z.uuid(),
  /** Keyed hash of the full key; the key itself is never stored. */
  ref: z.string().regex(/^[0-9a-f]{64}$/),
  /** The commerce backend's opaque reference for redeeming the key later. */
  handle: z.string().min(1).max(200),
  lastGroup: z.string().regex(/^[A-Z0-9]{5}$/),
  product: z.string().min(1),
  seats: z.number().int().positive(),
  termMonths: z.number().int().positive(),
});
export type SetupKey = z.infer<typeof SetupKeySchema>;

/**
 * Keys entered for a customer who already exists: to renew one of its subscriptions, or to add seats
 * and subscriptions. Such a setup skips the account step: confirming it reserves the keys and applies them.
 */
export const SetupTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('renew'), customerId: z.string().min(1).max(100), subscriptionId: z.string().min(1).max(100) }),
  z.object({ kind: z.literal('add'), customerId: z.string().min(1).max(100) }),
]);
export type SetupTarget = z.infer<typeof SetupTargetSchema>;

export const SETUP_STATUSES = ['entering', 'reviewing', 'reserving', 'reserved', 'creating', 'completed', 'discarded', 'released'] as const;
export type SetupStatus = (typeof SETUP_STATUSES)[number];

export const SetupSchema = z.object({
  id: z.uuid(),
  ownerId: z.string().min(1),
  ownerName: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  /** Bumped on every change; a card carries the revision it shows, so a stale press is recognised. */
  rev: z.number().int().nonnegative(),
  status: z.enum(SETUP_STATUSES),
  keys: z.array(SetupKeySchema),
  reservedUntil: z.iso.datetime().optional(),
  closedAt: z.iso.datetime().optional(),
  /** Set when a reservation ran out, until the owner has been told. */
  releaseNotice: z.enum(['pending', 'sent']).optional(),
  /** Step 2: the customer's account as entered and checked, before it is created. */
  account: AccountSchema.optional(),
  /** The customer tenant created from this setup, or the existing one its keys were applied to. */
  customerId: z.string().optional(),
  target: SetupTargetSchema.optional(),
});
export type Setup = z.infer<typeof SetupSchema>;

/** Statuses in which a setup still holds or gathers keys and shows up as unfinished work. */
export function isOpen(setup: Setup): boolean {
  return setup.status === 'entering' || setup.status === 'reviewing' || setup.status === 'reserved' || setup.status === 'creating';
}

/** Statuses from which a setup may be discarded: not while its account is being created. */
export function isDiscardable(setup: Setup): boolean {
  return setup.status === 'entering' || setup.status === 'reviewing' || setup.status === 'reserved';
}

/** Statuses in which the setup's keys are held in the reservation index. */
export function holdsKeys(setup: Setup): boolean {
  return setup.status === 'reserved' || setup.status === 'creating';
}

/** Statuses in which keys may be added, removed or confirmed. */
export function isEditable(setup: Setup): boolean {
  return setup.status === 'entering' || setup.status === 'reviewing';
}

/** What a card may ask of a setup; each is allowed only in some states (the services enforce it, the views ask it). */
export type SetupStep = 'open' | 'editKeys' | 'review' | 'discard' | 'account' | 'create' | 'apply';

const STEPS: Record<SetupStep, (setup: Setup) => boolean> = {
  open: () => true,
  /** Add keys, remove one. */
  editKeys: isEditable,
  /** Back to the key entry, or confirm the summary. */
  review: (setup) => setup.status === 'reviewing',
  discard: isDiscardable,
  /** Enter or change the customer's account: only once the keys are reserved. */
  account: (setup) => setup.status === 'reserved' && !setup.target,
  create: (setup) => setup.status === 'reserved' && setup.account !== undefined,
  /** Apply the keys to the existing customer: from the summary, or once reserved (a press a crash cut short). */
  apply: (setup) => setup.target !== undefined && (setup.status === 'reviewing' || setup.status === 'reserved'),
};

export function allows(setup: Setup, step: SetupStep): boolean {
  return STEPS[step](setup);
}

/**
 * "cancel" concerns the person's latest unfinished setup, and discards it only while its keys are
 * not yet reserved for the partner: reserved keys are given up only on the setup's own card.
 */
export function cancelTarget(openSetups: readonly Setup[], userId: string): { outcome: 'nothing' } | { outcome: 'kept'; setup: Setup } | { outcome: 'discard'; setup: Setup } {
  const latest = openSetups.find((setup) => setup.ownerId === userId);
  if (!latest) return { outcome: 'nothing' };
  return holdsKeys(latest) ? { outcome: 'kept', setup: latest } : { outcome: 'discard', setup: latest };
}

export function newSetup(id: string, owner: { id: string; name: string }, now: Date, target?: SetupTarget): Setup {
  const at = now.toISOString();
  return { id, ownerId: owner.id, ownerName: owner.name, createdAt: at, updatedAt: at, rev: 0, status: 'entering', keys: [], ...(target && { target }) };
}

function touched(setup: Setup, now: Date, changes: Partial<Setup>): Setup {
  return { ...setup, ...changes, rev: setup.rev + 1, updatedAt: now.toISOString() };
}

export function addKeys(setup: Setup, keys: readonly SetupKey[], now: Date): Setup {
  return touched(setup, now, { status: 'reviewing', keys: [...setup.keys, ...keys] });
}

export function removeKey(setup: Setup, keyId: string, now: Date): Setup {
  const keys = setup.keys.filter((key) => key.id !== keyId);
  return touched(setup, now, { keys, status: keys.length === 0 ? 'entering' : setup.status });
}

export function backToEntry(setup: Setup, now: Date): Setup {
  return touched(setup, now, { status: 'entering' });
}

/** First half of confirming: the intent is recorded before the keys are reserved elsewhere. */
export function startReserving(setup: Setup, now: Date): Setup {
  return touched(setup, now, { status: 'reserving' });
}

export function markReserved(setup: Setup, now: Date, reservationDays: number): Setup {
  const reservedUntil = new Date(now.getTime() + reservationDays * 86_400_000).toISOString();
  return touched(setup, now, { status: 'reserved', reservedUntil });
}

/** Undoes an interrupted or refused confirmation; the keys stay on the summary. */
export function abandonReserving(setup: Setup, now: Date): Setup {
  return touched(setup, now, { status: 'reviewing' });
}

export function discard(setup: Setup, now: Date): Setup {
  return touched(setup, now, { status: 'discarded', closedAt: now.toISOString() });
}

export function release(setup: Setup, now: Date): Setup {
  return touched(setup, now, { status: 'released', closedAt: now.toISOString(), releaseNotice: 'pending' });
}

export function saveAccount(setup: Setup, account: Account, now: Date): Setup {
  return touched(setup, now, { account });
}

/** Recorded before the backend is asked, so a crash or a second press cannot create a second tenant. */
export function startCreating(setup: Setup, now: Date): Setup {
  return touched(setup, now, { status: 'creating' });
}

/** The backend refused or failed: nothing was created, the keys stay reserved, the account stays as typed. */
export function abandonCreating(setup: Setup, now: Date): Setup {
  return touched(setup, now, { status: 'reserved' });
}

export function complete(setup: Setup, customerId: string, now: Date): Setup {
  return touched(setup, now, { status: 'completed', customerId, closedAt: now.toISOString() });
}

/**
 * A closed setup (completed, discarded, or released and its owner told) whose retention has passed:
 * nothing refers to it any more, and dropping it keeps the partner's setup book small.
 */
export function isPastRetention(setup: Setup, now: Date, retentionDays: number): boolean {
  const closed = setup.status === 'completed' || setup.status === 'discarded' || (setup.status === 'released' && setup.releaseNotice !== 'pending');
  return closed && setup.closedAt !== undefined && Date.parse(setup.closedAt) + retentionDays * 86_400_000 <= now.getTime();
}

export function isReservationDue(setup: Setup, now: Date): boolean {
  return setup.status === 'reserved' && setup.reservedUntil !== undefined && Date.parse(setup.reservedUntil) <= now.getTime();
}

export interface ProductTotal {
  product: string;
  seats: number;
  keys: number;
}

/** Seats per product across a setup's keys, in the order products first appear. */
export function totalsByProduct(keys: readonly SetupKey[]): ProductTotal[] {
  const totals = new Map<string, ProductTotal>();
  for (const key of keys) {
    const total = totals.get(key.product) ?? { product: key.product, seats: 0, keys: 0 };
    total.seats += key.seats;
    total.keys += 1;
    totals.set(key.product, total);
  }
  return [...totals.values()];
}
