/**
 * Setups and key reservations on the files: each partner's setups in its setup book, and which setup
 * holds which key in the reservation shards (by the key's hash). A reservation is one transaction on
 * its shard, so of setups racing for a key one wins. The guessing guard lives in the setup book too.
 */
import type { Setup, SetupStatus } from '../../domain/setup.js';
import type { AuditRecorder, Recorded } from '../auditOutbox.js';
import type { Reservation } from '../documents.js';
import type { AuditOf, GuessGuardRepository, GuessLimits, KeyHolder, SetupRef, SetupRepository } from '../repositories.js';
import type { Store } from '../store.js';
import { copyOf } from '../copy.js';

/** Statuses in which a setup holds (or is reserving) its keys, as on PostgreSQL. */
const HOLDING: readonly SetupStatus[] = ['reserving', 'reserved', 'creating'];
const OPEN: readonly SetupStatus[] = ['entering', 'reviewing', 'reserved', 'creating'];

export class FileSetups implements SetupRepository {
  constructor(
    private readonly store: Store,
    private readonly recorder: AuditRecorder,
  ) {}

  async find(tenantId: string, setupId: string): Promise<Setup | undefined> {
    const setup = this.stored(tenantId, setupId);
    return setup && copyOf(setup);
  }

  async open(tenantId: string): Promise<Setup[]> {
    const setups = this.store.setupBook(tenantId).data.setups.filter((s) => OPEN.includes(s.status));
    return copyOf(setups).sort((a, b) => (a.updatedAt !== b.updatedAt ? (a.updatedAt < b.updatedAt ? 1 : -1) : a.id < b.id ? -1 : 1));
  }

  insert(tenantId: string, setup: Setup): Promise<boolean> {
    return this.store.setupBook(tenantId).update((doc, current) => {
      // Looked for in the book as stored: through the draft, each setup passed would get a draft of its own.
      if (current.setups.some((s) => s.id === setup.id)) return false;
      doc.setups.push(setup);
      return true;
    });
  }

  async update(tenantId: string, setupId: string, change: (setup: Setup) => Setup, audit?: AuditOf<Setup>): Promise<Setup | undefined> {
    if (!this.stored(tenantId, setupId)) return undefined;
    const { result } = await this.recorder.change(this.store.setupBook(tenantId), (doc, current): Recorded<Setup | undefined> => {
      const index = current.setups.findIndex((s) => s.id === setupId);
      if (index < 0) return { result: undefined };
      const given = copyOf(current.setups[index]!);
      const next = change(given);
      if (next === given) return { result: next };
      if (next.id !== setupId) throw new Error('a change may not give a setup another id');
      doc.setups[index] = next;
      // In the book's outbox, written with the change (see auditOutbox.ts).
      return { result: next, entries: audit && [...audit(next)] };
    });
    return result;
  }

  async withStatus(status: SetupStatus): Promise<SetupRef[]> {
    return this.refs((s) => s.status === status);
  }

  async reservationsDue(now: Date): Promise<SetupRef[]> {
    return this.refs((s) => s.status === 'reserved' && s.reservedUntil !== undefined && Date.parse(s.reservedUntil) <= now.getTime());
  }

  async pendingReleaseNotices(): Promise<SetupRef[]> {
    return this.refs((s) => s.releaseNotice === 'pending');
  }

  async dropClosedBefore(closedBefore: Date): Promise<number> {
    const gone = (s: Setup) =>
      s.closedAt !== undefined && Date.parse(s.closedAt) <= closedBefore.getTime() && (s.status === 'completed' || s.status === 'discarded' || (s.status === 'released' && s.releaseNotice !== 'pending'));
    let dropped = 0;
    for (const book of this.store.setupBooks()) {
      if (!book.data.setups.some(gone)) continue;
      dropped += await book.update((doc) => {
        const before = doc.setups.length;
        doc.setups = doc.setups.filter((s) => !gone(s));
        return before - doc.setups.length;
      });
    }
    return dropped;
  }

  async reserveKey(keyRef: string, tenantId: string, setupId: string, now: Date): Promise<boolean> {
    if (!this.stored(tenantId, setupId)) return false;
    return this.store.reservations(keyRef).update((shard) => {
      const holder = shard.reservations[keyRef];
      if (holder && holder.setupId !== setupId && this.holds(holder)) return false;
      shard.reservations[keyRef] = { tenantId, setupId, reservedAt: now.toISOString() };
      return true;
    });
  }

  async keyHolder(keyRef: string): Promise<KeyHolder | undefined> {
    const holder = this.store.reservations(keyRef).data.reservations[keyRef];
    const setup = holder && this.stored(holder.tenantId, holder.setupId);
    return setup && HOLDING.includes(setup.status) ? { tenantId: holder.tenantId, setupId: setup.id, ownerName: setup.ownerName } : undefined;
  }

  async releaseKeys(setupId: string, keyRefs?: readonly string[]): Promise<void> {
    const shards = keyRefs ? [...new Set(keyRefs.map((ref) => this.store.reservations(ref)))] : [...this.store.reservationShards()];
    for (const shard of shards) {
      const mine = (refs: Record<string, Reservation>) => Object.keys(refs).filter((ref) => refs[ref]!.setupId === setupId && (!keyRefs || keyRefs.includes(ref)));
      if (mine(shard.data.reservations).length === 0) continue;
      await shard.update((draft) => mine(draft.reservations).forEach((ref) => delete draft.reservations[ref]));
    }
  }

  async dropOrphanReservations(): Promise<number> {
    let dropped = 0;
    for (const shard of this.store.reservationShards()) {
      const orphans = (refs: Record<string, Reservation>) => Object.keys(refs).filter((ref) => !this.holds(refs[ref]!));
      if (orphans(shard.data.reservations).length === 0) continue;
      dropped += await shard.update((draft) => {
        const gone = orphans(draft.reservations);
        gone.forEach((ref) => delete draft.reservations[ref]);
        return gone.length;
      });
    }
    return dropped;
  }

  /** Whether the reservation's setup still holds its keys. */
  private holds(reservation: Reservation): boolean {
    const setup = this.stored(reservation.tenantId, reservation.setupId);
    return setup !== undefined && HOLDING.includes(setup.status);
  }

  private stored(tenantId: string, setupId: string): Readonly<Setup> | undefined {
    return this.store.setupBook(tenantId).data.setups.find((s) => s.id === setupId);
  }

  private refs(matches: (setup: Setup) => boolean): SetupRef[] {
    return [...this.store.setupBooks()].flatMap((book) => book.data.setups.filter(matches).map((setup) => ({ tenantId: book.data.tenantId, setup: copyOf(setup) })));
  }
}

export class FileGuessGuard implements GuessGuardRepository {
  constructor(private readonly store: Store) {}

  async lockedUntil(tenantId: string, now: Date): Promise<string | undefined> {
    const until = this.store.setupBook(tenantId).data.guard.lockedUntil;
    return until && Date.parse(until) > now.getTime() ? until : undefined;
  }

  async unknownKeysLeft(tenantId: string, now: Date, limits: GuessLimits): Promise<number> {
    const windowStart = now.getTime() - limits.windowMinutes * 60_000;
    const recent = this.store.setupBook(tenantId).data.guard.unknownKeysAt.filter((at) => Date.parse(at) > windowStart).length;
    return Math.max(0, limits.limit - recent);
  }

  recordUnknownKeys(tenantId: string, count: number, now: Date, limits: GuessLimits): Promise<{ lockedUntil?: string }> {
    const windowStart = now.getTime() - limits.windowMinutes * 60_000;
    return this.store.setupBook(tenantId).update((doc) => {
      const recent = doc.guard.unknownKeysAt.filter((at) => Date.parse(at) > windowStart);
      for (let i = 0; i < count; i++) recent.push(now.toISOString());
      if (recent.length <= limits.limit) {
        doc.guard.unknownKeysAt = recent;
        return {};
      }
      const lockedUntil = new Date(now.getTime() + limits.lockMinutes * 60_000).toISOString();
      doc.guard = { unknownKeysAt: [], lockedUntil };
      return { lockedUntil };
    });
  }
}
