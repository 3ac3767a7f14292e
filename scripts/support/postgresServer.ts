/**
 * A throwaway PostgreSQL server, for the tests (test/support/postgres.ts) and the benchmark
 * (npm run bench -- --store postgres): PG_TEST_URL when set (a server of your own; its user needs
 * CREATEDB), otherwise a cluster of Debian's PostgreSQL 15 binaries, started once per process on
 * first use and removed by stopPostgres. Each caller gets a fresh database of its own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chown, mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface Server {
  /** postgres://… of the maintenance database, where test databases are created. */
  adminUrl: string;
  stop(): Promise<void>;
}

let server: Promise<Server> | undefined;
const created: string[] = [];
/** Called with a server's maintenance URL before it stops (or its databases are dropped), while they can still be read. */
const stopping: Array<(adminUrl: string) => Promise<void>> = [];

/** Registers work on a server's databases before the server goes (the tests' secrets scan reads them). */
export function beforeServerStops(listener: (adminUrl: string) => Promise<void>): void {
  stopping.push(listener);
}

async function announceStop(adminUrl: string): Promise<void> {
  for (const listener of stopping) await listener(adminUrl);
}

/** The uid and gid of the `postgres` user: initdb and postgres refuse to run as root. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line) throw new Error('running as root, and there is no postgres user to run the server as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once the server accepts connections; rejects with its log when it exits first. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('ready to accept connections')) {
        child.stderr!.off('data', onData);
        child.off('close', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`postgres exited (${code}) before it was ready:\n${log.slice(-2000)}`));
    child.stderr!.on('data', onData);
    // 'close', not 'exit': the log of a failed start is read to its end first.
    child.once('close', onExit);
  });
}

/** A cluster of its own: the shared one, or one a test stops and starts again (an outage). */
export interface OwnServer extends Server {
  /** Stops the server (fast shutdown: sessions end) and keeps its data; `resume` starts it again on the same port. */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export async function startCluster(): Promise<OwnServer> {
  if (!existsSync(join(BIN, 'initdb'))) throw new Error(`no PostgreSQL binaries in ${BIN} (apt-get install postgresql-15, or set PG_TEST_URL)`);
  const user = postgresUser();
  const dir = await mkdtemp(join(tmpdir(), 'pg-test-'));
  // The process runs as the postgres user (spawn's uid/gid, which is what `su postgres` does without a
  // shell in between), so the folder must be its own.
  if (user) await chown(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  // Run from the cluster's own folder: the postgres user may not be allowed into the test's.
  const init = spawnSync(join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], { ...user, cwd: dir, encoding: 'utf8' });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(init.error?.message ?? init.stderr).trim().split('\n').at(-1)}`);
  }
  let child: ChildProcess | undefined;
  // Should the test process end without the root hook (a crash), the server and its folder go with it.
  const killOnExit = () => {
    child?.kill('SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
  };
  const run = async (port: number) => {
    // No Unix socket (its default folder may not be writable) and no durability: the cluster is thrown away.
    const settings = ['listen_addresses=127.0.0.1', `port=${port}`, 'unix_socket_directories=', 'fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'max_connections=200'];
    const started = spawn(join(BIN, 'postgres'), ['-D', data, ...settings.flatMap((setting) => ['-c', setting])], { ...user, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    await ready(started);
    // Drain the log so a chatty server never blocks on a full pipe.
    started.stderr!.resume();
    child = started;
  };
  const halt = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGINT'); // fast shutdown: ends the sessions, no checkpoint wait
    await exited;
  };
  process.once('exit', killOnExit);
  let lastError: unknown;
  // A port found free may be taken by someone else before the server binds it: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      await run(port);
    } catch (error) {
      lastError = error;
      continue;
    }
    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    return {
      adminUrl,
      pause: halt,
      resume: () => run(port),
      async stop() {
        await announceStop(adminUrl);
        process.off('exit', killOnExit);
        await halt();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  process.off('exit', killOnExit);
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

function externalServer(url: string): Server {
  return { adminUrl: url, stop: async () => undefined };
}

function sharedServer(): Promise<Server> {
  server ??= process.env.PG_TEST_URL ? Promise.resolve(externalServer(process.env.PG_TEST_URL)) : startCluster();
  return server;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: (await sharedServer()).adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh database on the shared server, empty or a copy of the database of `copyOf` (of the same
 * server, with nobody connected to it); throws when no server can be had.
 */
export async function databaseUrl(copyOf?: string): Promise<string> {
  const name = `test_${randomUUID().replace(/-/g, '')}`;
  const template = copyOf === undefined ? '' : ` TEMPLATE ${pg.escapeIdentifier(new URL(copyOf).pathname.slice(1))}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}${template}`));
  created.push(name);
  return withDatabase((await sharedServer()).adminUrl, name);
}

/** Drops the suites' databases and stops the throwaway server, if one was started. */
export async function stopPostgres(): Promise<void> {
  if (!server) return;
  const running = await server.catch(() => undefined);
  if (running) await announceStop(running.adminUrl);
  server = undefined;
  if (!running) return;
  // A server of your own keeps nothing of the run; a throwaway one goes whole.
  if (process.env.PG_TEST_URL) {
    const client = new pg.Client({ connectionString: running.adminUrl });
    await client.connect();
    for (const name of created.splice(0)) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  }
  await running.stop();
}
