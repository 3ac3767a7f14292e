/**
 * The services as the bot layer uses them. Declared here, by the user of the services, so the bot
 * imports no service: the composition root hands in the real ones, and the compiler checks there
 * that each fits. Everything they answer is a domain outcome.
 */
import type { AccountInput, NewUserField } from '../domain/account.js';
import type { Actor } from '../domain/actor.js';
import type { ConversationRef } from '../domain/conversation.js';
import type { Customer } from '../domain/customer.js';
import type { Offer } from '../domain/delegation.js';
import type { Page } from '../domain/paging.js';
import type { Relationship, RequestInput } from '../domain/relationship.js';
import type { PartnerProfile, ProfileError, ProfileInput } from '../domain/profile.js';
import type {
  AccountCheck,
  AddUserResult,
  AnswerRefusal,
  CancelOutcome,
  CheckResult,
  ConfirmResult,
  CreateResult,
  CustomerLink,
  DeliveryOutcome,
  EndRefusal,
  PasswordReset,
  Refusal,
  RequestRefusal,
  ApplyResult,
  Snoozed,
  Switched,
  SwitchRefused,
  Upcoming,
} from '../domain/outcomes.js';
import type { Setup, SetupStep, SetupTarget } from '../domain/setup.js';
import type { AuditEntry } from '../domain/audit.js';
import type { AssignRefusal, Person, Role, RoleBook } from '../domain/roles.js';
import type { Subscription } from '../domain/customer.js';

type Changed = Promise<{ ok: true; setup: Setup } | Refusal>;

export interface Setups {
  find(tenantId: string, setupId: string): Promise<Setup | undefined>;
  openSetups(tenantId: string): Promise<Setup[]>;
  open(actor: Actor, setupId: string): Promise<Setup | Refusal>;
  refusalFor(actor: Actor, setupId: string, rev: number | undefined, step: SetupStep): Promise<Refusal | undefined>;
  checkAndAdd(actor: Actor, setupId: string, rev: number, fields: string[]): Promise<CheckResult | Refusal>;
  removeKey(actor: Actor, setupId: string, rev: number, keyId: string): Changed;
  backToEntry(actor: Actor, setupId: string, rev: number): Changed;
  confirm(actor: Actor, setupId: string, rev: number): Promise<ConfirmResult | Refusal>;
  discard(actor: Actor, setupId: string, rev: number | undefined): Promise<{ ok: true; setup?: Setup } | Refusal>;
  cancelLatest(actor: Actor): Promise<CancelOutcome>;
}

export interface Accounts {
  check(actor: Actor, setupId: string, rev: number, input: AccountInput): Promise<AccountCheck | Refusal>;
  create(actor: Actor, setupId: string, rev: number): Promise<CreateResult | Refusal>;
  /** `requestId`: the press, from the card; a second press of the same card makes no second password. */
  resetAdminPassword(actor: Actor, customerTenantId: string, requestId?: string): Promise<PasswordReset>;
}

/** A staff member as the bot can reach them. */
export interface Member {
  name: string;
  locale?: string;
  timeZone?: string;
  conversation: ConversationRef;
  reachable: boolean;
}

export interface Partners {
  profile(tenantId: string): Promise<PartnerProfile | undefined>;
  organisationName(tenantId: string): Promise<string>;
  memberName(tenantId: string, userId: string): Promise<string>;
  saveProfile(actor: Actor, input: ProfileInput): Promise<{ profile: PartnerProfile } | { errors: ProfileError[] }>;
  customers(tenantId: string, filter?: string): Promise<Customer[]>;
  /** One page of that list, read as a page (see CustomerRepository.page). */
  customerPage(tenantId: string, filter: string, page: number, size: number): Promise<Page<Customer>>;
  hasCustomers(tenantId: string): Promise<boolean>;
  customer(tenantId: string, customerTenantId: string): Promise<Customer | undefined>;
  member(tenantId: string, userId: string): Promise<Member | undefined>;
  rememberMember(actor: Actor, contact: { locale: string | undefined; timeZone: string | undefined; conversation: ConversationRef }): Promise<void>;
  recentWelcome(actor: Actor, conversationId: string): Promise<{ activityId?: string; language: string } | undefined>;
  rememberWelcome(actor: Actor, welcome: { conversationId: string; activityId?: string; language: string }): Promise<void>;
  /** The role book, after upgrading a partner that predates roles (recorded). */
  ensureRoles(tenantId: string): Promise<RoleBook>;
  people(tenantId: string): Promise<Array<Person & { role?: Role }>>;
  assignRole(actor: Actor, target: string, role: Role | undefined): Promise<{ changed: boolean } | { refused: AssignRefusal }>;
}

export interface AuditQuery {
  customerTenantId?: string;
  objectId?: string;
  before?: number;
  limit: number;
}

/** The audit trail as the chat reads it, and refusals, which change nothing and are appended as they are. */
export interface Audit {
  page(partnerTenantId: string, query: AuditQuery): Promise<{ entries: AuditEntry[]; next?: number }>;
  pageForCustomer(partnerTenantId: string, customerTenantId: string, query: Omit<AuditQuery, 'customerTenantId' | 'objectId'>): Promise<{ entries: AuditEntry[]; next?: number }>;
  refused(partnerTenantId: string, actor: Actor, facts: { id: string; verb: string; customerTenantId?: string }, reason: string): Promise<void>;
}

export type AdminCheck = (link: CustomerLink) => Promise<boolean>;

export interface Delegation {
  link(customerTenantId: string): Promise<CustomerLink | undefined>;
  isAdmin(actor: Actor, link: CustomerLink, signInName: () => Promise<string | undefined>): Promise<boolean>;
  rememberAdmin(actor: Actor, link: CustomerLink, conversation: ConversationRef): Promise<void>;
  eligible(partnerTenantId: string): Promise<boolean>;
  relationshipNames(partnerTenantId: string): Promise<string[]>;
  activeRelationships(link: CustomerLink): Promise<Relationship[]>;
  request(actor: Actor, customerTenantId: string, requestId: string, input: RequestInput, message: string, from: ConversationRef | undefined): Promise<{ offer: Offer; delivery: DeliveryOutcome } | RequestRefusal>;
  endByPartner(actor: Actor, customerTenantId: string, relationshipId: string): Promise<{ relationship: Relationship } | EndRefusal>;
  unseenOffers(link: CustomerLink): Offer[];
  pendingOffers(link: CustomerLink): Offer[];
  markShown(link: CustomerLink, offerId: string, conversation: ConversationRef, activityId: string | undefined): Promise<void>;
  answer(actor: Actor, offerId: string, accepted: boolean, isAdmin: AdminCheck): Promise<{ link: CustomerLink; offer: Offer } | AnswerRefusal>;
  endByCustomer(actor: Actor, relationshipId: string | undefined, isAdmin: AdminCheck): Promise<{ link: CustomerLink; ended: Relationship[] } | { refused: 'notCustomer' } | { refused: 'notAdmin' | 'notActive'; link: CustomerLink }>;
  mayAddUsers(partnerTenantId: string, customerTenantId: string): Promise<{ allowed: true } | { allowed: false; missingRoleId: string }>;
  addUser(actor: Actor, customerTenantId: string, requestId: string, input: Partial<Record<NewUserField, string>>): Promise<AddUserResult>;
}

export interface Reminders {
  upcoming(tenantId: string, days?: number): Promise<Upcoming[]>;
  setChannel(actor: Actor, conversation: ConversationRef): Promise<void>;
  snooze(actor: Actor, key: string): Promise<Snoozed | undefined>;
}

export interface Renewals {
  find(tenantId: string, customerTenantId: string, subscriptionId: string): Promise<Switched | undefined>;
  today(tenantId: string): Promise<string>;
  allows(tenantId: string, target: SetupTarget): Promise<boolean>;
  checkKeys(actor: Actor, setupId: string, rev: number, text: string, target: SetupTarget): Promise<CheckResult | Refusal | { refused: 'notAllowed' }>;
  applyKeys(actor: Actor, setupId: string, rev: number): Promise<ApplyResult | Refusal>;
  switchNow(actor: Actor, customerTenantId: string, subscriptionId: string): Promise<Switched | SwitchRefused | undefined>;
  schedule(actor: Actor, customerTenantId: string, subscriptionId: string): Promise<Switched | SwitchRefused | undefined>;
  unschedule(actor: Actor, customerTenantId: string, subscriptionId: string): Promise<Switched | undefined>;
  switchDay(tenantId: string, subscription: Subscription): Promise<string>;
}

export interface Services {
  setups: Setups;
  accounts: Accounts;
  partners: Partners;
  delegation: Delegation;
  reminders: Reminders;
  renewals: Renewals;
  audit: Audit;
}
