/**
 * The product keys of the test run, for the secrets scan after all suites: every key a test minted
 * or typed into a bot's product-key fields, valid or not, taken from what the bots' servers received
 * (so a key sent by a browser, a fuzzer or a hand-made request counts too). Also what the servers
 * received as other text (names, messages, form fields), where a test may have typed a key on purpose.
 */
import type { Server } from 'restify';
import { normaliseKey, splitKeys } from '../../src/domain/productKey.js';
import { keyRuns } from './secretScan.js';

const entered = new Set<string>();
/** The runs of letters and digits, long enough to hold a key, in every other text received. */
const otherText = new Set<string>();

export function noteKeys(typed: Iterable<string>): void {
  for (const text of typed) {
    const normal = normaliseKey(text);
    if ('key' in normal) entered.add(normal.key);
  }
}

function stringsIn(node: unknown, found: string[] = [], depth = 0): string[] {
  if (typeof node === 'string') found.push(node);
  else if (node && typeof node === 'object' && depth < 32) for (const child of Object.values(node)) stringsIn(child, found, depth + 1);
  return found;
}

/** Sorts what one request carried: the texts of a card action's key fields (`key`, `key0`, …) and all other text. */
function noteRequest(body: unknown): void {
  const data = (body as { value?: { action?: { data?: unknown } } } | undefined)?.value?.action?.data;
  const keyFields = new Set(Object.entries(data && typeof data === 'object' ? data : {}).flatMap(([field, text]) => (/^key\d*$/.test(field) && typeof text === 'string' ? [text] : [])));
  for (const text of keyFields) noteKeys(splitKeys(text));
  for (const text of stringsIn(body)) if (!keyFields.has(text)) keyRuns(text).forEach((run) => otherText.add(run));
}

/** Notes what every request the server has answered carried. */
export function noteTypedKeys(server: Server): void {
  server.on('after', (req: { body?: unknown }) => noteRequest(req.body));
}

/** Every key minted or typed as a product key. */
export function productKeysSeen(): ReadonlySet<string> {
  return entered;
}

/** The runs of letters and digits (in the scan's compact form) of all other text the bots received. */
export function otherTextSeen(): Iterable<string> {
  return otherText;
}
