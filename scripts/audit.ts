/**
 * The audit trail from the command line (reads only; the bot is the only writer).
 *   npm run audit -- verify [--tenant ID]
 *   npm run audit -- export --tenant ID [--from YYYY-MM-DD] [--to YYYY-MM-DD] > trail.csv
 * verify exits 1 when a trail does not verify, naming the first entry that does not fit.
 * With DATABASE_URL set, the trail is the one in that PostgreSQL database; otherwise DATA_DIR's files.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { describeBreak } from '../src/domain/audit.js';
import { AUDIT_CSV_HEADER, auditCsvRow, csvRecord } from '../src/domain/auditCsv.js';
import { FileAuditLog } from '../src/store/auditFile.js';
import type { AuditLog } from '../src/store/auditLog.js';
import { PostgresAuditLog } from '../src/store/postgres/auditLog.js';
import { openPool } from '../src/store/postgres/database.js';

const usage = `Usage:
  npm run audit -- verify [--tenant ID]
  npm run audit -- export --tenant ID [--from YYYY-MM-DD] [--to YYYY-MM-DD]`;

const DATE_FORMAT = 'YYYY-MM-DD (a UTC calendar day, e.g. 2026-01-31)';

/** A calendar day as the UTC midnight it starts with; undefined when it is no real day. */
function parseDay(text: string): Date | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!match) return undefined;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === text.trim() ? date : undefined;
}

async function verify(log: AuditLog, tenant: string | undefined): Promise<number> {
  const known = await log.partners();
  const partners = tenant ? [tenant] : known;
  if (tenant && !known.includes(tenant)) {
    process.stderr.write(`There is no audit trail for tenant ${tenant}.\n`);
    return 1;
  }
  let failed = 0;
  for (const partner of partners) {
    const { verdict, checkpoint, torn } = await log.verify(partner);
    const from = checkpoint ? ` after the checkpoint at entry ${checkpoint.seq} (pruned ${checkpoint.prunedAt})` : '';
    const note = torn ? ' Its last line was cut short by a crash (an entry never acknowledged) and is not part of it.' : '';
    if (verdict.ok) process.stdout.write(`OK: audit trail of partner ${partner}: ${verdict.entries} entries${from} fit.${note}\n`);
    else {
      failed++;
      process.stdout.write(`FAILED: ${describeBreak(partner, verdict.broken)} (${verdict.entries} entries before it fit${from}.)${note}\n`);
    }
  }
  if (partners.length === 0) process.stdout.write('There are no audit trails yet.\n');
  return failed > 0 ? 1 : 0;
}

async function exportCsv(log: AuditLog, tenant: string | undefined, fromText: string | undefined, toText: string | undefined): Promise<number> {
  if (!tenant) {
    process.stderr.write(`export needs --tenant ID.\n${usage}\n`);
    return 2;
  }
  const days: Array<[string, string | undefined]> = [
    ['--from', fromText],
    ['--to', toText],
  ];
  for (const [option, text] of days) {
    if (text !== undefined && !parseDay(text)) {
      process.stderr.write(`${option} "${text}" is not a date: use ${DATE_FORMAT}.\n`);
      return 2;
    }
  }
  const from = fromText === undefined ? undefined : parseDay(fromText)!.getTime();
  // --to includes the whole day.
  const to = toText === undefined ? undefined : parseDay(toText)!.getTime() + 86_400_000;
  if (from !== undefined && to !== undefined && from >= to) {
    process.stderr.write(`--from ${fromText} is after --to ${toText}.\n`);
    return 2;
  }
  if (!(await log.partners()).includes(tenant)) {
    process.stderr.write(`There is no audit trail for tenant ${tenant}.\n`);
    return 1;
  }
  await write(csvRecord(AUDIT_CSV_HEADER));
  for await (const entry of log.entries(tenant)) {
    const at = Date.parse(entry.at);
    if ((from === undefined || at >= from) && (to === undefined || at < to)) await write(csvRecord(auditCsvRow(entry)));
  }
  return 0;
}

/** Writes to stdout, waiting when a pipe is full: a large export does not pile up in memory. */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { tenant: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } } });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  const { positionals, values } = parsed;
  if (existsSync('.env')) process.loadEnvFile('.env');
  const command = positionals.length === 1 ? positionals[0] : undefined;
  if (command !== 'verify' && command !== 'export') {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const config = loadConfig(process.env);
  const pool = config.DATABASE_URL ? await openPool(config.DATABASE_URL) : undefined;
  try {
    const log: AuditLog = pool ? new PostgresAuditLog(pool) : FileAuditLog.in(config.DATA_DIR);
    return command === 'verify' ? await verify(log, values.tenant) : await exportCsv(log, values.tenant, values.from, values.to);
  } finally {
    await pool?.end();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
