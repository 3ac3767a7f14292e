/**
 * The audit trail's entries: who did what, where and with what outcome, chained per partner so that
 * a changed, removed or reordered entry is found. Pure rules; storing them is the store's.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { lastGroup, maskKey, maskKeysInText } from './productKey.js';
import { ROLES } from './roles.js';

/** The hash an entry without predecessor (the first of a partner's trail) points to. */
export const GENESIS_HASH = '0'.repeat(64);

const hash = z.string().regex(/^[0-9a-f]{64}$/);
const MAX_NAME = 500;
const MAX_TEXT = 2000;
const MASKED_KEY = /^(?:•••••-){4}[A-Z0-9]{5}$/;

export const AuditActorSchema = z.object({
  name: z.string().max(MAX_NAME),
  /** Entra object id (the Teams user's aadObjectId), or the job's name for the bot's own work. */
  objectId: z.string().min(1),
  /** The partner role held at the time; customerAdmin in a customer's tenant; none without a role; system for the bot's jobs. */
  role: z.enum([...ROLES, 'customerAdmin', 'none', 'system']),
});
export type AuditActor = z.infer<typeof AuditActorSchema>;

export const AuditOutcomeSchema = z.discriminatedUnion('result', [z.object({ result: z.literal('done') }), z.object({ result: z.literal('refused'), reason: z.string().min(1).max(MAX_TEXT) })]);
export type AuditOutcome = z.infer<typeof AuditOutcomeSchema>;

/** What a use case records: everything but the chain. */
export const AuditDraftSchema = z.object({
  /**
   * Unique per partner; derived from the change's own idempotency key (setup id, request id, offer
   * id and verb) so that recording a change again after a crash is recognised as the same entry.
   */
  id: z.string().min(1).max(200),
  at: z.iso.datetime(),
  partnerTenantId: z.string().min(1),
  actor: AuditActorSchema,
  verb: z.string().min(1).max(100),
  customerTenantId: z.string().optional(),
  subscriptionId: z.string().optional(),
  /** Product keys, masked to their last group. */
  keys: z.array(z.string().regex(MASKED_KEY)).max(500).default([]),
  /** What else identifies the change (a role given, a renewal's term); masked like any typed text. */
  details: z.record(z.string().max(100), z.string().max(MAX_TEXT)).default({}),
  outcome: AuditOutcomeSchema,
});
export type AuditDraft = z.infer<typeof AuditDraftSchema>;

export const AuditEntrySchema = AuditDraftSchema.extend({
  /** 1, 2, 3, … per partner, without gaps; pruning keeps counting. */
  seq: z.number().int().positive(),
  /** The hash of the partner's entry before this one (or of the checkpoint, or GENESIS_HASH). */
  prev: hash,
  /** sha256 over the entry's canonical form without this field. */
  hash,
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/** Where a pruned trail begins: the last entry pruned, so the first one kept can still be checked. */
export const AuditCheckpointSchema = z.object({
  partnerTenantId: z.string().min(1),
  seq: z.number().int().nonnegative(),
  hash,
  /** When the last pruned entry was made, and when it was pruned. */
  at: z.iso.datetime(),
  prunedAt: z.iso.datetime(),
});
export type AuditCheckpoint = z.infer<typeof AuditCheckpointSchema>;

export interface AuditDraftInput {
  id: string;
  at: Date;
  partnerTenantId: string;
  actor: AuditActor;
  verb: string;
  customerTenantId?: string;
  subscriptionId?: string;
  /** Full or already masked keys; only their last group is kept. */
  keys?: readonly string[];
  details?: Readonly<Record<string, string>>;
  outcome: AuditOutcome;
}

/**
 * An entry to record. Keys are reduced to their last group, and every typed text (names, reasons,
 * details) has product keys pasted into it masked, so a full key never reaches the trail.
 */
export function auditDraft(input: AuditDraftInput): AuditDraft {
  // Cut to the schema's bounds after masking (a mask is longer than the key it hides): a long name
  // must not keep a change from being recorded.
  const text = (value: string, max = MAX_TEXT) => maskKeysInText(value).slice(0, max);
  return AuditDraftSchema.parse({
    id: input.id,
    at: input.at.toISOString(),
    partnerTenantId: input.partnerTenantId,
    actor: { ...input.actor, name: text(input.actor.name, MAX_NAME) },
    verb: input.verb,
    customerTenantId: input.customerTenantId,
    subscriptionId: input.subscriptionId,
    keys: (input.keys ?? []).map((key) => maskKey(lastGroup(key).toUpperCase())),
    details: Object.fromEntries(Object.entries(input.details ?? {}).map(([name, value]) => [name, text(value)])),
    outcome: input.outcome.result === 'refused' ? { result: 'refused', reason: text(input.outcome.reason) } : input.outcome,
  });
}

/**
 * JSON with object keys sorted at every level and nothing undefined: the same entry always gives
 * the same text, whatever order its fields were written in.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const fields = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { hash: _ignored, ...content } = entry as AuditEntry;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/** Where the next entry of a trail goes: after this sequence number, pointing at this hash. */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_HEAD: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** The draft as the next entry after `head`. */
export function chainEntry(draft: AuditDraft, head: ChainHead): AuditEntry {
  const entry = { ...draft, seq: head.seq + 1, prev: head.hash };
  return { ...entry, hash: entryHash(entry) };
}

export type ChainProblem =
  | 'unreadable' // not an entry at all (damaged or edited into something else)
  | 'otherPartner' // belongs to another partner's trail
  | 'content' // its hash does not match its content: it was changed
  | 'sequence' // not the next number: an entry before it was removed, or entries were reordered
  | 'link'; // does not point at the entry before it

/** The first entry that does not fit, named by its place in the trail. */
export interface ChainBreak {
  /** 1-based position among the entries read (a line of the file, not counting a checkpoint). */
  position: number;
  seq?: number;
  id?: string;
  at?: string;
  problem: ChainProblem;
  /** The sequence number and hash the entry should have followed. */
  expected: ChainHead;
}

export type ChainVerdict = { ok: true; entries: number; head: ChainHead } | { ok: false; entries: number; broken: ChainBreak };

/**
 * Walks a partner's entries in order from `start` (a checkpoint, or the empty head) and names the
 * first that does not fit. `raw` items are parsed here: a damaged one is a break, not a crash.
 */
export function verifyChain(partnerTenantId: string, raw: Iterable<unknown>, start: ChainHead = EMPTY_HEAD): ChainVerdict {
  let head = start;
  let position = 0;
  for (const item of raw) {
    position++;
    const parsed = AuditEntrySchema.safeParse(item);
    const broken = (problem: ChainProblem, entry?: AuditEntry): ChainVerdict => ({
      ok: false,
      entries: position - 1,
      broken: { position, problem, expected: head, ...(entry ? { seq: entry.seq, id: entry.id, at: entry.at } : {}) },
    });
    if (!parsed.success) return broken('unreadable');
    const entry = parsed.data;
    if (entry.partnerTenantId !== partnerTenantId) return broken('otherPartner', entry);
    // Over the entry as read, not as parsed: parsing would drop a field added to it.
    if (entryHash(item as AuditEntry) !== entry.hash) return broken('content', entry);
    if (entry.seq !== head.seq + 1) return broken('sequence', entry);
    if (entry.prev !== head.hash) return broken('link', entry);
    head = { seq: entry.seq, hash: entry.hash };
  }
  return { ok: true, entries: position, head };
}

/**
 * Retention: the entries made before `cutoff` at the start of the trail go, and the checkpoint
 * remembers the last of them, so the first entry kept can still be checked. Entries are pruned only
 * as a leading run: an older entry behind a newer one (a clock set back) waits for the newer one.
 */
export function prune(
  partnerTenantId: string,
  entries: readonly AuditEntry[],
  cutoff: Date,
  now: Date,
  previous?: AuditCheckpoint,
): { keep: AuditEntry[]; checkpoint?: AuditCheckpoint; pruned: number } {
  let count = 0;
  while (count < entries.length && Date.parse(entries[count]!.at) < cutoff.getTime()) count++;
  if (count === 0) return { keep: [...entries], checkpoint: previous, pruned: 0 };
  const last = entries[count - 1]!;
  return { keep: entries.slice(count), checkpoint: { partnerTenantId, seq: last.seq, hash: last.hash, at: last.at, prunedAt: now.toISOString() }, pruned: count };
}

/** The day before which entries go, for a retention of `days`. */
export function retentionCutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - days * 86_400_000);
}

/** A description of a break for people (the CLI, a log line). */
export function describeBreak(partnerTenantId: string, broken: ChainBreak): string {
  const which = broken.seq !== undefined ? `entry ${broken.seq} (id ${broken.id}, ${broken.at})` : `the entry at position ${broken.position}`;
  const why: Record<ChainProblem, string> = {
    unreadable: 'it is not a readable audit entry',
    otherPartner: "it belongs to another partner's trail",
    content: 'its content does not match its hash: it was changed after it was written',
    sequence: `its number is not ${broken.expected.seq + 1}: an entry before it was removed, or entries were reordered`,
    link: `it does not point at the entry before it (${broken.expected.seq === 0 ? 'the start of the trail' : `entry ${broken.expected.seq}`})`,
  };
  return `Audit trail of partner ${partnerTenantId}: ${which} does not fit: ${why[broken.problem]}.`;
}
