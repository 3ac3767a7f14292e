/**
 * Setups, their keys and account, and the key reservations on PostgreSQL. A change locks the setup's
 * row; a reservation is one statement whose primary key makes one setup the holder of a key.
 */
import type { Account } from '../../domain/account.js';
import type { Setup, SetupKey, SetupStatus, SetupTarget } from '../../domain/setup.js';
import type { AuditOf, KeyHolder, SetupRef, SetupRepository } from '../repositories.js';
import { appendAudit } from './audit.js';
import { transaction, type Pool, type Tx } from './database.js';
import { forgetTurnReads, rememberAlong } from '../turnReads.js';
import { KEY_JSON, keyFromJson } from './commerce.js';
import { catalogKeyKey, defined, iso, isUuid } from './rows.js';

type Queryable = Pool | Tx;
type Row = Record<string, any>;

/** Statuses in which a setup holds (or is reserving) its keys: see holdsKeys and the confirmation. */
const HOLDING = `('reserving', 'reserved', 'creating')`;

/**
 * Who holds a key (`$1`) as one JSON value, and the embedded commerce's catalogue entry of the key,
 * which a key check asks for next (PostgresKeyCatalog.key).
 */
const KEY_HOLDER = `SELECT json_build_object(
    'holder', (SELECT json_build_object('tenantId', s.partner_tenant_id, 'setupId', s.id, 'ownerName', s.owner_name)
      FROM key_reservations r JOIN setups s ON s.id = r.setup_id WHERE r.key_ref = $1 AND s.status IN ${HOLDING}),
    'key', (SELECT ${KEY_JSON} FROM commerce_keys k WHERE k.ref = $1)
  ) AS found`;

const SELECT_SETUP = `SELECT s.*, a.country, a.organisation_name, a.first_name, a.last_name, a.email, a.phone, a.domain_prefix, a.sign_in_name, a.language, a.partner_of_record
  FROM setups s LEFT JOIN setup_accounts a ON a.setup_id = s.id`;

function accountFrom(row: Row): Account | undefined {
  if (row.country === null) return undefined;
  return {
    country: row.country,
    organisationName: row.organisation_name,
    firstName: row.first_name,
    lastName: row.last_name,
    email: row.email,
    phone: row.phone,
    domainPrefix: row.domain_prefix,
    signInName: row.sign_in_name,
    language: row.language,
    partnerOfRecord: row.partner_of_record,
  };
}

function targetFrom(row: Row): SetupTarget | undefined {
  if (row.target_kind === 'renew') return { kind: 'renew', customerId: row.target_customer_id, subscriptionId: row.target_subscription_id };
  if (row.target_kind === 'add') return { kind: 'add', customerId: row.target_customer_id };
  return undefined;
}

function setupFrom(row: Row, keys: SetupKey[]): Setup {
  return defined({
    id: row.id,
    ownerId: row.owner_id,
    ownerName: row.owner_name,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    rev: row.rev,
    status: row.status,
    keys,
    reservedUntil: iso(row.reserved_until),
    closedAt: iso(row.closed_at),
    releaseNotice: row.release_notice,
    account: accountFrom(row),
    customerId: row.customer_tenant_id,
    target: targetFrom(row),
  }) as Setup;
}

/** The columns a change of a setup writes, from updated_at to target_subscription_id. */
function setupValues(setup: Setup): unknown[] {
  return [
    setup.updatedAt,
    setup.rev,
    setup.status,
    setup.reservedUntil ?? null,
    setup.closedAt ?? null,
    setup.releaseNotice ?? null,
    setup.customerId ?? null,
    setup.target?.kind ?? null,
    setup.target?.customerId ?? null,
    setup.target?.kind === 'renew' ? setup.target.subscriptionId : null,
  ];
}

/**
 * Inserts a setup's keys for the setup `setupId` (an SQL expression; `from`: tables joined before the
 * keys) from the eight arrays keyColumns gives, as parameters from `$n` on.
 */
function insertKeys(setupId: string, from: string, n: number): string {
  const arrays = ['uuid', 'int', 'text', 'text', 'text', 'text', 'int', 'int'].map((type, i) => `$${n + i}::${type}[]`).join(', ');
  return `INSERT INTO setup_keys (id, setup_id, position, ref, handle, last_group, product, seats, term_months)
    SELECT k.id, ${setupId}, k.position, k.ref, k.handle, k.last_group, k.product, k.seats, k.term_months
    FROM ${from}unnest(${arrays}) AS k(id, position, ref, handle, last_group, product, seats, term_months)`;
}

function keyColumns(setup: Setup): unknown[] {
  const column = <K extends keyof SetupKey>(key: K) => setup.keys.map((k) => k[key]);
  return [column('id'), setup.keys.map((_, i) => i), column('ref'), column('handle'), column('lastGroup'), column('product'), column('seats'), column('termMonths')];
}

/**
 * A new setup in one statement: the partner's row if new, the setup unless its id is taken (then
 * nothing more), and with a new setup its keys and account. The foreign keys are checked at the
 * statement's end, after all of its parts.
 */
const INSERT_SETUP = `WITH partner AS (INSERT INTO partners (tenant_id) VALUES ($2) ON CONFLICT DO NOTHING),
  setup AS (
    INSERT INTO setups (id, partner_tenant_id, owner_id, owner_name, created_at, updated_at, rev, status, reserved_until, closed_at, release_notice, customer_tenant_id, target_kind, target_customer_id, target_subscription_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (id) DO NOTHING RETURNING id),
  keys AS (${insertKeys('setup.id', 'setup, ', 16)}),
  account AS (
    INSERT INTO setup_accounts (setup_id, country, organisation_name, first_name, last_name, email, phone, domain_prefix, sign_in_name, language, partner_of_record)
    SELECT setup.id, $24::char(2), $25, $26, $27, $28, $29, $30, $31, $32, $33 FROM setup WHERE $24::char(2) IS NOT NULL)
  SELECT count(*)::int AS inserted FROM setup`;

/** A setup's keys replacing its old ones (`$1` the setup). */
const REPLACE_KEYS = insertKeys('$1', '', 2);

async function assemble(db: Queryable, rows: Row[]): Promise<Setup[]> {
  if (rows.length === 0) return [];
  const { rows: keyRows } = await db.query('SELECT * FROM setup_keys WHERE setup_id = ANY($1::uuid[]) ORDER BY setup_id, position', [rows.map((row) => row.id)]);
  const keys = new Map<string, SetupKey[]>();
  for (const k of keyRows) {
    const key: SetupKey = { id: k.id, ref: k.ref, handle: k.handle, lastGroup: k.last_group, product: k.product, seats: k.seats, termMonths: k.term_months };
    keys.set(k.setup_id, [...(keys.get(k.setup_id) ?? []), key]);
  }
  return rows.map((row) => setupFrom(row, keys.get(row.id) ?? []));
}

async function refs(db: Queryable, where: string, values: unknown[]): Promise<SetupRef[]> {
  const { rows } = await db.query(`${SELECT_SETUP} WHERE ${where} ORDER BY s.partner_tenant_id, s.updated_at, s.id`, values);
  const setups = await assemble(db, rows);
  return setups.map((setup, i) => ({ tenantId: rows[i]!.partner_tenant_id, setup }));
}

export class PostgresSetups implements SetupRepository {
  constructor(private readonly pool: Pool) {}

  async find(tenantId: string, setupId: string): Promise<Setup | undefined> {
    if (!isUuid(setupId)) return undefined;
    const { rows } = await this.pool.query(`${SELECT_SETUP} WHERE s.partner_tenant_id = $1 AND s.id = $2`, [tenantId, setupId]);
    return (await assemble(this.pool, rows))[0];
  }

  async open(tenantId: string): Promise<Setup[]> {
    const { rows } = await this.pool.query(`${SELECT_SETUP} WHERE s.partner_tenant_id = $1 AND s.status IN ('entering', 'reviewing', 'reserved', 'creating') ORDER BY s.updated_at DESC, s.id`, [tenantId]);
    return assemble(this.pool, rows);
  }

  async insert(tenantId: string, setup: Setup): Promise<boolean> {
    if (!isUuid(setup.id)) throw new Error('a setup id is a uuid');
    // One statement (INSERT_SETUP), so one round trip and all or nothing without BEGIN and COMMIT.
    const a = setup.account;
    const { rows } = await this.pool.query<{ inserted: number }>(
      INSERT_SETUP,
      [
        setup.id, tenantId, setup.ownerId, setup.ownerName, setup.createdAt, ...setupValues(setup),
        ...keyColumns(setup),
        a?.country ?? null, a?.organisationName ?? null, a?.firstName ?? null, a?.lastName ?? null, a?.email ?? null, a?.phone ?? null, a?.domainPrefix ?? null, a?.signInName ?? null, a?.language ?? null, a?.partnerOfRecord ?? null,
      ],
    );
    forgetTurnReads();
    return rows[0]!.inserted === 1;
  }

  async update(tenantId: string, setupId: string, change: (setup: Setup) => Setup, audit?: AuditOf<Setup>): Promise<Setup | undefined> {
    if (!isUuid(setupId)) return undefined;
    return transaction(this.pool, async (tx) => {
      // The row lock makes a second change of the same setup wait and then start from this one's result.
      const { rows } = await tx.query(`${SELECT_SETUP} WHERE s.partner_tenant_id = $1 AND s.id = $2 FOR UPDATE OF s`, [tenantId, setupId]);
      const [current] = await assemble(tx, rows);
      if (!current) return undefined;
      const next = change(current);
      if (next === current) return next;
      if (next.id !== current.id) throw new Error('a change may not give a setup another id');
      await this.write(tx, next);
      // The entries commit with the change or not at all.
      if (audit) await appendAudit(tx, audit(next));
      return next;
    });
  }

  withStatus(status: SetupStatus): Promise<SetupRef[]> {
    return refs(this.pool, 's.status = $1', [status]);
  }

  reservationsDue(now: Date): Promise<SetupRef[]> {
    return refs(this.pool, `s.status = 'reserved' AND s.reserved_until <= $1`, [now]);
  }

  pendingReleaseNotices(): Promise<SetupRef[]> {
    return refs(this.pool, `s.release_notice = 'pending'`, []);
  }

  async dropClosedBefore(closedBefore: Date): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM setups WHERE closed_at <= $1 AND (status IN ('completed', 'discarded') OR (status = 'released' AND release_notice IS DISTINCT FROM 'pending'))`,
      [closedBefore],
    );
    return rowCount ?? 0;
  }

  async reserveKey(keyRef: string, tenantId: string, setupId: string, now: Date): Promise<boolean> {
    if (!isUuid(setupId)) return false;
    // One statement: the key's row is the lock. A holder that has let go of its keys is replaced.
    const { rowCount } = await this.pool.query(
      `INSERT INTO key_reservations (key_ref, setup_id, reserved_at)
       SELECT $1, s.id, $3 FROM setups s WHERE s.id = $2 AND s.partner_tenant_id = $4
       ON CONFLICT (key_ref) DO UPDATE SET setup_id = EXCLUDED.setup_id, reserved_at = EXCLUDED.reserved_at
       WHERE key_reservations.setup_id = EXCLUDED.setup_id
          OR NOT EXISTS (SELECT 1 FROM setups h WHERE h.id = key_reservations.setup_id AND h.status IN ${HOLDING})`,
      [keyRef, setupId, now, tenantId],
    );
    return rowCount === 1;
  }

  async keyHolder(keyRef: string): Promise<KeyHolder | undefined> {
    const remember = rememberAlong();
    const { rows } = await this.pool.query(KEY_HOLDER, [keyRef]);
    const { holder, key } = rows[0]!.found;
    remember(catalogKeyKey(keyRef), keyFromJson(key));
    return holder ?? undefined;
  }

  async releaseKeys(setupId: string, keyRefs?: readonly string[]): Promise<void> {
    if (!isUuid(setupId)) return;
    if (keyRefs) await this.pool.query('DELETE FROM key_reservations WHERE setup_id = $1 AND key_ref = ANY($2)', [setupId, keyRefs]);
    else await this.pool.query('DELETE FROM key_reservations WHERE setup_id = $1', [setupId]);
  }

  async dropOrphanReservations(): Promise<number> {
    const { rowCount } = await this.pool.query(`DELETE FROM key_reservations r USING setups s WHERE s.id = r.setup_id AND s.status NOT IN ${HOLDING}`);
    return rowCount ?? 0;
  }

  /** Writes the setup's row, keys and account (the row exists and is locked or new). */
  private async write(tx: Tx, setup: Setup): Promise<void> {
    await tx.query(
      `UPDATE setups SET owner_id = $2, owner_name = $3, updated_at = $4, rev = $5, status = $6, reserved_until = $7, closed_at = $8, release_notice = $9, customer_tenant_id = $10,
         target_kind = $11, target_customer_id = $12, target_subscription_id = $13 WHERE id = $1`,
      [setup.id, setup.ownerId, setup.ownerName, ...setupValues(setup)],
    );
    await this.writeParts(tx, setup);
  }

  /** The setup's keys and account (replacing what the row held). */
  private async writeParts(tx: Tx, setup: Setup): Promise<void> {
    await tx.query('DELETE FROM setup_keys WHERE setup_id = $1', [setup.id]);
    if (setup.keys.length > 0) await tx.query(REPLACE_KEYS, [setup.id, ...keyColumns(setup)]);
    const a = setup.account;
    if (!a) {
      await tx.query('DELETE FROM setup_accounts WHERE setup_id = $1', [setup.id]);
    } else {
      await tx.query(
        `INSERT INTO setup_accounts (setup_id, country, organisation_name, first_name, last_name, email, phone, domain_prefix, sign_in_name, language, partner_of_record)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (setup_id) DO UPDATE SET country = $2, organisation_name = $3, first_name = $4, last_name = $5, email = $6, phone = $7, domain_prefix = $8, sign_in_name = $9, language = $10, partner_of_record = $11`,
        [setup.id, a.country, a.organisationName, a.firstName, a.lastName, a.email, a.phone, a.domainPrefix, a.signInName, a.language, a.partnerOfRecord],
      );
    }
  }
}
