/** Small helpers shared by the PostgreSQL repositories: mapping rows to the domain's values. */
import type { Tx } from './database.js';

/**
 * A timestamptz as the domain writes it (ISO 8601, UTC, milliseconds): from pg's Date, or from a read
 * made into one JSON value, where isoJson wrote it in that form already.
 */
export function iso(value: Date | string): string;
export function iso(value: Date | string | null): string | undefined;
export function iso(value: Date | string | null): string | undefined {
  if (value === null) return undefined;
  return typeof value === 'string' ? value : value.toISOString();
}

/**
 * A timestamptz column inside a read made into one JSON value, in the domain's form. One JSON column
 * instead of many costs the bot far less per query (pg describes and parses every column of every
 * row), and a turn's first read carries many.
 */
export const isoJson = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** `json_build_object` of the named columns of `alias`, the timestamps among them as isoJson writes them. */
export function jsonOf(alias: string, fields: readonly string[], timestamps: readonly string[] = []): string {
  return `json_build_object(${fields.map((field) => `'${field}', ${timestamps.includes(field) ? isoJson(`${alias}.${field}`) : `${alias}.${field}`}`).join(', ')})`;
}

/** Leaves out the properties that are undefined, as the domain's optional fields are absent, not undefined. */
export function defined<T extends Record<string, unknown>>(value: T): { [K in keyof T]: Exclude<T[K], null> } {
  // A loop, not entries/filter/fromEntries: every row of a list passes here.
  const out: Record<string, unknown> = {};
  for (const key in value) if (value[key] !== undefined && value[key] !== null) out[key] = value[key];
  return out as { [K in keyof T]: Exclude<T[K], null> };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids typed into cards reach the repositories: one that is no uuid names no row (and must not reach a uuid column). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** The turn's remembered read (src/store/turnReads.ts) of which partner set up a customer tenant. */
export const linkKey = (customerTenantId: string) => `link:${customerTenantId}`;
/** The turn's remembered read of the partner's guard against guessing keys (its row, or undefined). */
export const guessKey = (partnerTenantId: string) => `guess:${partnerTenantId}`;
/** The turn's remembered read of a key of the embedded commerce's catalogue (its row, or undefined). */
export const catalogKeyKey = (ref: string) => `catalogKey:${ref}`;
/** The turn's remembered read of whether the partner has set up any customer. */
export const hasCustomersKey = (partnerTenantId: string) => `hasCustomers:${partnerTenantId}`;

/** The partner's row, which everything of the partner refers to; made on first use. */
export async function ensurePartner(tx: Tx, tenantId: string): Promise<void> {
  await tx.query('INSERT INTO partners (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING', [tenantId]);
}
