/**
 * The audit trail as CSV (RFC 4180: CRLF between records, a field with a comma, quote or line break
 * quoted, quotes doubled), safe to open in a spreadsheet.
 */
import type { AuditEntry } from './audit.js';

/**
 * A cell a spreadsheet would read as a formula (=, +, -, @) or that begins with a tab or carriage
 * return (OWASP's CSV injection list) gets a leading apostrophe: it is shown as text, never run.
 */
export function defuseCell(value: string): string {
  return /^[=+\-@\t\r\n]/.test(value) ? `'${value}` : value;
}

export function csvField(value: string): string {
  const safe = defuseCell(value);
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvRecord(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

export const AUDIT_CSV_HEADER = [
  'time (UTC)',
  'sequence',
  'partner tenant',
  'person',
  'Entra object id',
  'role',
  'verb',
  'customer tenant',
  'subscription',
  'product keys',
  'outcome',
  'reason',
  'details',
  'entry id',
  'previous hash',
  'hash',
] as const;

export function auditCsvRow(entry: AuditEntry): string[] {
  return [
    entry.at,
    String(entry.seq),
    entry.partnerTenantId,
    entry.actor.name,
    entry.actor.objectId,
    entry.actor.role,
    entry.verb,
    entry.customerTenantId ?? '',
    entry.subscriptionId ?? '',
    entry.keys.join(' '),
    entry.outcome.result,
    entry.outcome.result === 'refused' ? entry.outcome.reason : '',
    Object.entries(entry.details)
      .map(([name, value]) => `${name}: ${value}`)
      .join('; '),
    entry.id,
    entry.prev,
    entry.hash,
  ];
}
