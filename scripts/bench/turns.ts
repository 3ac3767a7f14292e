/** The kinds of turn the benchmark sends, and how an answer to one is checked. */
import { invokeActivity, messageActivity, redeemNextActivity } from './activities.js';
import type { BenchUser } from './dataset.js';

export type TurnKind = 'help' | 'customers' | 'redeem' | 'echoInvoke';

/** What the load generator needs to build every turn of a phase. */
export interface TurnSpec {
  kind: TurnKind;
  users: BenchUser[];
  /** Catalogue keys, for `redeem`. */
  keys: string[];
  serviceUrl: string;
}

const REVIEW_TITLE = 'Does everything look right?';

/** The request body of the `n`-th turn of a phase: the staff member of partner `n % partners`. */
export function bodyOf(spec: TurnSpec): (n: number) => string {
  const { users, keys, serviceUrl } = spec;
  const userAt = (n: number) => users[n % users.length]!;
  switch (spec.kind) {
    case 'help':
      return (n) => messageActivity(userAt(n), serviceUrl, 'help');
    case 'customers':
      return (n) => messageActivity(userAt(n), serviceUrl, 'customers');
    case 'redeem':
      return (n) => redeemNextActivity(userAt(n), serviceUrl, keys[n % keys.length]!);
    case 'echoInvoke':
      return (n) => invokeActivity(userAt(n), serviceUrl, 'redeem.next', { rev: 0 });
  }
}

/**
 * Checks an answer in the HTTP response: a key step must answer with the review card. Message
 * turns answer with an empty 200 (their replies go to the connector and are checked there).
 */
export function checkOf(kind: TurnKind): ((status: number, body: string) => string | undefined) | undefined {
  if (kind !== 'redeem') return undefined;
  return (status, body) => {
    if (status !== 200) return `HTTP ${status}`;
    const card = (JSON.parse(body) as { value?: { type?: string } }).value;
    if (card?.type !== 'AdaptiveCard' || !JSON.stringify(card).includes(REVIEW_TITLE)) return `not the review card: ${JSON.stringify(card).slice(0, 300)}`;
    return undefined;
  };
}
