/**
 * What the services answer: plain data the bot layer words and shows. Kept here, below both, so the
 * bot reads a service's outcome without importing the service.
 */
import type { AccountError, NewUserError } from './account.js';
import type { Customer, Subscription } from './customer.js';
import type { Offer } from './delegation.js';
import type { Relationship, RequestError } from './relationship.js';
import type { ReminderKind } from './lifecycle.js';
import type { KeyMismatch } from './keyChanges.js';
import type { KeyProblem } from './productKey.js';
import type { Setup } from './setup.js';

/** Why an action on a setup was not applied; the caller shows the current state with this reason. */
export type Refusal =
  | { refused: 'notFound' }
  | { refused: 'notOwner'; setup: Setup }
  | { refused: 'stale'; setup: Setup }
  | { refused: 'discarded'; setup: Setup }
  | { refused: 'released'; setup: Setup }
  | { refused: 'alreadyReserved'; setup: Setup };

/** Key problems a backend or the reservation index finds, for one typed key. */
type KeyVerdict = 'unknown' | 'redeemed' | 'blocked' | 'reservedElsewhere';

export type FieldError =
  | { code: 'empty' }
  | { code: 'tooLong' | 'tooMany'; max: number }
  | { code: 'length'; position: number; length: number }
  | { code: 'characters'; position: number; characters: string }
  | { code: 'duplicate'; position: number; first: number }
  | { code: 'alreadyAdded' | KeyVerdict; position: number }
  | { code: 'reservedByColleague'; position: number; name: string }
  | ({ position: number } & KeyMismatch);

/** A typed key's format problem as the message under the field it was typed in; `position` counts keys from 1. */
export function keyFieldError(problem: KeyProblem, position: number): FieldError {
  if (problem.code === 'length') return { code: 'length', position, length: problem.length };
  if (problem.code === 'characters') return { code: 'characters', position, characters: problem.characters };
  return { code: 'duplicate', position, first: problem.firstPosition };
}

export type CheckResult =
  | { ok: true; setup: Setup }
  | { ok: false; locked: string }
  | { ok: false; fieldErrors: FieldError[][]; setup?: Setup };

export type ConfirmResult = { ok: true; setup: Setup } | { ok: false; taken: string[]; setup: Setup };

/** What "cancel" did to the person's latest unfinished setup. */
export type CancelOutcome = { outcome: 'nothing' } | { outcome: 'kept'; setup: Setup } | { outcome: 'discarded'; setup: Setup };

export type AccountCheck = { ok: true; setup: Setup } | { ok: false; errors: AccountError[]; suggestions: string[] };

/** Why a creation was refused; anything else the backend says counts as a failure. */
export type CreateRefusal = 'domainTaken' | 'keyUnavailable' | 'invalidRequest' | 'failed';

/** A created account; `temporaryPassword` is the admin's, to be shown once to the creator and kept nowhere. */
export type CreateResult = { ok: true; setup: Setup; customer: Customer; temporaryPassword: string } | { ok: false; reason: CreateRefusal; setup: Setup };

/** A new temporary password for a customer's admin, shown once to the person who asked and kept nowhere. */
export type PasswordReset =
  | { ok: true; customer: Customer; temporaryPassword: string }
  | { ok: false; reason: 'customerNotFound' }
  | { ok: false; reason: 'notAllowed' | 'failed'; customer: Customer }
  /** A second press of the same card: the first press made the password and showed it once. */
  | { ok: false; reason: 'alreadyReset'; customer: Customer };

/** Why keys for an existing customer could not be applied; the setup is back on its summary, its keys released. */
export type ApplyRefusal = 'keyUnavailable' | 'productMismatch' | 'mixedTerms' | 'deprovisioned' | 'notPartnerBilled' | 'notDelegated';

export type ApplyResult =
  | { ok: true; setup: Setup; customer: Customer; changed: Subscription[]; canceledSwitch?: string }
  | { ok: false; taken: string[]; setup: Setup }
  | { ok: false; reason: ApplyRefusal; setup: Setup };

export type Switched = { customer: Customer; subscription: Subscription };
/** A renewal's answer: also the day of a scheduled switch to direct billing the renewal canceled. */
export type Renewed = Switched & { canceledSwitch?: string };
/** A switch to direct billing, now or scheduled, that the subscription's state does not allow: nothing changed. */
export type SwitchRefused = Switched & { refused: 'notSwitchable' };

/** A customer tenant and the partner that set it up. */
export interface CustomerLink {
  partnerTenantId: string;
  customer: Customer;
}

/** Why a request for delegated administration was not sent: nothing was created. */
export type RequestRefusal = { refused: 'customerNotFound' } | { refused: 'notEligible' } | { refused: 'invalid'; errors: RequestError[] };

/** Why the partner could not end a relationship: none such, or not in a state to end (`reason` is the domain's). */
export type EndRefusal = { refused: 'notFound' } | { refused: 'state'; reason: string; relationship: Relationship };

export type AnswerRefusal = { refused: 'offerNotFound' } | { refused: 'notAdmin'; link: CustomerLink } | { refused: 'alreadyAnswered'; link: CustomerLink; offer: Offer };

export type DeliveryOutcome = 'delivered' | 'waiting' | 'unreachable';

interface NewUser {
  requestId: string;
  firstName: string;
  lastName: string;
  signInName: string;
  product: string;
}

export type AddUserResult =
  | { ok: true; userPrincipalName: string; customer: Customer; user: NewUser }
  | { ok: false; reason: 'invalid'; errors: NewUserError[] }
  | { ok: false; reason: 'customerNotFound' }
  /** No relationship in force holds a role that allows it; `roleId` is the least privileged one that would. */
  | { ok: false; reason: 'missingRole'; roleId: string }
  | { ok: false; reason: 'noFreeSeats' | 'userExists'; user: NewUser };

/** One reminder to render for one chat. */
export interface ReminderContext {
  partnerTenantId: string;
  key: string;
  kind: ReminderKind;
  customer: Customer;
  subscription: Subscription;
  today: string;
  /** Whom the reminder is for: the staff member who set the customer up (for the language). */
  recipientId: string;
  /** Sent to the reminder channel, where a card shows to everyone and key entry is not offered. */
  inChannel: boolean;
}

export interface Upcoming {
  customer: Customer;
  subscription: Subscription;
  kind: ReminderKind;
  due: string;
}

/** "Remind me later": the reminder put aside and when the next one of its cycle comes. */
export interface Snoozed {
  kind: ReminderKind;
  customerTenantId: string;
  subscriptionId: string;
  next?: { kind: ReminderKind; due: string };
}
