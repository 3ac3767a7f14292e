/**
 * The audit trail in files: per partner an append-only JSON-lines file under `<data>/audit/`, each
 * line one entry, written with one append and flushed to disk (fsync) before it counts. After
 * pruning, the first line is the checkpoint the kept entries follow. Appends of one partner run one
 * at a time in this process; only the bot writes, the audit CLI only reads.
 *
 * A crash during an append can leave a last line cut short: that entry was never acknowledged, so
 * readers ignore it, and the next append moves it to a `.torn` file beside the trail and goes on.
 */
import { appendFile, mkdir, open, readdir, rename, rm, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  AuditCheckpointSchema,
  AuditDraftSchema,
  AuditEntrySchema,
  chainEntry,
  EMPTY_HEAD,
  prune,
  verifyChain,
  type AuditCheckpoint,
  type AuditDraft,
  type AuditEntry,
  type ChainHead,
} from '../domain/audit.js';
import { pruneRecord, type AuditLog, type AuditPage, type AuditQuery, type AuditVerification } from './auditLog.js';
import { fileNameFor } from './fileNames.js';
import { hiddenSibling, StoreFileError } from './jsonFile.js';
import { KeyedLock } from './keyedLock.js';

const NEWLINE = 0x0a;
const CHUNK = 64 * 1024;
/** Far more than any entry's line: the most a cut-short last line is looked for in. */
const MAX_LINE = 1024 * 1024;

/** A line of a trail file: an entry, or (first line only) the checkpoint of a pruned trail. */
type Line = { entry: AuditEntry; raw: unknown; text: string } | { checkpoint: AuditCheckpoint; text: string } | { damaged: unknown; text: string };

function parseLine(text: string): Line {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { damaged: undefined, text };
  }
  const checkpoint = AuditCheckpointSchema.safeParse((raw as { checkpoint?: unknown } | null)?.checkpoint);
  if (checkpoint.success) return { checkpoint: checkpoint.data, text };
  const entry = AuditEntrySchema.safeParse(raw);
  return entry.success ? { entry: entry.data, raw, text } : { damaged: raw, text };
}

/** Whether the file ends in the middle of a line (a write a crash cut short); false for no file. */
async function endsTorn(handle: FileHandle): Promise<{ size: number; torn: boolean }> {
  const { size } = await handle.stat();
  if (size === 0) return { size, torn: false };
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  return { size, torn: last[0] !== NEWLINE };
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The complete lines of a file from the last to the first, without reading it whole. */
async function* linesBackward(path: string): AsyncGenerator<string> {
  const handle = await openIfExists(path);
  if (!handle) return;
  try {
    const { size, torn } = await endsTorn(handle);
    let position = size;
    let rest = Buffer.alloc(0);
    let skipTorn = torn;
    while (position > 0) {
      const length = Math.min(CHUNK, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      await handle.read(chunk, 0, length, position);
      const buffer = Buffer.concat([chunk, rest]);
      let end = buffer.length;
      for (let i = buffer.length - 1; i >= 0; i--) {
        if (buffer[i] !== NEWLINE) continue;
        if (skipTorn) skipTorn = false;
        else if (i + 1 < end) yield buffer.subarray(i + 1, end).toString('utf8');
        end = i;
      }
      rest = buffer.subarray(0, end);
    }
    if (rest.length > 0 && !skipTorn) yield rest.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Whether a file ends in the middle of a line; false for no file. */
async function tornEnd(path: string): Promise<boolean> {
  const handle = await openIfExists(path);
  if (!handle) return false;
  try {
    return (await endsTorn(handle)).torn;
  } finally {
    await handle.close();
  }
}

/** The complete lines of a file, first to last; a torn last line is left out. */
async function* linesForward(path: string): AsyncGenerator<string> {
  const handle = await openIfExists(path);
  if (!handle) return;
  try {
    const { torn } = await endsTorn(handle);
    const stream = handle.createReadStream({ autoClose: false, start: 0 });
    const reader = createInterface({ input: stream, crlfDelay: Infinity });
    try {
      // readline yields a last line without its newline too: with a torn end, it is held back.
      let held: string | undefined;
      for await (const line of reader) {
        if (held) yield held;
        held = line;
      }
      if (held && !torn) yield held;
    } finally {
      reader.close();
      stream.destroy();
    }
  } finally {
    await handle.close();
  }
}

async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class FileAuditLog implements AuditLog {
  private readonly lock = new KeyedLock();
  /** Where each partner's next entry goes, once read from its file in this process. */
  private readonly heads = new Map<string, ChainHead>();

  constructor(private readonly dir: string) {}

  /** The trail under a data folder. */
  static in(dataDir: string): FileAuditLog {
    return new FileAuditLog(join(dataDir, 'audit'));
  }

  pathOf(partnerTenantId: string): string {
    return join(this.dir, fileNameFor(partnerTenantId).replace(/\.json$/, '.jsonl'));
  }

  append(draft: AuditDraft): Promise<AuditEntry> {
    const valid = AuditDraftSchema.parse(draft);
    return this.lock.run(valid.partnerTenantId, () => this.appendNow(valid));
  }

  appendMissing(partnerTenantId: string, drafts: readonly AuditDraft[]): Promise<AuditEntry[]> {
    const valid = drafts.map((draft) => AuditDraftSchema.parse(draft));
    if (valid.some((draft) => draft.partnerTenantId !== partnerTenantId)) throw new Error(`appendMissing: every draft must belong to partner ${partnerTenantId}`);
    return this.lock.run(partnerTenantId, async () => {
      const wanted = new Set(valid.map((draft) => draft.id));
      const found = new Map<string, AuditEntry>();
      // Entries to record again are recent: reading from the end finds them soon.
      for await (const text of linesBackward(this.pathOf(partnerTenantId))) {
        const line = parseLine(text);
        if ('entry' in line && wanted.has(line.entry.id) && !found.has(line.entry.id)) found.set(line.entry.id, line.entry);
        if (found.size === wanted.size) break;
      }
      const out: AuditEntry[] = [];
      for (const draft of valid) {
        const entry = found.get(draft.id) ?? (await this.appendNow(draft));
        found.set(draft.id, entry);
        out.push(entry);
      }
      return out;
    });
  }

  private async appendNow(draft: AuditDraft): Promise<AuditEntry> {
    const tenant = draft.partnerTenantId;
    const head = this.heads.get(tenant) ?? (await this.readHead(tenant));
    const line = JSON.stringify(chainEntry(draft, head));
    // As a reader will see it (fields without a value are not written).
    const entry = AuditEntrySchema.parse(JSON.parse(line));
    const path = this.pathOf(tenant);
    try {
      await this.appendLine(path, `${line}\n`);
    } catch (error) {
      // Part of the line may be on disk: the next append reads the file again and sets it aside.
      this.heads.delete(tenant);
      throw new StoreFileError(path, `the audit entry could not be written (${(error as Error).message})`);
    }
    this.heads.set(tenant, { seq: entry.seq, hash: entry.hash });
    return entry;
  }

  private async appendLine(path: string, line: string): Promise<void> {
    let handle: FileHandle;
    let created = false;
    try {
      handle = await open(path, 'a', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      handle = await open(path, 'a', 0o600);
      created = true;
    }
    try {
      created ||= (await handle.stat()).size === 0;
      await handle.write(line);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    // A new file's name is in the folder only once the folder is flushed too.
    if (created) await syncFolder(this.dir);
  }

  /**
   * The head of a partner's chain, from its last complete line. A torn end is moved to a `.torn`
   * file beside the trail first, so the next entry begins on a line of its own and nothing is lost.
   */
  private async readHead(partnerTenantId: string): Promise<ChainHead> {
    const path = this.pathOf(partnerTenantId);
    await this.setTornEndAside(path);
    for await (const text of linesBackward(path)) {
      const line = parseLine(text);
      if ('entry' in line) return { seq: line.entry.seq, hash: line.entry.hash };
      if ('checkpoint' in line) return { seq: line.checkpoint.seq, hash: line.checkpoint.hash };
      throw new StoreFileError(path, 'its last line is not an audit entry; run "npm run audit -- verify" to see where the trail breaks');
    }
    return EMPTY_HEAD;
  }

  private async setTornEndAside(path: string): Promise<void> {
    const handle = await openIfExists(path);
    if (!handle) return;
    let cut: { at: number; tail: Buffer } | undefined;
    try {
      const { size, torn } = await endsTorn(handle);
      if (!torn) return;
      const length = Math.min(size, MAX_LINE);
      const { buffer } = await handle.read(Buffer.alloc(length), 0, length, size - length);
      const lastNewline = buffer.lastIndexOf(NEWLINE);
      // An entry is far shorter: a longer end is no cut-short append, and is left for a person to look at.
      if (lastNewline === -1 && length < size) throw new StoreFileError(path, `it ends in ${MAX_LINE} bytes without a line break, which no audit entry has`);
      const at = size - buffer.length + lastNewline + 1;
      cut = { at, tail: buffer.subarray(lastNewline + 1) };
    } finally {
      await handle.close();
    }
    await appendFile(hiddenSibling(path, 'torn'), Buffer.concat([cut.tail, Buffer.from('\n')]), { mode: 0o600 });
    await truncate(path, cut.at);
  }

  async page(partnerTenantId: string, query: AuditQuery): Promise<AuditPage> {
    const entries: AuditEntry[] = [];
    for await (const text of linesBackward(this.pathOf(partnerTenantId))) {
      const line = parseLine(text);
      if (!('entry' in line)) continue;
      const { entry } = line;
      if (entry.partnerTenantId !== partnerTenantId) continue;
      if (query.before !== undefined && entry.seq >= query.before) continue;
      if (query.customerTenantId !== undefined && entry.customerTenantId !== query.customerTenantId) continue;
      if (query.objectId !== undefined && entry.actor.objectId !== query.objectId) continue;
      if (entries.length === query.limit) return { entries, next: entries.at(-1)?.seq };
      entries.push(entry);
    }
    return { entries };
  }

  pageForCustomer(partnerTenantId: string, customerTenantId: string, query: Omit<AuditQuery, 'customerTenantId' | 'objectId'>): Promise<AuditPage> {
    return this.page(partnerTenantId, { before: query.before, limit: query.limit, customerTenantId });
  }

  async *entries(partnerTenantId: string): AsyncIterable<AuditEntry> {
    for await (const text of linesForward(this.pathOf(partnerTenantId))) {
      const line = parseLine(text);
      if ('entry' in line && line.entry.partnerTenantId === partnerTenantId) yield line.entry;
    }
  }

  async verify(partnerTenantId: string): Promise<AuditVerification> {
    const path = this.pathOf(partnerTenantId);
    const torn = await tornEnd(path);
    const { checkpoint, lines } = await this.readTrail(path, partnerTenantId);
    // Entries as read, not as parsed (parsing drops added fields); anything else fails as unreadable.
    const raw = lines.map((line) => ('entry' in line ? line.raw : 'damaged' in line ? line.damaged : line));
    const verdict = verifyChain(partnerTenantId, raw, checkpoint ? { seq: checkpoint.seq, hash: checkpoint.hash } : EMPTY_HEAD);
    return { partnerTenantId, checkpoint, verdict, torn };
  }

  /** Every complete line of a trail; a checkpoint counts only as its first line. */
  private async readTrail(path: string, partnerTenantId: string): Promise<{ checkpoint?: AuditCheckpoint; lines: Line[] }> {
    const lines: Line[] = [];
    let checkpoint: AuditCheckpoint | undefined;
    for await (const text of linesForward(path)) {
      const line = parseLine(text);
      if (lines.length === 0 && !checkpoint && 'checkpoint' in line && line.checkpoint.partnerTenantId === partnerTenantId) checkpoint = line.checkpoint;
      else lines.push(line);
    }
    return { checkpoint, lines };
  }

  async checkpoint(partnerTenantId: string): Promise<AuditCheckpoint | undefined> {
    for await (const text of linesForward(this.pathOf(partnerTenantId))) {
      const line = parseLine(text);
      return 'checkpoint' in line && line.checkpoint.partnerTenantId === partnerTenantId ? line.checkpoint : undefined;
    }
    return undefined;
  }

  prune(partnerTenantId: string, cutoff: Date, now: Date): Promise<number> {
    return this.lock.run(partnerTenantId, async () => {
      const path = this.pathOf(partnerTenantId);
      await this.setTornEndAside(path);
      const { verdict, checkpoint } = await this.verify(partnerTenantId);
      if (!verdict.ok) throw new StoreFileError(path, 'its audit trail does not verify, so nothing is pruned; run "npm run audit -- verify" to see where it breaks');
      const { lines } = await this.readTrail(path, partnerTenantId);
      const entries = lines.flatMap((line) => ('entry' in line ? [line] : []));
      const result = prune(
        partnerTenantId,
        entries.map((line) => line.entry),
        cutoff,
        now,
        checkpoint,
      );
      if (result.pruned === 0) return 0;
      // Kept lines are copied as they were: their hashes cover exactly what they hold.
      const kept = entries.slice(result.pruned).map((line) => line.text);
      const temp = hiddenSibling(path, 'tmp');
      try {
        await writeFile(temp, `${[JSON.stringify({ checkpoint: result.checkpoint }), ...kept].join('\n')}\n`, { mode: 0o600, flush: true });
        await rename(temp, path);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      await syncFolder(this.dir);
      // Pruning is recorded in the trail it pruned.
      await this.appendNow(pruneRecord(partnerTenantId, result.checkpoint!.seq, result.pruned, cutoff, now));
      return result.pruned;
    });
  }

  async partners(): Promise<string[]> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((name) => name.endsWith('.jsonl')).sort();
    const ids = new Set<string>();
    for (const name of names) {
      for await (const text of linesBackward(join(this.dir, name))) {
        const line = parseLine(text);
        const id = 'entry' in line ? line.entry.partnerTenantId : 'checkpoint' in line ? line.checkpoint.partnerTenantId : undefined;
        // Only a file in its partner's place counts: a copy under another name is not that partner's trail.
        if (id !== undefined && this.pathOf(id) === join(this.dir, name)) ids.add(id);
        break;
      }
    }
    return [...ids].sort();
  }
}
