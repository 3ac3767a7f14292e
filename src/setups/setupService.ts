/**
 * Redeeming keys into a setup and reserving them: loads persisted state, applies a domain rule,
 * saves, and only then reports success. Knows nothing of Teams or cards.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Commerce, KeyCheck } from '../commerce/commerce.js';
import { renewalMismatch } from '../domain/keyChanges.js';
import type { KeyHasher } from '../commerce/keyHasher.js';
import type { Actor } from '../domain/actor.js';
import { keyFieldError, type CancelOutcome, type CheckResult, type ConfirmResult, type FieldError, type Refusal } from '../domain/outcomes.js';
import { lastGroup, parseKeyFields } from '../domain/productKey.js';
import * as rules from '../domain/setup.js';
import type { Setup, SetupKey, SetupTarget } from '../domain/setup.js';
import type { Store } from '../store/store.js';
import { KeyedLock } from '../store/keyedLock.js';
import type { AuditDraft } from '../domain/audit.js';
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

/** Who holds a key in the reservation index; a holder whose setup no longer holds keys is stale. */
interface Holder {
  tenantId: string;
  setupId: string;
}

function sameHolder(a: Holder | undefined, b: Holder): boolean {
  return a !== undefined && a.tenantId === b.tenantId && a.setupId === b.setupId;
}

class RefusedError extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.refused);
  }
}

export class SetupService {
  /** One change at a time per setup: a second press waits and then sees what the first one did. */
  private readonly lock = new KeyedLock();
  private readonly guessLock = new KeyedLock();
  /** One reservation of a key at a time, keyed by its hash. */
  private readonly keyLock = new KeyedLock();
  /** True until the start-up reconcile ran: then every `reserving` setup was interrupted. */
  private starting = true;

  constructor(
    private readonly store: Store,
    private readonly commerce: Commerce,
    private readonly hashKey: KeyHasher,
    private readonly now: () => Date,
    private readonly limits: SetupLimits,
    private readonly log: Logger,
    private readonly audit: AuditTrail,
  ) {}

  /** The entry of a setup's change, keyed by the verb and the setup (each happens once to a setup). */
  private entry(tenantId: string, actor: Actor, verb: string, setup: Setup): AuditDraft {
    return this.audit.draft(tenantId, actor, { id: `${verb}:${setup.id}`, verb, keys: setup.keys.map((key) => key.lastGroup), details: { setup: setup.id, owner: setup.ownerName }, outcome: { result: 'done' } });
  }

  find(tenantId: string, setupId: string): Setup | undefined {
    return this.store.setupBook(tenantId).data.setups.find((setup) => setup.id === setupId);
  }

  /** Setups of the actor's organisation that still hold or gather keys, newest first. */
  openSetups(tenantId: string): Setup[] {
    return this.store
      .setupBook(tenantId)
      .data.setups.filter(rules.isOpen)
      .toSorted((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }

  /** The refusal for acting on this setup now, if any. `rev` is the revision the card showed. */
  refusalFor(actor: Actor, setupId: string, rev: number | undefined, step: rules.SetupStep, also: (setup: Setup) => boolean = () => true): Refusal | undefined {
    const setup = this.find(actor.tenantId, setupId);
    if (!setup) return { refused: 'notFound' };
    if (setup.ownerId !== actor.userId) return { refused: 'notOwner', setup };
    if (setup.status === 'discarded') return { refused: 'discarded', setup };
    if (setup.status === 'released') return { refused: 'released', setup };
    if (rev !== undefined && rev !== setup.rev) return { refused: setup.status === 'reserved' ? 'alreadyReserved' : 'stale', setup };
    if (!rules.allows(setup, step) || !also(setup)) return { refused: setup.status === 'reserved' ? 'alreadyReserved' : 'stale', setup };
    return undefined;
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
    const existing = this.find(actor.tenantId, setupId);
    if (existing || rev !== 0) {
      const refusal = this.refusalFor(actor, setupId, rev, 'editKeys');
      if (refusal) return refusal;
    }
    const fieldErrors: FieldError[][] = fields.map(() => []);
    const tooLong = fields.map((text) => text.length > this.limits.maxFieldLength);
    tooLong.forEach((long, field) => long && fieldErrors[field]!.push({ code: 'tooLong', max: this.limits.maxFieldLength }));
    const entries = parseKeyFields(fields.map((text, field) => (tooLong[field] ? '' : text)));
    if (entries.length === 0 && !tooLong.some(Boolean)) fieldErrors[0]!.push({ code: 'empty' });
    if ((existing?.keys.length ?? 0) + entries.length > this.limits.maxKeysPerSetup) fieldErrors[0]!.push({ code: 'tooMany', max: this.limits.maxKeysPerSetup });
    // Nothing reaches the backend from a card that is wrong as a whole.
    if (fieldErrors.some((errors) => errors.length > 0)) return { ok: false, fieldErrors, setup: existing };

    // Checks of one tenant run one at a time, so parallel presses cannot outrun the guessing guard.
    const purpose = existing ? existing.target : target;
    const checked = await this.guessLock.run(actor.tenantId, () => this.checkEntries(actor, setupId, existing, entries, fieldErrors, purpose));
    if ('locked' in checked) return checked;
    if (fieldErrors.some((errors) => errors.length > 0)) return { ok: false, fieldErrors, setup: existing };
    return this.changeSetup(actor, setupId, rev, (setup) => rules.addKeys(setup ?? rules.newSetup(setupId, { id: actor.userId, name: actor.name }, this.now(), purpose), checked.found, this.now()));
  }

  private async checkEntries(actor: Actor, setupId: string, existing: Setup | undefined, entries: ReturnType<typeof parseKeyFields>, fieldErrors: FieldError[][], target: SetupTarget | undefined): Promise<{ found: SetupKey[] } | { ok: false; locked: string }> {
    const renewed = target?.kind === 'renew' ? this.store.partner(actor.tenantId).data.customers.find((c) => c.tenantId === target.customerId)?.subscriptions.find((s) => s.id === target.subscriptionId) : undefined;
    const lockedUntil = this.lockedUntil(actor.tenantId);
    if (lockedUntil) return { ok: false, locked: lockedUntil };
    const budget = this.unknownKeysLeft(actor.tenantId);
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
      const holder = this.liveHolder(ref);
      if (holder && !sameHolder(holder, { tenantId: actor.tenantId, setupId })) {
        const colleague = holder.tenantId === actor.tenantId ? this.find(actor.tenantId, holder.setupId) : undefined;
        errors.push(colleague ? { code: 'reservedByColleague', position, name: colleague.ownerName } : { code: 'reservedElsewhere', position });
        continue;
      }
      const check = await this.checkWithBackend(key);
      if (check.status !== 'valid') {
        if (check.status === 'unknown' && ++unknownKeys > budget) {
          await this.recordUnknownKeys(actor.tenantId, unknownKeys);
          return { ok: false, locked: this.lockedUntil(actor.tenantId)! };
        }
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
    if (unknownKeys > 0) await this.recordUnknownKeys(actor.tenantId, unknownKeys);
    return { found };
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

  /** The holder of a key in the index, unless its setup has since let go of it. */
  private liveHolder(ref: string): Holder | undefined {
    const holder = this.store.reservations(ref).data.reservations[ref];
    if (!holder) return undefined;
    const setup = this.find(holder.tenantId, holder.setupId);
    return setup && (rules.holdsKeys(setup) || setup.status === 'reserving') ? holder : undefined;
  }

  removeKey(actor: Actor, setupId: string, rev: number, keyId: string) {
    const hasKey = (setup: Setup) => setup.keys.some((key) => key.id === keyId);
    return this.lock.run(setupId, () => this.guarded(actor, setupId, rev, (setup) => rules.removeKey(setup, keyId, this.now()), 'editKeys', hasKey));
  }

  backToEntry(actor: Actor, setupId: string, rev: number) {
    return this.lock.run(setupId, () => this.guarded(actor, setupId, rev, (setup) => rules.backToEntry(setup, this.now()), 'review'));
  }

  /**
   * Reserves the setup's keys for this partner. The intent is saved first, then each key's
   * reservation, then the result; `reconcile` at start-up finishes or undoes an interrupted run.
   */
  confirm(actor: Actor, setupId: string, rev: number): Promise<ConfirmResult | Refusal> {
    return this.lock.run(setupId, () => this.confirmNow(actor, setupId, rev));
  }

  private async confirmNow(actor: Actor, setupId: string, rev: number): Promise<ConfirmResult | Refusal> {
    const refusal = this.refusalFor(actor, setupId, rev, 'review');
    if (refusal) return refusal;
    const reserving = await this.changeSetup(actor, setupId, rev, (setup) => rules.startReserving(setup!, this.now()));
    if ('refused' in reserving) return reserving;

    // Keys are reserved in one global order and the first conflict stops the run, so two setups
    // that share keys cannot each take one and lose the rest.
    const keys = reserving.setup.keys.toSorted((a, b) => a.ref.localeCompare(b.ref));
    const reserved: SetupKey[] = [];
    let taken: SetupKey | undefined;
    try {
      for (const key of keys) {
        const stillValid = () => this.commerce.recheckKey(key.handle).then((check) => check.status === 'valid');
        const got = await this.keyLock.run(key.ref, async () => (await stillValid()) && this.reserveKey(actor.tenantId, setupId, key));
        if (!got) {
          taken = key;
          break;
        }
        reserved.push(key);
      }
      if (!taken) {
        const setup = await this.updateSetup(actor.tenantId, setupId, (s) => rules.markReserved(s, this.now(), this.limits.reservationDays), (done) => this.entry(actor.tenantId, actor, 'redeem.confirm', done));
        return { ok: true, setup };
      }
    } catch (error) {
      await this.undoReserving(actor.tenantId, setupId).catch((undoError) => this.log.error({ err: undoError, setupId }, 'undo of a failed reservation failed; the next sweep reconciles'));
      throw error;
    }
    await this.releaseKeys({ tenantId: actor.tenantId, setupId }, reserved);
    const lost = taken;
    const setup = await this.updateSetup(actor.tenantId, setupId, (s) => {
      const kept = { ...s, keys: s.keys.filter((key) => key.id !== lost.id) };
      return kept.keys.length === 0 ? rules.backToEntry(kept, this.now()) : rules.abandonReserving(kept, this.now());
    });
    return { ok: false, taken: [lost.lastGroup], setup };
  }

  /** Discards an open setup and releases its keys. A setup that was never saved has nothing to discard. */
  discard(actor: Actor, setupId: string, rev: number | undefined): Promise<{ ok: true; setup?: Setup } | Refusal> {
    return this.lock.run(setupId, () => this.discardNow(actor, setupId, rev));
  }

  private async discardNow(actor: Actor, setupId: string, rev: number | undefined): Promise<{ ok: true; setup?: Setup } | Refusal> {
    if (!this.find(actor.tenantId, setupId) && rev === 0) return { ok: true };
    const result = await this.guarded(actor, setupId, rev, (setup) => rules.discard(setup, this.now()), 'discard', undefined, (done) => this.entry(actor.tenantId, actor, 'setup.discard', done));
    if ('refused' in result) return result;
    // The discard is saved; a key whose release fails now is freed by the next sweep's reconcile.
    await this.releaseKeys({ tenantId: actor.tenantId, setupId }, result.setup.keys).catch((error) => this.log.warn({ err: error, setupId }, 'keys of a discarded setup not yet released'));
    return result;
  }

  /** The setup as its card opens it, or why it cannot be shown to the actor. */
  open(actor: Actor, setupId: string): Setup | Refusal {
    return this.refusalFor(actor, setupId, undefined, 'open') ?? this.find(actor.tenantId, setupId)!;
  }

  /** "cancel": discards the person's latest unfinished setup, unless its keys are already reserved. */
  async cancelLatest(actor: Actor): Promise<CancelOutcome> {
    const target = rules.cancelTarget(this.openSetups(actor.tenantId), actor.userId);
    if (target.outcome !== 'discard') return target;
    const result = await this.discard(actor, target.setup.id, target.setup.rev);
    return 'refused' in result ? { outcome: 'nothing' } : { outcome: 'discarded', setup: target.setup };
  }

  /** Releases reservations that ran out; returns the released setups with their tenant, for notices. */
  async releaseDue(): Promise<Array<{ tenantId: string; setup: Setup }>> {
    const released: Array<{ tenantId: string; setup: Setup }> = [];
    for (const book of this.store.setupBooks()) {
      const { tenantId } = book.data;
      for (const due of book.data.setups.filter((setup) => rules.isReservationDue(setup, this.now()))) {
        let releasedNow = false;
        const setup = await this.updateSetup(
          tenantId,
          due.id,
          (s) => {
            releasedNow = rules.isReservationDue(s, this.now());
            return releasedNow ? rules.release(s, this.now()) : s;
          },
          (done) => (releasedNow ? this.entry(tenantId, SYSTEM, 'reservation.release', done) : undefined),
        );
        if (!releasedNow) continue;
        await this.releaseKeys({ tenantId, setupId: setup.id }, setup.keys);
        this.log.info({ tenantId, setupId: setup.id, keys: setup.keys.length }, 'reservation ran out; keys released');
        released.push({ tenantId, setup });
      }
    }
    return released;
  }

  /**
   * Drops closed setups past their retention from every setup book that holds some (all books stay
   * in memory, so they must not grow with a partner's history). Returns how many were dropped.
   */
  async dropPastRetention(): Promise<number> {
    let dropped = 0;
    // One reading of the clock for the whole sweep: a setup is judged the same when it is found and when it is dropped.
    const now = this.now();
    const past = (setup: Setup) => rules.isPastRetention(setup, now, this.limits.retentionDays);
    for (const book of this.store.setupBooks()) {
      if (!book.data.setups.some(past)) continue;
      dropped += await book.update((doc) => {
        const before = doc.setups.length;
        doc.setups = doc.setups.filter((setup) => !past(setup));
        return before - doc.setups.length;
      });
    }
    if (dropped > 0) this.log.info({ dropped }, 'closed setups past their retention dropped');
    return dropped;
  }

  /** Released setups whose owner has not been told yet (a notice survives a restart). */
  pendingReleaseNotices(): Array<{ tenantId: string; setup: Setup }> {
    const pending: Array<{ tenantId: string; setup: Setup }> = [];
    for (const book of this.store.setupBooks()) {
      for (const setup of book.data.setups) if (setup.releaseNotice === 'pending') pending.push({ tenantId: book.data.tenantId, setup });
    }
    return pending;
  }

  async markReleaseNoticeSent(tenantId: string, setupId: string): Promise<void> {
    await this.updateSetup(tenantId, setupId, (setup) => ({ ...setup, releaseNotice: 'sent' }));
  }

  /**
   * Brings reservations and setups back in line after a crash: an interrupted confirmation is
   * undone (the partner was never told it succeeded), and a reservation whose setup no longer holds
   * keys is dropped. An interrupted account creation is finished by the account service.
   */
  async reconcile(): Promise<{ undone: number; dropped: number }> {
    let undone = 0;
    // A confirmation in progress is `reserving` for moments; one older than this was interrupted.
    const interruptedBefore = this.now().getTime() - 5 * 60_000;
    for (const book of this.store.setupBooks()) {
      for (const setup of book.data.setups.filter((s) => s.status === 'reserving' && (this.starting || Date.parse(s.updatedAt) < interruptedBefore))) {
        await this.undoReserving(book.data.tenantId, setup.id);
        undone++;
      }
    }
    let dropped = 0;
    for (const shard of this.store.reservationShards()) {
      const orphans = Object.entries(shard.data.reservations)
        .filter(([, r]) => {
          const setup = this.find(r.tenantId, r.setupId);
          return !setup || !(rules.holdsKeys(setup) || setup.status === 'reserving');
        })
        .map(([ref]) => ref);
      if (orphans.length === 0) continue;
      await shard.update((draft) => orphans.forEach((ref) => delete draft.reservations[ref]));
      dropped += orphans.length;
    }
    if (undone + dropped > 0) this.log.warn({ undone, dropped }, 'reconciled setups and reservations after an interrupted run');
    this.starting = false;
    return { undone, dropped };
  }

  private async undoReserving(tenantId: string, setupId: string): Promise<void> {
    const setup = await this.updateSetup(tenantId, setupId, (s) => (s.status === 'reserving' ? rules.abandonReserving(s, this.now()) : s));
    await this.releaseKeys({ tenantId, setupId }, setup.keys);
  }

  private async reserveKey(tenantId: string, setupId: string, key: SetupKey): Promise<boolean> {
    return this.store.reservations(key.ref).update((shard) => {
      const holder = shard.reservations[key.ref];
      if (holder && !sameHolder(holder, { tenantId, setupId }) && this.liveHolder(key.ref)) return false;
      shard.reservations[key.ref] = { tenantId, setupId, reservedAt: this.now().toISOString() };
      return true;
    });
  }

  /** Drops the setup's entries from the reservation index (released, discarded or redeemed keys). */
  async releaseKeys(holder: Holder, keys: readonly SetupKey[]): Promise<void> {
    for (const key of keys) {
      const shard = this.store.reservations(key.ref);
      if (!sameHolder(shard.data.reservations[key.ref], holder)) continue;
      await shard.update((draft) => {
        if (sameHolder(draft.reservations[key.ref], holder)) delete draft.reservations[key.ref];
      });
    }
  }

  /** How many more unknown keys the tenant may enter before redemption locks. */
  private unknownKeysLeft(tenantId: string): number {
    const windowStart = this.now().getTime() - this.limits.guessWindowMinutes * 60_000;
    const recent = this.store.setupBook(tenantId).data.guard.unknownKeysAt.filter((at) => Date.parse(at) > windowStart).length;
    return Math.max(0, this.limits.guessLimit - recent);
  }

  private lockedUntil(tenantId: string): string | undefined {
    const until = this.store.setupBook(tenantId).data.guard.lockedUntil;
    return until && Date.parse(until) > this.now().getTime() ? until : undefined;
  }

  private async recordUnknownKeys(tenantId: string, count: number): Promise<void> {
    const now = this.now();
    const windowStart = now.getTime() - this.limits.guessWindowMinutes * 60_000;
    await this.store.setupBook(tenantId).update((doc) => {
      const recent = doc.guard.unknownKeysAt.filter((at) => Date.parse(at) > windowStart);
      for (let i = 0; i < count; i++) recent.push(now.toISOString());
      doc.guard.unknownKeysAt = recent;
      if (recent.length > this.limits.guessLimit) {
        doc.guard.lockedUntil = new Date(now.getTime() + this.limits.guessLockMinutes * 60_000).toISOString();
        doc.guard.unknownKeysAt = [];
        this.log.warn({ tenantId, unknownKeys: recent.length, lockedUntil: doc.guard.lockedUntil }, 'too many unknown product keys; redemption locked for this tenant');
      }
    });
  }

  /** Runs `task` while no other change of this setup runs. */
  exclusive<T>(setupId: string, task: () => Promise<T>): Promise<T> {
    return this.lock.run(setupId, task);
  }

  /** Applies `change` to a setup the actor owns, if the card's revision is still current. */
  guarded(actor: Actor, setupId: string, rev: number | undefined, change: (setup: Setup) => Setup, step: rules.SetupStep, also?: (setup: Setup) => boolean, entry?: (setup: Setup) => AuditDraft) {
    const refusal = this.refusalFor(actor, setupId, rev, step, also);
    if (refusal) return Promise.resolve(refusal);
    return this.changeSetup(actor, setupId, rev, (setup) => change(setup!), entry);
  }

  /** Re-checks ownership and revision inside the transaction, so two concurrent presses cannot both apply. */
  private async changeSetup(actor: Actor, setupId: string, rev: number | undefined, change: (setup: Setup | undefined) => Setup, entry?: (setup: Setup) => AuditDraft): Promise<{ ok: true; setup: Setup } | Refusal> {
    try {
      const setup = await this.audit.inSetupBook(actor.tenantId, (doc) => {
        const index = doc.setups.findIndex((s) => s.id === setupId);
        const current = doc.setups[index];
        if (current && current.ownerId !== actor.userId) throw new RefusedError({ refused: 'notOwner', setup: current });
        if (current && rev !== undefined && current.rev !== rev) throw new RefusedError({ refused: 'stale', setup: current });
        if (!current && rev !== 0) throw new RefusedError({ refused: 'notFound' });
        const next = change(current);
        if (current) doc.setups[index] = next;
        else doc.setups.push(next);
        return { result: next, entry: entry?.(next) };
      });
      return { ok: true, setup };
    } catch (error) {
      if (error instanceof RefusedError) return error.refusal;
      throw error;
    }
  }

  /** Rewrites a setup whatever its owner or revision: for the bot's own follow-up steps. */
  updateSetup(tenantId: string, setupId: string, change: (setup: Setup) => Setup, entry?: (setup: Setup) => AuditDraft | undefined): Promise<Setup> {
    return this.audit.inSetupBook(tenantId, (doc) => {
      const index = doc.setups.findIndex((s) => s.id === setupId);
      if (index < 0) throw new Error(`setup ${setupId} vanished from tenant ${tenantId}`);
      const next = change(doc.setups[index]!);
      doc.setups[index] = next;
      return { result: next, entry: entry?.(next) };
    });
  }
}
