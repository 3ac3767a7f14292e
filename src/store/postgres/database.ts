/**
 * The PostgreSQL connection: one pool per process, built from DATABASE_URL, and the one helper every
 * repository uses for a use case: a transaction on one client that always ends and is always released.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { forgetTurnReads } from '../turnReads.js';

export type Pool = pg.Pool;
export type Tx = pg.PoolClient;

/** A database that could not be reached or used; the message names the host, never the password. */
export class DatabaseError extends Error {}

/**
 * pg treats every sslmode as verify-full and warns; the modes are mapped here on purpose instead:
 * require (what Azure documents) encrypts and verifies the server's certificate against the system's
 * CAs, no-verify encrypts without checking (a self-signed test server), disable is plain text.
 */
function sslFor(mode: string | null): pg.PoolConfig['ssl'] {
  switch (mode) {
    case null:
    case 'disable':
      return false;
    case 'require':
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
    case 'no-verify':
      return { rejectUnauthorized: false };
    default:
      throw new DatabaseError(`DATABASE_URL: sslmode=${mode} is not supported; use require (encrypted, certificate checked), no-verify or disable`);
  }
}

/** Where a URL points, for messages: host, port and database, no user and no password. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return '(an unreadable DATABASE_URL)';
  }
}

/** Pool settings from the URL; sslmode is taken out and applied as `ssl` (see sslFor). */
export function poolConfig(url: string, max = 10): pg.PoolConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseError('DATABASE_URL is not a URL (postgres://user:password@host:5432/database)');
  }
  const ssl = sslFor(parsed.searchParams.get('sslmode'));
  parsed.searchParams.delete('sslmode');
  return { connectionString: parsed.toString(), ssl, max, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000, types: { getTypeParser }, Client: PreparingClient };
}

const statementNames = new Map<string, string>();

/** A name per query text (PostgreSQL allows 63 bytes), the same in every connection. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `q${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * A client that runs every query with parameters as a named prepared statement: each connection
 * parses and plans a repository's query once and then only binds and runs it, which is most of the
 * server's work per query in a turn. The texts are the repositories' constants, so their number is fixed.
 */
class PreparingClient extends pg.Client {
  // One implementation for all of pg's overloads (hence `any`): strings with values become named statements.
  override query(config: any, values?: any, callback?: any): any {
    if (typeof config === 'string' && Array.isArray(values)) return super.query({ name: statementName(config), text: config, values }, callback);
    return super.query(config, values, callback);
  }
}

const DATE_OID = 1082;

/** Calendar days stay strings (YYYY-MM-DD) as in the domain: pg would make them local-time Dates. */
const getTypeParser = ((oid: number, format?: 'text' | 'binary') => (oid === DATE_OID && format !== 'binary' ? (value: string) => value : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser;

function withoutSecret(message: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // an unparsable URL was refused before any connection
  }
  return password ? message.split(password).join('***') : message;
}

/**
 * Opens the pool and checks that the database answers, so a wrong DATABASE_URL stops the start with
 * a message naming the host. The pool reconnects by itself later: a broken idle connection is logged
 * and replaced, never a crash.
 */
export async function openPool(url: string, log?: Logger, max?: number): Promise<Pool> {
  const pool = new pg.Pool(poolConfig(url, max));
  pool.on('error', (error) => log?.warn({ err: new Error(withoutSecret(error.message, url)) }, 'idle PostgreSQL connection failed; the pool replaces it'));
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new DatabaseError(`Cannot reach PostgreSQL at ${describeUrl(url)}: ${withoutSecret((error as Error).message, url)}`);
  }
  return pool;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether an error means the database could not be reached or went away (a connection refused or
 * cut, the server shutting down or not yet up): the transaction did not commit, so nothing changed.
 */
export function isUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code))) return true;
  // pg reports a connection cut or a connect that timed out by message only.
  return typeof message === 'string' && /^Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(message);
}

/** Serialization failures and deadlocks: the transaction did nothing and may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);

/**
 * Runs `work` in one transaction: committed when it returns, rolled back when it throws. A transaction
 * that lost a deadlock or a serialization check runs again (a few times): `work` must only touch
 * the database.
 */
export async function transaction<T>(pool: Pool, work: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once(pool, work);
    } catch (error) {
      if (attempt >= 5 || !RETRYABLE.has((error as { code?: string }).code ?? '')) throw error;
    }
  }
}

async function once<T>(pool: Pool, work: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    // The turn's reads from before may be out of date now (src/store/turnReads.ts).
    forgetTurnReads();
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw error;
  } finally {
    // A connection that could not even roll back is dropped, not handed to the next use case.
    client.release(broken);
  }
}
