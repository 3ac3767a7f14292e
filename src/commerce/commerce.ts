/**
 * The commerce side: product keys, customer tenants and their subscriptions.
 * No public API exists for it, so the bot talks to this interface and ships an embedded default.
 */
import type { AutoExtendDuration, Relationship } from '../domain/relationship.js';

export type KeyCheck =
  | {
      status: 'valid';
      product: string;
      seats: number;
      termMonths: number;
      /** The backend's opaque reference to the key for later redemption; never the key itself. */
      handle: string;
    }
  | { status: 'unknown' | 'redeemed' | 'blocked' };

export interface CreateTenantRequest {
  /** The same key for a retry of the same request: it never creates a second tenant. */
  idempotencyKey: string;
  partnerTenantId: string;
  country: string;
  organisationName: string;
  language: string;
  domainPrefix: string;
  admin: { firstName: string; lastName: string; email: string; phone: string; signInName: string };
  keyHandles: string[];
  /** The partner ID added to the subscriptions as Partner of Record, if any. */
  partnerOfRecord?: string;
  /** The partner's calendar day (YYYY-MM-DD), which the subscriptions start on: the bot shows every date in the partner's time zone. */
  today: string;
}

export interface CreatedSubscription {
  id: string;
  product: string;
  seats: number;
  assignedSeats: number;
  startDate: string;
  endDate: string;
  partnerOfRecord?: string;
}

export interface CreatedTenant {
  tenantId: string;
  domain: string;
  admin: { objectId: string; userPrincipalName: string; roles: string[]; license: string; temporaryPassword: string };
  subscriptions: CreatedSubscription[];
}

/** A new temporary password for the customer's admin, who must change it at first sign-in. */
export interface AdminPassword {
  userPrincipalName: string;
  temporaryPassword: string;
}

export interface AddUserRequest {
  /** The same key for a retry of the same request: it never adds the user twice. */
  idempotencyKey: string;
  customerTenantId: string;
  /** The partner acting as delegated admin. */
  partnerTenantId: string;
  firstName: string;
  lastName: string;
  signInName: string;
  /** The product whose subscription gives the user a license. */
  product: string;
}

export interface RenewRequest {
  /** The same key for a retry of the same renewal: it never extends twice. */
  idempotencyKey: string;
  customerTenantId: string;
  subscriptionId: string;
  /** Keys of the subscription's product and of one term; their seats together become the seat count. */
  keyHandles: string[];
  /** The partner's calendar day: whether the term runs from the end date (still active) or from this day. */
  today: string;
}

export interface AddKeysRequest {
  /** The same key for a retry of the same request: it never adds twice. */
  idempotencyKey: string;
  customerTenantId: string;
  /** The partner that set the customer up, or one with delegated administration. */
  partnerTenantId: string;
  keyHandles: string[];
  /** The partner ID added to subscriptions the keys start, if any. */
  partnerOfRecord?: string;
  /** The partner's calendar day, which new subscriptions start on. */
  today: string;
}

/** A subscription as the backend holds it after a renewal or a switch of billing. */
export interface SubscriptionUpdate extends Omit<CreatedSubscription, 'partnerOfRecord'> {
  billing: 'partner' | 'direct';
}

export type CommerceErrorCode =
  | 'domainTaken'
  | 'keyUnavailable'
  | 'invalidRequest'
  | 'notDelegated'
  | 'noFreeSeats'
  | 'userExists'
  | 'unknownTenant'
  | 'productMismatch'
  | 'mixedTerms'
  | 'deprovisioned'
  | 'notPartnerBilled'
  /** No such relationship between this partner and customer. */
  | 'unknownRelationship'
  | 'displayNameTaken'
  /** The relationship is not in a state for this (its reason is `CommerceError.relationship`). */
  | 'relationshipState';

/** A refusal the partner can act on; anything else thrown is a failure of the backend. */
export class CommerceError extends Error {
  constructor(
    readonly code: CommerceErrorCode,
    message: string,
    /** For `relationshipState`: the relationship as it stands, so the caller can say what happened to it. */
    readonly relationship?: Relationship,
  ) {
    super(message);
  }
}

/** A granular delegated admin relationship requested by the partner (Graph: create, then `lockForApproval`). */
export interface CreateRelationshipRequest {
  /** The same key for a retry of the same request: it never creates a second relationship. */
  idempotencyKey: string;
  partnerTenantId: string;
  customerTenantId: string;
  /** Unique among all the partner's relationships, at most 50 characters. */
  displayName: string;
  /** Entra role template ids (`accessDetails.unifiedRoles[].roleDefinitionId`). */
  roleIds: string[];
  /** ISO 8601, P1D to P730D. */
  duration: string;
  autoExtendDuration: AutoExtendDuration;
}

/** Who ends a relationship: the partner (only its own), or the customer's admin. */
export type RelationshipSide = { side: 'partner'; partnerTenantId: string } | { side: 'customer' };

export interface Commerce {
  /** What the backend knows about a normalised key (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX). */
  checkKey(key: string): Promise<KeyCheck>;
  /** The key's current state by the handle `checkKey` gave (a key may be blocked or redeemed since). */
  recheckKey(handle: string): Promise<KeyCheck>;
  /** Whether `<prefix>.onmicrosoft.com` can still be had. */
  isDomainAvailable(prefix: string): Promise<boolean>;
  /**
   * Creates the tenant, makes the person its admin with a license, turns the keys into subscriptions
   * and redeems them, all or nothing. Idempotent per `idempotencyKey`, except that every answer
   * carries a new temporary password for the admin (the one of an answer that was lost is no use to
   * anyone); the admin must change it at first sign-in.
   */
  createTenant(request: CreateTenantRequest): Promise<CreatedTenant>;
  /**
   * Gives the customer's admin a new temporary password, to be changed at first sign-in. For the
   * partner that created the tenant, or one whose relationship in force has a role that may reset
   * an admin's password (else `notDelegated`).
   */
  resetAdminPassword(customerTenantId: string, partnerTenantId: string): Promise<AdminPassword>;
  /**
   * Makes the partner a delegated admin of the customer's tenant (admin rights without a license of
   * the customer's), or ends it.
   */
  setDelegatedAdmin(customerTenantId: string, partnerTenantId: string, active: boolean): Promise<void>;
  /** Adds a licensed user, acting as the customer's delegated admin. Idempotent per `idempotencyKey`. */
  addUser(request: AddUserRequest): Promise<{ objectId: string; userPrincipalName: string }>;
  /**
   * Renews a partner-billed subscription with keys of its product: their term is added to the end
   * date, or to today once it has expired (reactivation); their seats together become the seat count.
   * The keys are redeemed all or none. Idempotent per `idempotencyKey`.
   */
  renewSubscription(request: RenewRequest): Promise<SubscriptionUpdate>;
  /**
   * Redeems keys for an existing customer: keys of a product it has add seats to that subscription
   * until its end date, others start subscriptions of their own (domain/keyChanges `additionPlan`).
   * All or none; idempotent per `idempotencyKey`. Answers the subscriptions changed or started.
   */
  addKeys(request: AddKeysRequest): Promise<SubscriptionUpdate[]>;
  /** Moves a subscription to billing by Microsoft; the new subscription starts on `today`, the partner's calendar day. Idempotent. */
  switchToDirectBilling(customerTenantId: string, subscriptionId: string, today: string): Promise<SubscriptionUpdate>;

  /*
   * Granular delegated admin relationships, as Graph's delegatedAdminRelationship. Every method
   * returns the relationship as it stands now (status, end date and auto-extension worked out for
   * the moment of the call) and refuses with a CommerceError. The old all-or-nothing delegated admin
   * of `setDelegatedAdmin` shows as one active Global Administrator relationship with no end date.
   */
  /** Creates a relationship and sends it for the customer's approval. Idempotent per `idempotencyKey`. */
  createRelationship(request: CreateRelationshipRequest): Promise<Relationship>;
  /** The relationships between a customer and a partner, oldest first. */
  listRelationships(customerTenantId: string, partnerTenantId: string): Promise<Relationship[]>;
  /** The display names of all the partner's relationships, with every customer (Graph wants them unique). */
  relationshipNames(partnerTenantId: string): Promise<string[]>;
  /** The customer's admin approves a pending request. Approving an approved one again returns it. */
  approveRelationship(customerTenantId: string, relationshipId: string): Promise<Relationship>;
  /** The customer's admin declines a pending request. Declining a declined one again returns it. */
  declineRelationship(customerTenantId: string, relationshipId: string): Promise<Relationship>;
  /** Either side ends an active relationship; the partner also withdraws a pending one. Ending an ended one again returns it. */
  terminateRelationship(customerTenantId: string, relationshipId: string, by: RelationshipSide): Promise<Relationship>;
  /** The partner turns auto-extension by 180 days on or off (never with Global Administrator). Idempotent. */
  setRelationshipAutoExtend(customerTenantId: string, partnerTenantId: string, relationshipId: string, autoExtendDuration: AutoExtendDuration): Promise<Relationship>;
  /** The partner removes Global Administrator from an active relationship, Graph's one change to its roles. Idempotent. */
  removeGlobalAdministrator(customerTenantId: string, partnerTenantId: string, relationshipId: string): Promise<Relationship>;
}
