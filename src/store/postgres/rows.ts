/** Small helpers shared by the PostgreSQL repositories: mapping rows to the domain's values. */
import type { Tx } from './database.js';

/** A timestamptz as the domain writes it (ISO 8601, UTC, milliseconds). */
export function iso(value: Date): string;
export function iso(value: Date | null): string | undefined;
export function iso(value: Date | null): string | undefined {
  return value === null ? undefined : value.toISOString();
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
