/**
 * What a test bot keeps, looked at the same way on either store: its files (the default) or its
 * PostgreSQL database (TEST_STORE=postgres). On the files it reads the bytes on disk, not the bot's
 * memory, so "stored" means written; on PostgreSQL it reads the rows through a connection of its own.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { AuditEntry } from '../../src/domain/audit.js';
import type { Customer } from '../../src/domain/customer.js';
import type { RoleBook } from '../../src/domain/roles.js';
import { SETUP_STATUSES, type Setup } from '../../src/domain/setup.js';
import { fileNameFor } from '../../src/store/fileNames.js';
import { entryFrom } from '../../src/store/postgres/audit.js';
import type { CommerceTenant, ReminderRecord } from '../../src/store/repositories.js';
import { TEST_STORE, type RunningBot } from './botHarness.js';
import { changedFiles, commerceTenants, reservationHolders as fileReservationHolders, snapshotFiles, type Snapshot } from './dataFiles.js';
import { partnerFile, reservationCount as fileReservationCount } from './journeys.js';

type Bot = Pick<RunningBot, 'app' | 'store' | 'dataDir' | 'databaseUrl'>;

/** A partner tenant as stored: profile, staff, roles, customers and all its setups (oldest first). */
export interface StoredPartner {
  profile?: any;
  members: Record<string, any>;
  roles?: RoleBook;
  customers: Customer[];
  setups: Setup[];
}

export async function partnerState(bot: Bot, tenantId: string): Promise<StoredPartner & Record<string, any>> {
  if (bot.store === 'file') return partnerFile(bot.dataDir, tenantId);
  const { partners, customers, setups } = bot.app.repositories;
  const found = (await Promise.all(SETUP_STATUSES.map((status) => setups.withStatus(status)))).flat().filter((ref) => ref.tenantId === tenantId).map((ref) => ref.setup);
  const [profile, members, roles, list] = await Promise.all([partners.profile(tenantId), partners.staff(tenantId), partners.roles(tenantId), customers.list(tenantId)]);
  if (!profile && Object.keys(members).length === 0 && list.length === 0 && found.length === 0) throw new Error(`nothing is stored for tenant ${tenantId}`);
  const setupsInOrder = found.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  return { ...(profile && { profile }), members, ...(roles && { roles }), customers: list, setups: setupsInOrder };
}

/** The embedded commerce's customer tenants. */
export async function storedTenants(bot: Bot): Promise<CommerceTenant[]> {
  if (bot.store === 'file') return commerceTenants(bot.dataDir);
  const { rows } = await queryDatabase<{ tenant_id: string }>(bot, 'SELECT tenant_id FROM commerce_tenants ORDER BY created_at, tenant_id');
  const tenants = await Promise.all(rows.map((row) => bot.app.repositories.commerceTenants.get(row.tenant_id)));
  return tenants.filter((tenant): tenant is CommerceTenant => tenant !== undefined);
}

/** Who holds each reserved key. */
export async function reservationHolders(bot: Bot): Promise<Array<{ tenantId: string; setupId: string }>> {
  if (bot.store === 'file') return fileReservationHolders(bot.dataDir);
  const { rows } = await queryDatabase<{ tenantId: string; setupId: string }>(bot, 'SELECT s.partner_tenant_id AS "tenantId", r.setup_id AS "setupId" FROM key_reservations r JOIN setups s ON s.id = r.setup_id');
  return rows;
}

export async function reservationCount(bot: Bot): Promise<number> {
  return bot.store === 'file' ? fileReservationCount(bot.dataDir) : (await reservationHolders(bot)).length;
}

/**
 * Everything stored, for "this request changed nothing": the files' bytes, or every table's rows
 * (each table one entry, its rows in a fixed order).
 */
export async function snapshotStore(bot: Bot): Promise<Snapshot> {
  if (bot.store === 'file') return snapshotFiles(bot.dataDir);
  const tables = await tableNames(bot);
  const snapshot: Snapshot = new Map();
  for (const table of tables) {
    const { rows } = await queryDatabase<{ row: string }>(bot, `SELECT row_to_json(t)::text AS row FROM ${table} t`);
    snapshot.set(table, Buffer.from(rows.map((r) => r.row).sort().join('\n')));
  }
  return snapshot;
}

/** Files or tables added, removed or changed between two snapshots. */
export const changedParts = changedFiles;

/** All stored text (every file, or every row of every table), for scans such as "no full product key is stored". */
export async function storedTexts(bot: Bot): Promise<string> {
  const snapshot = await snapshotStore(bot);
  return [...snapshot.entries()].map(([name, bytes]) => `${name}\n${bytes.toString('utf8')}`).join('\n');
}

async function tableNames(bot: Bot): Promise<string[]> {
  const { rows } = await queryDatabase<{ name: string }>(bot, "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
  return rows.map((row) => row.name);
}

/** One query on the bot's database, on a connection of the test's own. */
export async function queryDatabase<R extends pg.QueryResultRow>(bot: Bot, sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
  if (!bot.databaseUrl) throw new Error('this bot runs on the files, not on PostgreSQL');
  const client = new pg.Client({ connectionString: bot.databaseUrl });
  await client.connect();
  try {
    return await client.query<R>(sql, params);
  } finally {
    await client.end();
  }
}

/** For a case that tests what only one store has (the data folder's files, a database outage): skipped on the other, saying why. */
export function onlyOn(store: RunningBot['store'], context: Mocha.Context, why: string): void {
  if (TEST_STORE !== store) {
    context.test!.title += ` (${store} store only: ${why})`;
    context.skip();
  }
}

/** A partner's audit trail as stored, oldest first: the lines of its `.jsonl` file, or its rows. */
export async function auditTrail(bot: Bot, tenantId: string): Promise<AuditEntry[]> {
  if (bot.store === 'file') {
    const text = await readFile(join(bot.dataDir, 'audit', fileNameFor(tenantId).replace(/\.json$/, '.jsonl')), 'utf8');
    return text.trim().split('\n').map((line) => JSON.parse(line));
  }
  const { rows } = await queryDatabase(bot, 'SELECT * FROM audit_entries WHERE partner_tenant_id = $1 ORDER BY seq', [tenantId]);
  return rows.map(entryFrom);
}

/**
 * Like snapshotStore, but on PostgreSQL the rows of each partner apart: one entry per table and
 * partner tenant (`audit_entries/<tenant>`; a table without a partner column stays one entry), so a
 * test can tell whose rows changed. The files are one per partner already.
 */
export async function snapshotByPartner(bot: Bot): Promise<Snapshot> {
  if (bot.store === 'file') return snapshotFiles(bot.dataDir);
  const { rows: tables } = await queryDatabase<{ name: string; partner: string | null }>(
    bot,
    `SELECT quote_ident(t.tablename) AS name, CASE WHEN t.tablename = 'partners' THEN 'tenant_id' ELSE c.column_name END AS partner
       FROM pg_tables t LEFT JOIN information_schema.columns c ON c.table_schema = t.schemaname AND c.table_name = t.tablename AND c.column_name = 'partner_tenant_id'
      WHERE t.schemaname = 'public' ORDER BY t.tablename`,
  );
  const rows = new Map<string, string[]>();
  for (const table of tables) {
    const { rows: found } = await queryDatabase<{ partner: string | null; row: string }>(bot, `SELECT ${table.partner ?? 'NULL'}::text AS partner, row_to_json(t)::text AS row FROM ${table.name} t`);
    for (const { partner, row } of found) {
      const name = partner === null ? table.name : `${table.name}/${partner}`;
      if (!rows.has(name)) rows.set(name, []);
      rows.get(name)!.push(row);
    }
  }
  return new Map([...rows].map(([name, texts]) => [name, Buffer.from(texts.sort().join('\n'))]));
}

/** The environment that starts another bot on the same store as `bot`: its database on PostgreSQL (the files go by the data folder). */
export function sameStoreAs(bot: Pick<RunningBot, 'databaseUrl'>): Record<string, string> {
  return bot.databaseUrl === undefined ? {} : { DATABASE_URL: bot.databaseUrl };
}

/** A fault `failWrites` made in the database, as a DiskFault: its removal, and how many writes it failed (counted when cleared). */
export interface DatabaseFault {
  hits: number;
  clear(): Promise<void>;
}

/**
 * PostgreSQL's counterpart of a disk fault: the bot's inserts and updates of `table` (those rows
 * `when`, an SQL condition on NEW, picks) fail as when the server shuts down under them (SQLSTATE
 * 57P01), until cleared. A trigger of the database's own, so the bot's code runs unchanged; its
 * count is a sequence, which a rolled-back transaction does not undo.
 */
export async function failWrites(bot: Bot, table: string, when = 'true'): Promise<DatabaseFault> {
  const name = `test_fault_${table}`;
  await queryDatabase(
    bot,
    `CREATE SEQUENCE ${name};
     CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF ${when} THEN
           PERFORM nextval('${name}');
           RAISE EXCEPTION 'a fault of the test: writes to ${table} fail' USING ERRCODE = '57P01';
         END IF;
         RETURN NEW;
       END $$;
     CREATE TRIGGER ${name} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}();`,
  );
  const fault: DatabaseFault = {
    hits: 0,
    async clear() {
      const { rows } = await queryDatabase<{ n: string }>(bot, `SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM ${name}`);
      fault.hits = Number(rows[0]!.n);
      await queryDatabase(bot, `DROP TRIGGER ${name} ON ${table}; DROP FUNCTION ${name}(); DROP SEQUENCE ${name};`);
    },
  };
  return fault;
}

/** A partner's reminder ledger as stored: the records in its file, or its rows. */
export async function storedReminders(bot: Bot, tenantId: string): Promise<ReminderRecord[]> {
  if (bot.store === 'file') return Object.values((await partnerFile(bot.dataDir, tenantId)).reminders ?? {});
  return bot.app.repositories.reminders.forPartner(tenantId);
}
