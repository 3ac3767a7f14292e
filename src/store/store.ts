/**
 * The bot's own data: per partner tenant a file of its customers and staff and a setup book, plus
 * sharded reservation and customer indexes.
 * A change rewrites only the files it touches, so its cost follows what changed, not what is stored.
 *
 * Setup books are small and all kept in memory. Partner files are loaded when first used and kept
 * in a bounded cache; what the background jobs
 * need to find their work (a summary per partner) stays in memory, and is cached on disk with the
 * size and time of the file it was made from, so a start reads only the files changed since.
 */
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { DocumentFile, type Doc } from './documentFile.js';
import { parseDocument, readPlainFile, readPlainFileSync, StoreFileError, unreadableReason, type PlainFile } from './jsonFile.js';
import {
  CustomerIndexShardSchema,
  emptyCustomerIndexShard,
  type CustomerIndexShard,
  PartnerDocSchema,
  ReservationShardSchema,
  emptyPartnerDoc,
  emptyReservationShard,
  emptySetupBook,
  type PartnerDoc,
  SetupBookSchema,
  type SetupBook,
  type ReservationShard,
  SCHEMA_VERSION,
} from './documents.js';
import { fileNameFor } from './fileNames.js';
import { EMPTY_HEAD, PartnerSummarySchema, summarise, type PartnerHead, type PartnerSummary, type PartnerWork } from './partnerSummary.js';
import { ShardedDocs, inBatches, jsonFilesIn, shardHash } from './shardedDocs.js';
import { TimeSlices } from './timeSlices.js';

/** The narrow interface the bot uses; a server database can implement it later. */
export interface Store {
  /** The partner tenant's document (loaded on first use); an empty one when the tenant is new. */
  partner(tenantId: string): Doc<PartnerDoc>;
  /**
   * Brings the partner's file into memory without holding the event loop while it is read, so that
   * `partner(tenantId).data` right after finds it there; does nothing when it is there already.
   */
  loadPartner(tenantId: string): Promise<void>;
  /**
   * The small part of the partner's file most turns read, without loading the file. Replaced by a
   * new object with every change of the file, never changed: the same head means the same file.
   */
  head(tenantId: string): PartnerHead;
  /** The partners whose files hold work of this kind for a background job. */
  partnersWith(work: PartnerWork): Array<Doc<PartnerDoc>>;
  /** Every partner's summary, without loading their files. */
  summaries(): Iterable<readonly [tenantId: string, summary: PartnerSummary]>;
  /** The partner tenant's setups and guessing guard; an empty book when the tenant is new. */
  setupBook(tenantId: string): Doc<SetupBook>;
  setupBooks(): Iterable<Doc<SetupBook>>;
  /** The reservation shard that holds the key with this hash. */
  reservations(keyRef: string): Doc<ReservationShard>;
  reservationShards(): Iterable<Doc<ReservationShard>>;
  /** The index shard that says which partner set up this customer tenant. */
  customerIndex(customerTenantId: string): Doc<CustomerIndexShard>;
  /** Writes what is still only in memory (the summaries' cache); call before the process ends. */
  flush(): Promise<void>;
}

const SummaryEntrySchema = z.object({ tenantId: z.string().min(1), mtimeMs: z.number(), size: z.number().int(), summary: PartnerSummarySchema });
type SummaryEntry = z.infer<typeof SummaryEntrySchema>;
const SummaryShardSchema = z.object({ schemaVersion: z.literal(SCHEMA_VERSION), files: z.record(z.string(), SummaryEntrySchema) });
type SummaryShard = z.infer<typeof SummaryShardSchema>;
const emptySummaryShard = (): SummaryShard => ({ schemaVersion: SCHEMA_VERSION, files: {} });

export interface StoreOptions {
  /** Partner files kept in memory at most (least recently used ones are dropped first). */
  residentPartners?: number;
  /** How long a changed summary waits before the cache file is written (changes meanwhile join it). */
  summaryFlushMs?: number;
}

/** The size and time of a partner file as last seen valid: a file that still matches needs no new check. */
type FileStamp = Pick<SummaryEntry, 'mtimeMs' | 'size'>;

function stampOf(stats: { mtimeMs: number; size: number }): FileStamp {
  return { mtimeMs: stats.mtimeMs, size: stats.size };
}

/** Within a millisecond: copies and restores (cp -p, fs.cp) keep a file's time only to about that. */
function sameStamp(a: FileStamp | undefined, b: FileStamp): boolean {
  return a !== undefined && Math.abs(a.mtimeMs - b.mtimeMs) < 1 && a.size === b.size;
}

/**
 * Partner files read but not yet kept (see document()): enough for a read followed shortly by a
 * change or a second read of the same partner, few enough to cost little memory.
 */
const PROBATION = 8;
/** Documents read in advance and not used yet: about one per turn under way. */
const READ_AHEAD = 32;

export class JsonFileStore implements Store {
  private readonly resident = new Map<string, DocumentFile<PartnerDoc>>();
  /** Read once and not kept yet, oldest first; never the same partner as in `resident`. */
  private readonly probation = new Map<string, DocumentFile<PartnerDoc>>();
  /** Files being read by loadPartner, one read per partner at a time. */
  private readonly loading = new Map<string, Promise<void>>();
  /** Documents loadPartner read, until their first use (which counts as the first look, not a second). */
  private readonly readAhead = new Map<string, DocumentFile<PartnerDoc>>();
  /**
   * Files read in advance are parsed one after another, with the event loop let in every few
   * milliseconds: reads that finish together (the lists of many partners at once) would otherwise be
   * parsed in one stretch, a few milliseconds each, with every other turn and timer waiting.
   */
  private parsing: Promise<void> = Promise.resolve();
  private readonly parseSlices = new TimeSlices();
  private readonly summaryOf = new Map<string, PartnerSummary>();
  private readonly validStamp = new Map<string, FileStamp>();
  /** Changes under way per partner: a partner with changes under way is never dropped from memory. */
  private readonly busy = new Map<string, number>();
  /** Successful changes per partner, to notice one that happened while its file's time was read. */
  private readonly changes = new Map<string, number>();
  /** Partners whose cached summary is behind the one in memory. */
  private readonly unflushed = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly partnersDir: string,
    private readonly setupsDir: string,
    private readonly books: Map<string, DocumentFile<SetupBook>>,
    private readonly shards: ShardedDocs<ReservationShard>,
    private readonly customerShards: ShardedDocs<CustomerIndexShard>,
    private readonly summaryCache: ShardedDocs<SummaryShard>,
    private readonly capacity: number,
    private readonly flushMs: number,
  ) {}

  /**
   * Reads the summaries' cache and every partner file changed since it was written (validating it,
   * so a damaged file stops the start, naming the file); unchanged files are read when first used.
   */
  static async open(dir: string, options: StoreOptions = {}): Promise<JsonFileStore> {
    const partnersDir = join(dir, 'partners');
    const setupsDir = join(dir, 'setups');
    const [books, shards, customerShards, summaryCache] = await Promise.all([
      loadSetupBooks(setupsDir),
      ShardedDocs.open(join(dir, 'reservations'), ReservationShardSchema, emptyReservationShard),
      ShardedDocs.open(join(dir, 'customers'), CustomerIndexShardSchema, emptyCustomerIndexShard),
      // A cache: a damaged (or stale) shard only means its partners' files are read again.
      ShardedDocs.open(join(dir, 'partner-summaries'), SummaryShardSchema, emptySummaryShard, { rebuildDamaged: true, sealed: true }),
    ]);
    shareIndexEntries(customerShards);
    const store = new JsonFileStore(partnersDir, setupsDir, books, shards, customerShards, summaryCache, options.residentPartners ?? 256, options.summaryFlushMs ?? 1000);
    await store.loadSummaries();
    return store;
  }

  private async loadSummaries(): Promise<void> {
    const names = await jsonFilesIn(this.partnersDir);
    const stamps = await inBatches(names, (name) => stat(join(this.partnersDir, name)), 64);
    const changed: string[] = [];
    names.forEach((name, i) => {
      const entry = this.cacheShard(name).data.files[name];
      const stamp = stampOf(stamps[i]!);
      if (entry && sameStamp(entry, stamp) && fileNameFor(entry.tenantId) === name) {
        this.summaryOf.set(entry.tenantId, entry.summary);
        this.validStamp.set(entry.tenantId, stamp);
      } else changed.push(name);
    });
    const docs = await inBatches(changed, (name) => DocumentFile.open(join(this.partnersDir, name), PartnerDocSchema, () => emptyPartnerDoc('')));
    docs.forEach((doc) => {
      const tenantId = doc.data.tenantId;
      assertTenantFile(doc.path, tenantId);
      this.summaryOf.set(tenantId, summarise(doc.data));
      this.keep(tenantId, doc);
      this.unflushed.add(tenantId);
    });
    // Entries of files that are gone would otherwise come back as partners with work.
    const present = new Set(names);
    for (const shard of this.summaryCache.all()) {
      const gone = Object.keys(shard.data.files).filter((name) => !present.has(name));
      if (gone.length > 0) await shard.update((draft) => gone.forEach((name) => delete draft.files[name]));
    }
    await this.flush();
  }

  partner(tenantId: string): Doc<PartnerDoc> {
    const store = this;
    return {
      get data() {
        return store.document(tenantId, false).data;
      },
      update: (change) => this.change(tenantId, change),
    };
  }

  head(tenantId: string): PartnerHead {
    return this.summaryOf.get(tenantId)?.head ?? EMPTY_HEAD;
  }

  partnersWith(work: PartnerWork): Array<Doc<PartnerDoc>> {
    return [...this.summaryOf].filter(([, summary]) => summary.work.includes(work)).map(([tenantId]) => this.partner(tenantId));
  }

  summaries(): Iterable<readonly [string, PartnerSummary]> {
    return this.summaryOf.entries();
  }

  setupBook(tenantId: string): Doc<SetupBook> {
    let book = this.books.get(tenantId);
    if (!book) {
      book = DocumentFile.fresh(join(this.setupsDir, fileNameFor(tenantId)), emptySetupBook(tenantId), SetupBookSchema);
      this.books.set(tenantId, book);
    }
    return book;
  }

  setupBooks(): Iterable<Doc<SetupBook>> {
    return this.books.values();
  }

  reservations(keyRef: string): Doc<ReservationShard> {
    return this.shards.get(keyRef);
  }

  reservationShards(): Iterable<Doc<ReservationShard>> {
    return this.shards.all();
  }

  customerIndex(customerTenantId: string): Doc<CustomerIndexShard> {
    return this.customerShards.get(shardHash(customerTenantId));
  }

  /** Writes the summaries changed since the last flush into their cache shards. */
  flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const run = this.flushing.then(() => this.flushNow());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async flushNow(): Promise<void> {
    // The files' times are asked for in batches; the cache's shards are then changed between turns of
    // the event loop: each change validates and serialises its shard, and hundreds at once (after a
    // reminder run changed as many partners) held the loop for 150 ms.
    const stamped = await inBatches([...this.unflushed], async (tenantId) => {
      const before = this.changes.get(tenantId) ?? 0;
      if (this.busy.has(tenantId)) return undefined;
      const name = fileNameFor(tenantId);
      const stats = await stat(join(this.partnersDir, name)).catch(() => undefined);
      return stats && { tenantId, name, before, stamp: stampOf(stats) };
    });
    const slices = new TimeSlices();
    const writes: Array<Promise<void>> = [];
    for (const item of stamped) {
      if (!item) continue;
      await slices.pause();
      const { tenantId, name, before, stamp } = item;
      // The entry must describe the file as it is: a change since its stat makes it wait for the next flush.
      if (this.busy.has(tenantId) || (this.changes.get(tenantId) ?? 0) !== before) continue;
      const entry = { tenantId, ...stamp, summary: this.summaryOf.get(tenantId)! };
      this.unflushed.delete(tenantId);
      this.validStamp.set(tenantId, stamp);
      writes.push(this.cacheShard(name).update((draft) => void (draft.files[name] = entry)));
    }
    await Promise.all(writes);
    if (this.unflushed.size > 0) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => void this.flush().catch(() => this.scheduleFlush()), this.flushMs).unref();
  }

  private cacheShard(fileName: string): Doc<SummaryShard> {
    return this.summaryCache.get(shardHash(fileName));
  }

  private async change<R>(tenantId: string, change: (draft: PartnerDoc, current: Readonly<PartnerDoc>) => R): Promise<R> {
    this.busy.set(tenantId, (this.busy.get(tenantId) ?? 0) + 1);
    try {
      const doc = this.document(tenantId);
      const result = await doc.update(change);
      this.changes.set(tenantId, (this.changes.get(tenantId) ?? 0) + 1);
      this.summaryOf.set(tenantId, summarise(doc.data));
      this.unflushed.add(tenantId);
      this.scheduleFlush();
      return result;
    } finally {
      const left = this.busy.get(tenantId)! - 1;
      if (left === 0) this.busy.delete(tenantId);
      else this.busy.set(tenantId, left);
    }
  }

  /**
   * The partner's document in memory, read from its file when not there (a small file: read at once).
   * A file read only to be read is kept on its second use, when it is changed, or while memory has
   * room for it (keeping it then drops no other): once memory is full, a single look, such as a
   * customer list of each of many partners in turn, would otherwise drop from memory the partners in
   * active use, one per look, and every look would read a file (and leave a whole document for the
   * garbage collector) again.
   */
  private document(tenantId: string, change = true): DocumentFile<PartnerDoc> {
    const kept = this.resident.get(tenantId);
    if (kept) {
      // Most recently used last: the map's order is the order of dropping.
      this.resident.delete(tenantId);
      this.resident.set(tenantId, kept);
      return kept;
    }
    const looked = this.probation.get(tenantId);
    const ahead = this.readAhead.get(tenantId);
    this.probation.delete(tenantId);
    this.readAhead.delete(tenantId);
    const doc = looked ?? ahead ?? this.read(tenantId);
    this.place(tenantId, doc, change || looked !== undefined);
    return doc;
  }

  /** Keeps a document just read, or looked at a second time; a first look waits in probation. */
  private place(tenantId: string, doc: DocumentFile<PartnerDoc>, keep: boolean): void {
    if (keep || this.resident.size < this.capacity) return this.keep(tenantId, doc);
    this.probation.set(tenantId, doc);
    // Never changed while here (a change keeps it first), so nothing needs remembering.
    if (this.probation.size > PROBATION) this.probation.delete(this.probation.keys().next().value!);
  }

  loadPartner(tenantId: string): Promise<void> {
    if (this.inMemory(tenantId)) return Promise.resolve();
    let load = this.loading.get(tenantId);
    if (!load) {
      load = this.readInAdvance(tenantId).finally(() => this.loading.delete(tenantId));
      this.loading.set(tenantId, load);
    }
    return load;
  }

  private inMemory(tenantId: string): boolean {
    return this.resident.has(tenantId) || this.probation.has(tenantId) || this.readAhead.has(tenantId);
  }

  private async readInAdvance(tenantId: string): Promise<void> {
    const path = this.pathOf(tenantId);
    const changes = this.changes.get(tenantId);
    let file: PlainFile;
    try {
      file = await readPlainFile(path);
    } catch {
      // No file, or one that cannot be read: the first use reads it as always, and says what is wrong.
      return;
    }
    const parse = this.parsing.then(async () => {
      await this.parseSlices.pause();
      // A change meanwhile read (and keeps) the file itself, and this read may be older than it.
      if (this.inMemory(tenantId) || this.busy.has(tenantId) || this.changes.get(tenantId) !== changes) return;
      try {
        this.readAhead.set(tenantId, this.parsed(tenantId, path, file));
      } catch {
        // A damaged file: its first use reads it again and says so.
      }
    });
    this.parsing = parse;
    await parse;
    // Bounded: a document read and then not used (the turn failed first) is only dropped.
    if (this.readAhead.size > READ_AHEAD) this.readAhead.delete(this.readAhead.keys().next().value!);
  }

  private pathOf(tenantId: string): string {
    return join(this.partnersDir, fileNameFor(tenantId));
  }

  private read(tenantId: string): DocumentFile<PartnerDoc> {
    const path = this.pathOf(tenantId);
    let file: PlainFile;
    try {
      file = readPlainFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return DocumentFile.fresh(path, emptyPartnerDoc(tenantId), PartnerDocSchema);
      throw new StoreFileError(path, unreadableReason(error));
    }
    return this.parsed(tenantId, path, file);
  }

  private parsed(tenantId: string, path: string, file: PlainFile): DocumentFile<PartnerDoc> {
    const stamp = stampOf(file.stats);
    // A file as this process last saw it valid needs no second check; anything else is checked now.
    const trusted = sameStamp(this.validStamp.get(tenantId), stamp);
    const data = parseDocument(path, file.text, trusted ? undefined : PartnerDocSchema);
    assertTenantFile(path, data.tenantId);
    this.validStamp.set(tenantId, stamp);
    return DocumentFile.fresh(path, data, PartnerDocSchema);
  }

  private keep(tenantId: string, doc: DocumentFile<PartnerDoc>): void {
    this.resident.set(tenantId, doc);
    if (this.resident.size <= this.capacity) return;
    for (const [id, candidate] of this.resident) {
      if (this.resident.size <= this.capacity) break;
      if (id === tenantId || this.busy.has(id)) continue;
      this.rememberStamp(id, candidate);
      this.resident.delete(id);
    }
  }

  /** A dropped file was written by this process: its current time and size mark it as valid. */
  private rememberStamp(tenantId: string, doc: DocumentFile<PartnerDoc>): void {
    if (!this.changes.has(tenantId)) return;
    try {
      this.validStamp.set(tenantId, stampOf(statSync(doc.path)));
    } catch {
      this.validStamp.delete(tenantId);
    }
  }
}

/** A file that holds another tenant than its name says was moved or edited by hand: the bot must not use it. */
function assertTenantFile(path: string, tenantId: string): void {
  if (fileNameFor(tenantId) !== basename(path)) throw new StoreFileError(path, `it holds tenant ${tenantId}, which belongs in another file`);
}

/** Every setup book, validated: a damaged one stops the start, naming the file. */
async function loadSetupBooks(dir: string): Promise<Map<string, DocumentFile<SetupBook>>> {
  const names = await jsonFilesIn(dir);
  const books = await inBatches(names, (name) => DocumentFile.open(join(dir, name), SetupBookSchema, () => emptySetupBook('')));
  return new Map(
    books.map((book) => {
      assertTenantFile(book.path, book.data.tenantId);
      return [book.data.tenantId, book] as const;
    }),
  );
}

/**
 * An index entry, while its partner is all it holds: with a second field this is `never`, and
 * shareIndexEntries no longer compiles, as entries of one partner could then differ.
 */
type PartnerOnlyEntry = [keyof CustomerIndexShard['customers'][string]] extends ['partnerTenantId'] ? CustomerIndexShard['customers'][string] : never;

/**
 * Each entry of the customer index is read as an object of its own, though a partner's entries are
 * all alike: they share one (in place). For 250,000 customers: 56 MB, now 30 MB, in 15–45 ms (keyed
 * by their JSON, 350 ms). Changes replace an entry, never change it (immer copies what it touches).
 */
function shareIndexEntries(shards: ShardedDocs<CustomerIndexShard>): void {
  const byPartner = new Map<string, PartnerOnlyEntry>();
  for (const shard of shards.all()) {
    const customers = shard.data.customers as Record<string, PartnerOnlyEntry>;
    for (const id in customers) {
      const entry = customers[id]!;
      const shared = byPartner.get(entry.partnerTenantId);
      if (shared) customers[id] = shared;
      else byPartner.set(entry.partnerTenantId, entry);
    }
  }
}
