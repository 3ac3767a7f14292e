/**
 * The product keys of the test run, for the secrets scan after all suites: every key a test minted
 * or typed into a bot's product-key fields, valid or not, taken from what the bots' servers received
 * (so a key sent by a browser, a fuzzer or a hand-made request counts too).
 */
import type { Server } from 'restify';
import { normaliseKey, splitKeys } from '../../src/domain/productKey.js';

const entered = new Set<string>();

export function noteKeys(typed: Iterable<string>): void {
  for (const text of typed) {
    const normal = normaliseKey(text);
    if ('key' in normal) entered.add(normal.key);
  }
}

/** Notes the keys in the texts of a card action's key fields (`key`, `key0`, …). */
function noteRequest(body: unknown): void {
  const data = (body as { value?: { action?: { data?: unknown } } } | undefined)?.value?.action?.data;
  for (const [field, text] of Object.entries(data && typeof data === 'object' ? data : {})) if (/^key\d*$/.test(field) && typeof text === 'string') noteKeys(splitKeys(text));
}

/** Notes what every request the server has answered carried. */
export function noteTypedKeys(server: Server): void {
  server.on('after', (req: { body?: unknown }) => noteRequest(req.body));
}

/** Every key minted or typed as a product key. */
export function productKeysSeen(): ReadonlySet<string> {
  return entered;
}
