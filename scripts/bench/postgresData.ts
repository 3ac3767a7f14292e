/**
 * The benchmark's data set on PostgreSQL: the generated file store copied once with the import
 * (src/store/importFiles.ts, counts checked) into a database of its own, which each run then
 * clones (CREATE DATABASE … TEMPLATE, a file copy inside the server) so every run starts from the
 * same rows, as the file runs start from the same files.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { secretCheckOf } from '../../src/commerce/keyHasher.js';
import { DEFAULT_LIFECYCLE } from '../../src/domain/lifecycle.js';
import { FileAuditLog } from '../../src/store/auditFile.js';
import { openFileRepositories } from '../../src/store/files/index.js';
import { importFileStore } from '../../src/store/importFiles.js';
import { openPostgres } from '../../src/store/postgres/index.js';
import { parentPid } from './machine.js';

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Databases made on the server of `serverUrl` (its user needs CREATEDB); `drop` removes them all. */
export class BenchDatabases {
  private readonly made: string[] = [];
  private readonly prefix = `bench_${randomUUID().replace(/-/g, '').slice(0, 12)}`;

  constructor(private readonly serverUrl: string) {}

  private async admin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  private async create(name: string, template?: string): Promise<string> {
    await this.admin(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
    this.made.push(name);
    return withDatabase(this.serverUrl, name);
  }

  /** Copies the file store in `dir` into a new database; returns the import's duration. */
  async load(dir: string, keyHashSecret: string): Promise<{ importMs: number }> {
    const started = performance.now();
    const url = await this.create(this.prefix);
    const { pool, repositories } = await openPostgres(url, DEFAULT_LIFECYCLE);
    const source = await openFileRepositories(dir, DEFAULT_LIFECYCLE);
    try {
      const result = await importFileStore(source, repositories, pool, { force: false, now: new Date(), trail: FileAuditLog.in(dir), secretCheck: secretCheckOf(keyHashSecret) });
      if (result.mismatches.length > 0) throw new Error(`the import's counts do not match for ${result.mismatches.join(', ')}`);
      // The planner's statistics, as autovacuum would have them on a database in use.
      await pool.query('ANALYZE');
    } finally {
      await source.close();
      await pool.end();
    }
    return { importMs: performance.now() - started };
  }

  /** The server's main process (the parent of a connection's backend), when it runs on this machine. */
  async serverPid(): Promise<number | undefined> {
    const client = new pg.Client({ connectionString: this.serverUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      return parentPid(rows[0]!.pid);
    } finally {
      await client.end();
    }
  }

  /** A fresh copy of the loaded data set for one run. */
  clone(run: number): Promise<string> {
    return this.create(`${this.prefix}_run${run}`, this.prefix);
  }

  async drop(): Promise<void> {
    for (const name of this.made.splice(0).reverse()) await this.admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}
