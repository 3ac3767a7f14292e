/**
 * The commerce side (product keys now; tenants and subscriptions in later steps).
 * No public API exists for it, so the bot talks to this interface and ships an embedded default.
 */

export type KeyCheck =
  | { status: 'valid'; product: string; seats: number; termMonths: number }
  | { status: 'unknown' | 'redeemed' | 'blocked' };

export interface Commerce {
  /** What the backend knows about a normalised key (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX). */
  checkKey(key: string): Promise<KeyCheck>;
}
