import { createHash } from 'node:crypto';

/**
 * A file name for an untrusted id (a Teams tenant id is a GUID, but the activity is not trusted):
 * safe ids are kept readable, anything else is hashed so it cannot escape the folder.
 */
export function fileNameFor(id: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(id)) return `${id}.json`;
  // The leading underscore is never produced by the readable form, so the two cannot collide.
  return `_h-${createHash('sha256').update(id).digest('hex').slice(0, 40)}.json`;
}
