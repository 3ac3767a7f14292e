/**
 * Redeeming keys into a setup and reserving them: loads persisted state, applies a domain rule,
 * saves, and only then reports success. Knows nothing of Teams or cards.
 *
 * Several instances may serve one partner: the in-process locks only spare a second press its
 * wait, while correctness comes from the repositories (a change re-checks owner and revision under
 * the setup's row lock; a key has one holder whoever asks at once).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Commerce, KeyCheck } from '../commerce/commerce.js';
import { renewalMismatch } from '../domain/keyChanges.js';
import type { KeyHasher } from '../commerce/keyHasher.js';
import type { Actor } from '../domain/actor.js';
import { auditDraft } from '../domain/audit.js';
import { keyFieldError, type CancelOutcome, type CheckResult, type ConfirmResult, type FieldError, type Refusal } from '../domain/outcomes.js';
import { lastGroup, parseKeyFields } from '../domain/productKey.js';
import * as rules from '../domain/setup.js';
import type { Setup, SetupKey, SetupTarget } from '../domain/setup.js';
import type { AuditOf, GuessLimits, Repositories, SetupRef } from '../store/repositories.js';
import { KeyedLock } from '../store/keyedLock.js';
import { SYSTEM, type AuditTrail } from '../partners/auditTrail.js';

export interface SetupLimits {
  reservationDays: number;
  /** Days a closed setup is kept (its cards still answer with its state), then dropped from the book. */
  retentionDays: number;
  maxKeysPerSetup: number;
  maxFieldLength: number;
  guessLimit: number;
  guessWindowMinutes: number;
  guessLockMinutes: number;
}

export interface SetupOptions {
  /**
   * True when this process is the only one on its store (the files): at start, every `reserving`
   * setup was then interrupted. With several instances another one may be confirming right now, so
   * only a confirmation older than a few minutes counts as interrupted.
   */
  soleInstance: boolean;
}

/** Who holds a setup's keys: the setup, by its tenant and id. */
interface Holder {
  tenantId: string;
  setupId: string;
}

class RefusedError extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.refused);
  }
}

/** A confirmation in progress is `reserving` for moments; one older than this was interrupted. */
const INTERRUPTED_AFTER_MS = 5 * 60_000;

/** The refusal for acting on this setup (as stored) now, if any. `rev` is the revision the card showed. */
function refusalOf(setup: Setup | undefined, actor: Actor, rev: number | undefined, step: rules.SetupStep, also: (setup: Setup) => boolean = () => true): Refusal | undefined {
  if (!setup) return { refused: 'notFound' };
  if (setup.ownerId !== actor.userId) return { refused: 'notOwner', setup };
  if (setup.status === 'discarded') return { refused: 'discarded', setup };
  if (setup.status === 'released') return { refused: 'released', setup };
  if (rev !== undefined && rev !== setup.rev) return { refused: setup.status === 'reserved' ? 'alreadyReserved' : 'stale', setup };
  if (!rules.allows(setup, step) || !also(setup)) return { refused: setup.status === 'reserved' ? 'alreadyReserved' : 'stale', setup };
  return undefined;
}

/** Changes a setup only while it is still the one `seen` (same status and revision); otherwise leaves it. */
function whileStill(seen: Setup, change: (setup: Setup) => Setup): (setup: Setup) => Setup {
  return (setup) => (setup.status === seen.status && setup.rev === seen.rev ? change(setup) : setup);
}

export class SetupService {
  /** One change at a time per setup in this process: a second press waits and then sees what the first one did. */
  private readonly lock = new KeyedLock();
  private readonly guessLock = new KeyedLock();
  /** One reservation of a key at a time in this process, keyed by its hash. */
  private readonly keyLock = new KeyedLock();
  /** True until the start-up reconcile ran. */
  private starting = true;

  constructor(
    private readonly repositories: Pick<Repositories, 'setups' | 'guessGuard' | 'customers'>,
    private readonly commerce: Commerce,
    private readonly hashKey: KeyHasher,
    private readonly now: () => Date,
    private readonly limits: SetupLimits,
    private readonly log: Logger,
    private readonly audit: AuditTrail,
    private readonly options: SetupOptions,
  ) {}

  private get setups() {
    return this.repositories.setups;
  }

  private get guessLimits(): GuessLimits {
    return { limit: this.limits.guessLimit, windowMinutes: this.limits.guessWindowMinutes, lockMinutes: this.limits.guessLockMinutes };
  }

  /**
   * The entry of a setup's change, keyed by the verb and the setup (each happens once to a setup).
   * Who acted and when are settled here, before the transaction, so that the callback stays pure.
   */
  private async entry(tenantId: string, actor: Actor, verb: string, at = this.now()): Promise<AuditOf<Setup>> {
    const who = await this.audit.actorOf(tenantId, actor);
    return (setup) => [
      auditDraft({ id: `${verb}:${setup.id}`, at, partnerTenantId: tenantId, actor: who, verb, keys: setup.keys.map((key) => key.lastGroup), details: { setup: setup.id, owner: setup.ownerName }, outcome: { result: 'done' } }),
    ];
  }

  find(tenantId: string, setupId: string): Promise<Setup | undefined> {
    return this.setups.find(tenantId, setupId);
  }

  /** Setups of the actor's organisation that still hold or gather keys, newest first. */
  openSetups(tenantId: string): Promise<Setup[]> {
    return this.setups.open(tenantId);
  }

  /** The refusal for acting on this setup now, if any. `rev` is the revision the card showed. */
  async refusalFor(actor: Actor, setupId: string, rev: number | undefined, step: rules.SetupStep, also?: (setup: Setup) => boolean): Promise<Refusal | undefined> {
    return refusalOf(await this.find(actor.tenantId, setupId), actor, rev, step, also);
  }

  /**
   * Checks the typed keys; when all are good, adds them to the setup (created on first use under the
   * id its card carries, so a double press cannot create two). Nothing is added when any key is wrong.
   */
  checkAndAdd(actor: Actor, setupId: string, rev: number, fields: string[], target?: SetupTarget): Promise<CheckResult | Refusal> {
    return this.lock.run(setupId, () => this.checkAndAddNow(actor, setupId, rev, fields, target));
  }

  /** `target`: what a setup created now is for, when its keys are for an existing customer; a saved setup keeps its own. */
  private async checkAndAddNow(actor: Actor, setupId: string, rev: number, fields: string[], target: SetupTarget | undefined): Promise<CheckResult | Refusal> {
    const { tenantId } = actor;
    // Revision 0 is a card whose setup is not saved yet, unless that card was pressed before: it is
    // looked for only when this press would not simply create it (on any error, before an unknown key
    // is counted, or when the creation finds it saved), and that press is then refused as always.
    const existing = rev === 0 ? undefined : await this.find(tenantId, setupId);
    const pressedBefore = async (): Promise<Refusal | undefined> => {
      if (rev !== 0) return undefined;
      const saved = await this.find(tenantId, setupId);
      return saved && refusalOf(saved, actor, rev, 'editKeys');
    };
    if (rev !== 0) {
      const refusal = refusalOf(existing, actor, rev, 'editKeys');
      if (refusal) return refusal;
    }
    const fieldErrors: FieldError[][] = fields.map(() => []);
    const hasErrors = () => fieldErrors.some((errors) => errors.length > 0);
    const tooLong = fields.map((text) => text.length > this.limits.maxFieldLength);
    tooLong.forEach((long, field) => long && fieldErrors[field]!.push({ code: 'tooLong', max: this.limits.maxFieldLength }));
    const entries = parseKeyFields(fields.map((text, field) => (tooLong[field] ? '' : text)));
    if (entries.length === 0 && !tooLong.some(Boolean)) fieldErrors[0]!.push({ code: 'empty' });
    if ((existing?.keys.length ?? 0) + entries.length > this.limits.maxKeysPerSetup) fieldErrors[0]!.push({ code: 'tooMany', max: this.limits.maxKeysPerSetup });
    // Nothing reaches the backend from a card that is wrong as a whole.
    if (hasErrors()) return (await pressedBefore()) ?? { ok: false, fieldErrors, setup: existing };

    // Checks of one tenant run one at a time here; across instances the guard's count is shared.
    const purpose = existing ? existing.target : target;
    const now = this.now();
    const checked = await this.guessLock.run(tenantId, async (): Promise<{ found: SetupKey[] } | { ok: false; locked: string } | Refusal> => {
      const result = await this.checkEntries(actor, setupId, existing, entries, fieldErrors, purpose, now);
      if ('locked' in result || result.unknownKeys > 0 || hasErrors()) {
        const refusal = await pressedBefore();
        if (refusal) return refusal;
      }
      if ('locked' in result || result.unknownKeys === 0) return result;
      const lockedUntil = await this.recordUnknownKeys(tenantId, result.unknownKeys, now);
      return result.overBudget ? { ok: false, locked: lockedUntil } : result;
    });
    if (!('found' in checked)) return checked;
    if (hasErrors()) return { ok: false, fieldErrors, setup: existing };
    const add = (setup: Setup | undefined) => rules.addKeys(setup ?? rules.newSetup(setupId, { id: actor.userId, name: actor.name }, now, purpose), checked.found, now);
    // A first press: created straight away, sparing a locked read that finds nothing. A setup saved
    // by an earlier press of the card refuses this one, as it did before the checks.
    if (rev === 0) {
      const created = add(undefined);
      if (await this.setups.insert(tenantId, created)) return { ok: true, setup: created };
      const refusal = await pressedBefore();
      if (refusal) return refusal;
    }
    return this.changeSetup(actor, setupId, rev, add);
  }

  /**
   * Checks the typed keys against reservations and the backend, reading only: the unknown keys are
   * counted by the caller. Stops at the unknown key that passes what the guard has left.
   */
  private async checkEntries(
    actor: Actor,
    setupId: string,
    existing: Setup | undefined,
    entries: ReturnType<typeof parseKeyFields>,
    fieldErrors: FieldError[][],
    target: SetupTarget | undefined,
    now: Date,
  ): Promise<{ found: SetupKey[]; unknownKeys: number; overBudget: boolean } | { ok: false; locked: string }> {
    const { tenantId } = actor;
    const renewed = target?.kind === 'renew' ? (await this.repositories.customers.get(tenantId, target.customerId))?.subscriptions.find((s) => s.id === target.subscriptionId) : undefined;
    const lockedUntil = await this.repositories.guessGuard.lockedUntil(tenantId, now);
    if (lockedUntil) return { ok: false, locked: lockedUntil };
    const budget = await this.repositories.guessGuard.unknownKeysLeft(tenantId, now, this.guessLimits);
    const found: SetupKey[] = [];
    let unknownKeys = 0;
    for (const entry of entries) {
      const errors = fieldErrors[entry.field]!;
      const { position } = entry;
      if (entry.problem) {
        errors.push(keyFieldError(entry.problem, position));
        continue;
      }
      const key = entry.key!;
      const ref = this.hashKey(key);
      if (existing?.keys.some((k) => k.ref === ref)) {
        errors.push({ code: 'alreadyAdded', position });
        continue;
      }
      const holder = await this.setups.keyHolder(ref);
      if (holder && !(holder.tenantId === tenantId && holder.setupId === setupId)) {
        errors.push(holder.tenantId === tenantId ? { code: 'reservedByColleague', position, name: holder.ownerName } : { code: 'reservedElsewhere', position });
        continue;
      }
      const check = await this.checkWithBackend(key);
      if (check.status !== 'valid') {
        if (check.status === 'unknown' && ++unknownKeys > budget) return { found, unknownKeys, overBudget: true };
        errors.push({ code: check.status, position });
        continue;
      }
      const mismatch = renewed && renewalMismatch(renewed, check, [...(existing?.keys ?? []), ...found]);
      if (mismatch) {
        errors.push({ ...mismatch, position });
        continue;
      }
      found.push({ id: randomUUID(), ref, handle: check.handle, lastGroup: lastGroup(key), product: check.product, seats: check.seats, termMonths: check.termMonths });
    }
    return { found, unknownKeys, overBudget: false };
  }

  /**
   * Asks the backend about a key. Its errors are replaced by one without details, because a real
   * backend's error may carry the request (and so the key) into the logs.
   */
  private async checkWithBackend(key: string): Promise<KeyCheck> {
    try {
      return await this.commerce.checkKey(key);
    } catch {
      throw new Error('the commerce backend failed to check a product key');
    }
  }

  removeKey(actor: Actor, setupId: string, rev: number, keyId: string) {
    const hasKey = (setup: Setup) => setup.keys.some((key) => key.id === keyId);
    return this.lock.run(setupId, () => {
      const now = this.now();
      return this.guarded(actor, setupId, rev, (setup) => rules.removeKey(setup, keyId, now), 'editKeys', hasKey);
    });
  }

  backToEntry(actor: Actor, setupId: string, rev: number) {
    return this.lock.run(setupId, () => {
      const now = this.now();
      return this.guarded(actor, setupId, rev, (setup) => rules.backToEntry(setup, now), 'review');
    });
  }

  /**
   * Reserves the setup's keys for this partner. The intent is saved first, then each key's
   * reservation, then the result; `reconcile` finishes or undoes an interrupted run.
   */
  confirm(actor: Actor, setupId: string, rev: number): Promise<ConfirmResult | Refusal> {
    return this.lock.run(setupId, () => this.confirmNow(actor, setupId, rev));
  }

  private async confirmNow(actor: Actor, setupId: string, rev: number): Promise<ConfirmResult | Refusal> {
    const { tenantId } = actor;
    const refusal = await this.refusalFor(actor, setupId, rev, 'review');
    if (refusal) return refusal;
    const started = this.now();
    // Of two presses of this revision (on any instance) one gets here; the other finds it stale.
    const reserving = await this.changeSetup(actor, setupId, rev, (setup) => rules.startReserving(setup!, started));
    if ('refused' in reserving) return reserving;

    // Keys are reserved in one global order and the first conflict stops the run, so two setups
    // that share keys cannot each take one and lose the rest.
    const keys = reserving.setup.keys.toSorted((a, b) => a.ref.localeCompare(b.ref));
    const reserved: SetupKey[] = [];
    let taken: SetupKey | undefined;
    try {
      for (const key of keys) {
        const stillValid = () => this.commerce.recheckKey(key.handle).then((check) => check.status === 'valid');
        const got = await this.keyLock.run(key.ref, async () => (await stillValid()) && this.setups.reserveKey(key.ref, tenantId, setupId, this.now()));
        if (!got) {
          taken = key;
          break;
        }
        reserved.push(key);
      }
      if (!taken) {
        const now = this.now();
        // Only the confirmation that started it ends it: one undone meanwhile (a sweep found it
        // interrupted) has lost its keys, and is not marked reserved without them.
        const setup = await this.updateSetup(tenantId, setupId, whileStill(reserving.setup, (s) => rules.markReserved(s, now, this.limits.reservationDays)), await this.entry(tenantId, actor, 'redeem.confirm', now));
        if (setup.status === 'reserved') return { ok: true, setup };
        await this.releaseKeys({ tenantId, setupId }, reserved);
        return { refused: 'stale', setup };
      }
    } catch (error) {
      await this.undoReserving(tenantId, reserving.setup).catch((undoError) => this.log.error({ err: undoError, setupId }, 'undo of a failed reservation failed; the next sweep reconciles'));
      throw error;
    }
    await this.releaseKeys({ tenantId, setupId }, reserved);
    const lost = taken;
    const now = this.now();
    const setup = await this.updateSetup(
      tenantId,
      setupId,
      whileStill(reserving.setup, (s) => {
        const kept = { ...s, keys: s.keys.filter((key) => key.id !== lost.id) };
        return kept.keys.length === 0 ? rules.backToEntry(kept, now) : rules.abandonReserving(kept, now);
      }),
    );
    return { ok: false, taken: [lost.lastGroup], setup };
  }

  /** Discards an open setup and releases its keys. A setup that was never saved has nothing to discard. */
  discard(actor: Actor, setupId: string, rev: number | undefined): Promise<{ ok: true; setup?: Setup } | Refusal> {
    return this.lock.run(setupId, () => this.discardNow(actor, setupId, rev));
  }

  private async discardNow(actor: Actor, setupId: string, rev: number | undefined): Promise<{ ok: true; setup?: Setup } | Refusal> {
    if (rev === 0 && !(await this.find(actor.tenantId, setupId))) return { ok: true };
    const now = this.now();
    const result = await this.guarded(actor, setupId, rev, (setup) => rules.discard(setup, now), 'discard', undefined, await this.entry(actor.tenantId, actor, 'setup.discard', now));
    if ('refused' in result) return result;
    // The discard is saved; a key whose release fails now is freed by the next sweep's reconcile.
    await this.releaseKeys({ tenantId: actor.tenantId, setupId }, result.setup.keys).catch((error) => this.log.warn({ err: error, setupId }, 'keys of a discarded setup not yet released'));
    return result;
  }

  /** The setup as its card opens it, or why it cannot be shown to the actor. */
  async open(actor: Actor, setupId: string): Promise<Setup | Refusal> {
    const setup = await this.find(actor.tenantId, setupId);
    return refusalOf(setup, actor, undefined, 'open') ?? setup!;
  }

  /** "cancel": discards the person's latest unfinished setup, unless its keys are already reserved. */
  async cancelLatest(actor: Actor): Promise<CancelOutcome> {
    const target = rules.cancelTarget(await this.openSetups(actor.tenantId), actor.userId);
    if (target.outcome !== 'discard') return target;
    const result = await this.discard(actor, target.setup.id, target.setup.rev);
    return 'refused' in result ? { outcome: 'nothing' } : { outcome: 'discarded', setup: target.setup };
  }

  /** Releases reservations that ran out; returns the released setups with their tenant, for notices. */
  async releaseDue(): Promise<SetupRef[]> {
    const released: SetupRef[] = [];
    const now = this.now();
    for (const { tenantId, setup: due } of await this.setups.reservationsDue(now)) {
      // Released here, not by a press or another instance meanwhile: the change tells.
      let releasedNow = false;
      const setup = await this.setups.update(
        tenantId,
        due.id,
        (s) => {
          releasedNow = rules.isReservationDue(s, now);
          return releasedNow ? rules.release(s, now) : s;
        },
        await this.entry(tenantId, SYSTEM, 'reservation.release', now),
      );
      if (!setup || !releasedNow) continue;
      await this.releaseKeys({ tenantId, setupId: setup.id }, setup.keys);
      this.log.info({ tenantId, setupId: setup.id, keys: setup.keys.length }, 'reservation ran out; keys released');
      released.push({ tenantId, setup });
    }
    return released;
  }

  /** Drops closed setups past their retention, so no partner's setups grow with its history. Returns how many. */
  async dropPastRetention(): Promise<number> {
    const dropped = await this.setups.dropClosedBefore(new Date(this.now().getTime() - this.limits.retentionDays * 86_400_000));
    if (dropped > 0) this.log.info({ dropped }, 'closed setups past their retention dropped');
    return dropped;
  }

  /** Released setups whose owner has not been told yet (a notice survives a restart). */
  pendingReleaseNotices(): Promise<SetupRef[]> {
    return this.setups.pendingReleaseNotices();
  }

  async markReleaseNoticeSent(tenantId: string, setupId: string): Promise<void> {
    await this.updateSetup(tenantId, setupId, (setup) => (setup.releaseNotice === 'sent' ? setup : { ...setup, releaseNotice: 'sent' }));
  }

  /**
   * Brings reservations and setups back in line after a crash: an interrupted confirmation is
   * undone (the partner was never told it succeeded), and a reservation whose setup no longer holds
   * keys is dropped. An interrupted account creation is finished by the account service.
   */
  async reconcile(): Promise<{ undone: number; dropped: number }> {
    let undone = 0;
    const allInterrupted = this.starting && this.options.soleInstance;
    const interruptedBefore = this.now().getTime() - INTERRUPTED_AFTER_MS;
    for (const { tenantId, setup } of await this.setups.withStatus('reserving')) {
      if (!allInterrupted && Date.parse(setup.updatedAt) >= interruptedBefore) continue;
      if (await this.undoReserving(tenantId, setup)) undone++;
    }
    const dropped = await this.setups.dropOrphanReservations();
    if (undone + dropped > 0) this.log.warn({ undone, dropped }, 'reconciled setups and reservations after an interrupted run');
    this.starting = false;
    return { undone, dropped };
  }

  /** Puts a confirmation back on its summary and lets go of its keys, unless it moved on meanwhile. */
  private async undoReserving(tenantId: string, seen: Setup): Promise<boolean> {
    const now = this.now();
    const setup = await this.setups.update(tenantId, seen.id, whileStill(seen, (s) => rules.abandonReserving(s, now)));
    if (setup?.status !== 'reviewing' || setup.rev !== seen.rev + 1) return false;
    await this.releaseKeys({ tenantId, setupId: seen.id }, setup.keys);
    return true;
  }

  /** Drops the setup's reservations of these keys (released, discarded or redeemed keys). */
  async releaseKeys(holder: Holder, keys: readonly SetupKey[]): Promise<void> {
    if (keys.length > 0) await this.setups.releaseKeys(holder.setupId, keys.map((key) => key.ref));
  }

  /** Counts unknown keys in the shared guard; returns until when redemption is locked. */
  private async recordUnknownKeys(tenantId: string, count: number, now: Date): Promise<string> {
    const recorded = await this.repositories.guessGuard.recordUnknownKeys(tenantId, count, now, this.guessLimits);
    if (recorded.lockedUntil) this.log.warn({ tenantId, lockedUntil: recorded.lockedUntil }, 'too many unknown product keys; redemption locked for this tenant');
    // Another instance may have locked it a moment before: its lock is the one that holds.
    return recorded.lockedUntil ?? (await this.repositories.guessGuard.lockedUntil(tenantId, now)) ?? new Date(now.getTime() + this.limits.guessLockMinutes * 60_000).toISOString();
  }

  /** Runs `task` while no other change of this setup runs in this process. */
  exclusive<T>(setupId: string, task: () => Promise<T>): Promise<T> {
    return this.lock.run(setupId, task);
  }

  /** Applies `change` to a setup the actor owns, if the card's revision is still current. */
  async guarded(actor: Actor, setupId: string, rev: number | undefined, change: (setup: Setup) => Setup, step: rules.SetupStep, also?: (setup: Setup) => boolean, audit?: AuditOf<Setup>): Promise<{ ok: true; setup: Setup } | Refusal> {
    const refusal = await this.refusalFor(actor, setupId, rev, step, also);
    if (refusal) return refusal;
    return this.changeSetup(actor, setupId, rev, (setup) => change(setup!), audit);
  }

  /**
   * Re-checks ownership and revision under the setup's row lock, so two concurrent presses (on any
   * instance) cannot both apply. Revision 0 of a setup not saved yet creates it, once.
   */
  private async changeSetup(actor: Actor, setupId: string, rev: number | undefined, change: (setup: Setup | undefined) => Setup, audit?: AuditOf<Setup>): Promise<{ ok: true; setup: Setup } | Refusal> {
    try {
      const setup = await this.setups.update(
        actor.tenantId,
        setupId,
        (current) => {
          if (current.ownerId !== actor.userId) throw new RefusedError({ refused: 'notOwner', setup: current });
          if (rev !== undefined && current.rev !== rev) throw new RefusedError({ refused: 'stale', setup: current });
          return change(current);
        },
        audit,
      );
      if (setup) return { ok: true, setup };
    } catch (error) {
      if (error instanceof RefusedError) return error.refusal;
      throw error;
    }
    if (rev !== 0) return { refused: 'notFound' };
    const created = change(undefined);
    if (await this.setups.insert(actor.tenantId, created)) return { ok: true, setup: created };
    // Another press saved it first: this one met a setup it did not see.
    const stored = await this.find(actor.tenantId, setupId);
    if (!stored) throw new Error(`setup ${setupId} could not be saved`);
    return stored.ownerId === actor.userId ? { refused: 'stale', setup: stored } : { refused: 'notOwner', setup: stored };
  }

  /** Rewrites a setup whatever its owner or revision: for the bot's own follow-up steps. */
  async updateSetup(tenantId: string, setupId: string, change: (setup: Setup) => Setup, audit?: AuditOf<Setup>): Promise<Setup> {
    const setup = await this.setups.update(tenantId, setupId, change, audit);
    if (!setup) throw new Error(`setup ${setupId} vanished from tenant ${tenantId}`);
    return setup;
  }
}
