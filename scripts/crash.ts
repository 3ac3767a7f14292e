/**
 * Crash test (`npm run test:stress`): the real bot as a child process (`node --import tsx src/index.ts`)
 * is killed with SIGKILL at random moments while several partners redeem keys, create customers,
 * offer delegated administration and renew subscriptions over HTTP. A request that dies with the
 * process is sent again after the restart with exactly the same data, as Teams would. Afterwards the
 * store is read directly (the files, or the tables): every operation the bot acknowledged must be
 * there exactly once, and no key, tenant or customer may be doubled or half-done. The bot logs at
 * the most verbose level to a file beside its data, and neither may hold any of the run's product
 * keys in full.
 *
 *   npx tsx scripts/crash.ts [--seed 1234] [--turns 300] [--store file|postgres] [--tamper]
 *
 * `--store postgres` runs the bot on PostgreSQL: DATABASE_URL (an empty database), else a fresh
 * database on PG_TEST_URL's server or on a throwaway server started here (test/support/postgres.ts).
 * The checks then read the tables, and the scan for keys covers every row of every table.
 * `--tamper` (PostgreSQL) then spoils the checked data in a few ways, each in a transaction rolled
 * back, and expects the checks to find each: proof that they can fail.
 *
 * Exits 0 when no violation was found (and, with --tamper, every tampering was found), 1 otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { KeyIssuer } from '../src/commerce/keyIssuer.js';
import { createKeyHasher, ensureSameSecret, loadKeyHashSecret, type KeyHasher } from '../src/commerce/keyHasher.js';
import { DEFAULT_LIFECYCLE } from '../src/domain/lifecycle.js';
import { FileAuditLog } from '../src/store/auditFile.js';
import type { AuditLog } from '../src/store/auditLog.js';
import { openFileKeyCatalog } from '../src/store/files/commerce.js';
import { PostgresAuditLog } from '../src/store/postgres/auditLog.js';
import { openPostgres } from '../src/store/postgres/index.js';
import type { KeyCatalogRepository } from '../src/store/repositories.js';
import { button, buttons, cardText, inputs, type Card } from '../test/support/cardQuery.js';
import { FakeConnector } from '../test/support/connector.js';
import { ACCOUNT, PROFILE } from '../test/support/journeys.js';
import { databaseUrl, stopPostgres } from '../test/support/postgres.js';
import { TeamsUser } from '../test/support/teams.js';
import { mulberry32 } from '../test/support/random.js';
import { compact, filesUnder, keysIn, scanForKeys } from '../test/support/secretScan.js';
import { auditedChanges, checkStored, type Acknowledged } from './crash/checks.js';
import { databaseText, partnerFiles, readDatabase, readFileStore, setupBooks, type Stored } from './crash/stored.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'crash-test-key-hash-secret-0123456789abc';
const PRODUCT = 'Microsoft 365 Business Standard';
const KEY_COUNT = 450;
const TENANTS = 3;
const USERS_PER_TENANT = 2;
/** Time for driving the turns; checks and clean-up come after. */
const DRIVE_BUDGET_MS = 150_000;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : undefined;
}
const SEED = Number(argument('seed') ?? process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const TARGET_TURNS = Number(argument('turns') ?? 300);
const STORE = argument('store') ?? 'file';
const TAMPER = process.argv.includes('--tamper');

const random = mulberry32(SEED);
const randomInt = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// ---------------------------------------------------------------------------------------------
// Where the bot keeps its data, and how the checks read it

interface CrashStore {
  readonly kind: 'file' | 'postgres';
  /** What the bot process gets on top of its data folder. */
  readonly env: Record<string, string>;
  readonly trail: AuditLog;
  catalog(): Promise<KeyCatalogRepository>;
  read(): Promise<Stored>;
  /**
   * The audit entry ids a partner's changes can be found under right after a kill: on the files the
   * trail and the outboxes of the documents written with a change (the start appends those); on
   * PostgreSQL the trail alone, written in the change's own transaction.
   */
  auditIdsAfterKill(tenantId: string): Promise<Set<string>>;
  /**
   * Makes confirmations a kill interrupted look old enough to be taken back, and says how many. On
   * the files the start takes them all back (one process owns the folder); on a shared database an
   * instance takes back only those untouched for five minutes (another instance may still be
   * confirming a younger one), so the run would otherwise end before their recovery is due.
   */
  ageInterrupted(): Promise<number>;
  /** Writes what the store holds beyond the data folder into `dir`, for the scan for keys. */
  dumpInto(dir: string): Promise<void>;
  close(): Promise<void>;
}

async function trailIds(trail: AuditLog, tenantId: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const entry of trail.entries(tenantId)) ids.add(entry.id);
  return ids;
}

function fileStore(dataDir: string): CrashStore {
  const trail = FileAuditLog.in(dataDir);
  return {
    kind: 'file',
    // Files even when the shell has a DATABASE_URL.
    env: { DATABASE_URL: '' },
    trail,
    catalog: () => openFileKeyCatalog(dataDir),
    read: () => readFileStore(dataDir),
    async auditIdsAfterKill(tenantId) {
      const partner = (await partnerFiles(dataDir)).find((p) => p.tenantId === tenantId);
      const book = (await setupBooks(dataDir)).find((b) => b.tenantId === tenantId);
      const ids = await trailIds(trail, tenantId);
      for (const entry of [...(partner?.auditOutbox ?? []), ...(book?.auditOutbox ?? [])]) ids.add(entry.id);
      return ids;
    },
    ageInterrupted: async () => 0,
    dumpInto: async () => undefined,
    close: async () => undefined,
  };
}

/** The database to run on: DATABASE_URL if it names an empty one, else a fresh one of the test servers. */
async function crashDatabase(): Promise<string> {
  const url = process.env.DATABASE_URL;
  if (!url) return databaseUrl();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT to_regclass('public.partners') IS NOT NULL AS migrated");
    const used = rows[0].migrated && (await client.query('SELECT EXISTS (SELECT 1 FROM partners) OR EXISTS (SELECT 1 FROM commerce_keys) AS used')).rows[0].used;
    if (used) throw new Error('DATABASE_URL names a database that holds data: the crash test needs an empty one (or unset DATABASE_URL for a throwaway one)');
  } finally {
    await client.end();
  }
  return url;
}

async function postgresStore(): Promise<CrashStore> {
  const url = await crashDatabase();
  const { pool, repositories } = await openPostgres(url, DEFAULT_LIFECYCLE);
  const trail = new PostgresAuditLog(pool);
  return {
    kind: 'postgres',
    env: { DATABASE_URL: url },
    trail,
    catalog: async () => repositories.keyCatalog,
    read: () => readDatabase(pool),
    auditIdsAfterKill: (tenantId) => trailIds(trail, tenantId),
    // INTERRUPTED_AFTER_MS of src/setups/setupService.ts, and a minute more.
    ageInterrupted: async () => (await pool.query("UPDATE setups SET updated_at = updated_at - interval '6 minutes' WHERE status = 'reserving'")).rowCount ?? 0,
    dumpInto: async (dir) => writeFile(join(dir, 'database.txt'), await databaseText(pool)),
    close: () => pool.end(),
  };
}

// ---------------------------------------------------------------------------------------------
// The bot process

class BotProcess {
  private child?: ChildProcess;
  private readyPromise: Promise<void> = Promise.resolve();
  private output = '';
  /** SIGKILLs sent; a request sent before a kill and failed after it died with the process. */
  kills = 0;
  starts = 0;
  down = true;
  /** Warnings (and worse) the bot logged, such as repairs after a crash, by message. */
  readonly recoveries = new Map<string, number>();
  /** Exits nobody asked for. */
  readonly unexpectedExits: string[] = [];

  constructor(
    readonly dataDir: string,
    readonly store: CrashStore,
    readonly port: number,
    /** Everything every start of the bot wrote to stdout and stderr. */
    private readonly log: WriteStream,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  start(): Promise<void> {
    this.readyPromise = this.spawnAndWait();
    return this.readyPromise;
  }

  /** SIGKILL now, then a new process on the same folder; requests wait for `ready()`. */
  crashAndRestart(): Promise<void> {
    if (this.down) return this.readyPromise;
    this.down = true;
    this.kills++;
    this.readyPromise = this.killNow('SIGKILL')
      .then(() => checkAuditAfterKill(this.store, this.kills))
      .then(() => this.spawnAndWait());
    return this.readyPromise;
  }

  /** A clean shutdown (SIGTERM), as at the end of the run. */
  async stop(): Promise<void> {
    this.down = true;
    await this.killNow('SIGTERM', 10_000);
  }

  private async killNow(signal: NodeJS.Signals, graceMs = 0): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    // 'close': the process is gone and all it wrote has been read (and logged).
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill(signal);
    if (graceMs > 0) {
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    } else await exited;
  }

  private async spawnAndWait(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATA_DIR: this.dataDir,
        ...this.store.env,
        PORT: String(this.port),
        LOG_LEVEL: 'trace',
        KEY_HASH_SECRET: SECRET,
        DEMO_KEY_COUNT: '0',
        // Local mode even if a .env in the project folder holds credentials (it never overrides these).
        MicrosoftAppId: '',
        MicrosoftAppPassword: '',
        MicrosoftAppTenantId: '',
        NODE_NO_WARNINGS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.log.write(chunk);
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) this.logLine(line);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.log.write(chunk);
      this.output = (this.output + chunk).slice(-4000);
    });
    const killsAtStart = this.kills;
    child.once('exit', (code, signal) => {
      if (this.kills === killsAtStart && !this.down) {
        this.unexpectedExits.push(`exit code ${code} signal ${signal}: ${this.output.slice(-1500)}`);
        // Teams would keep sending: bring it back, like a supervisor would.
        this.down = true;
        this.readyPromise = this.spawnAndWait();
        this.readyPromise.catch(() => undefined);
      }
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the bot stopped during start-up (code ${child.exitCode}): ${this.output}`);
      const ok = await fetch(`${this.url}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`the bot did not answer /healthz within 30 s: ${this.output}`);
      await sleep(20);
    }
    this.starts++;
    this.down = false;
  }

  private logLine(line: string): void {
    if (!line.trim()) return;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      // pino's levels: 40 is warn.
      if ((entry.level ?? 0) < 40) return;
      const msg = entry.msg ?? '?';
      this.recoveries.set(msg, (this.recoveries.get(msg) ?? 0) + 1);
    } catch {
      this.output = (this.output + line + '\n').slice(-4000);
    }
  }

  async forceKill(): Promise<void> {
    this.down = true;
    await this.killNow('SIGKILL');
  }
}

/**
 * A Teams user whose every request opens a new connection: a pooled keep-alive socket to a killed
 * process would otherwise fail a request to the new one.
 */
class CrashUser extends TeamsUser {
  override post(activity: Record<string, unknown>): Promise<{ status: number; body: any }> {
    const body = JSON.stringify(activity);
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.options.botUrl}/api/messages`,
        { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('error', reject);
          res.on('aborted', () => reject(new Error('response aborted')));
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
            } catch (error) {
              reject(error);
            }
          });
        },
      );
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
      req.end(body);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// What was driven and what the bot acknowledged

interface Press {
  verb: string;
  data: Record<string, unknown>;
}

const acked: Acknowledged = { redeem: [], create: [], offer: [], renew: [] };
const violations: string[] = [];
const stats = { turns: 0, reads: 0, retries: 0, lostToKill: 0, abandoned: new Map<string, number>(), byVerb: new Map<string, number>() };
const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

class Stop extends Error {}
class Abandon extends Error {}

/** A customer an acknowledged creation made, as the partner's staff know it. */
interface KnownCustomer {
  name: string;
  domain: string;
  offerTried: boolean;
}

interface Worker {
  user: CrashUser;
  tenantIndex: number;
  /** Receipts of this user's acknowledged redemptions, not yet used for an account. */
  receipts: Card[];
}

const customersOf = new Map<string, KnownCustomer[]>();
const domainsTried: Array<{ tenantId: string; prefix: string }> = [];
let customerSeq = 0;
let keyPool: string[] = [];
let bot: BotProcess;
let hasher: KeyHasher;
let nextKillAt = 0;
/** When driving began (after the set-up, which on PostgreSQL may start a server). */
let startedAt = Date.now();

function done(): boolean {
  return stats.turns >= TARGET_TURNS || Date.now() - startedAt > DRIVE_BUDGET_MS;
}

function takeKeys(count: number): string[] {
  if (keyPool.length < count) throw new Stop('out of keys');
  return keyPool.splice(0, count);
}

/** What pressing a button sends: the card's inputs (unless none are associated), typed values, the button's data. */
function pressOf(card: Card, title: string, typed: Record<string, string> = {}): Press {
  const action = button(card, title);
  const withInputs = action.associatedInputs === 'none' ? {} : { ...inputs(card), ...typed };
  return { verb: action.verb, data: { ...withInputs, ...action.data } };
}

function hasButton(card: Card | undefined, title: string): card is Card {
  return card !== undefined && buttons(card).some((b) => b.title === title);
}

function abandon(reason: string, card?: Card): never {
  bump(stats.abandoned, reason);
  if (process.env.CRASH_DEBUG && card) console.log(`[${reason}] ${cardText(card).replace(/\n/g, ' | ').slice(0, 400)}`);
  throw new Abandon(reason);
}

/** Kills the bot at a random moment soon: right now, or a few milliseconds into the requests in flight. */
function maybeScheduleKill(): void {
  if (stats.turns < nextKillAt || bot.down) return;
  nextKillAt = stats.turns + randomInt(5, 40);
  const delay = random() < 0.3 ? 0 : randomInt(1, 40);
  setTimeout(() => {
    if (bot.down) return;
    void bot.crashAndRestart().catch((error: unknown) => violations.push(`restart failed: ${String(error)}`));
  }, delay);
}

/**
 * Sends one request until a living bot answers it. Only a failure of a process that was killed
 * meanwhile is retried, with the same data; anything else is a violation.
 */
async function deliver<T>(what: string, send: () => Promise<T | undefined>): Promise<T> {
  for (let attempt = 0; attempt < 25; attempt++) {
    if (attempt > 0) stats.retries++;
    await bot.ready();
    const kills = bot.kills;
    const exits = bot.unexpectedExits.length;
    try {
      const answer = await send();
      if (answer === undefined) throw new Error('the answer holds no card');
      return answer;
    } catch (error) {
      if (bot.kills === kills && bot.unexpectedExits.length === exits && !bot.down) {
        violations.push(`${what}: failed on a living bot: ${(error as Error).message}`);
        abandon('failed on a living bot');
      }
      if (attempt === 0) stats.lostToKill++;
    }
  }
  violations.push(`${what}: no answer after 25 attempts`);
  abandon('gave up');
}

/** A state-changing press: counted as a turn, may trigger a kill, retried with the same data. */
async function turn(worker: Worker, press: Press): Promise<Card> {
  if (done()) throw new Stop();
  stats.turns++;
  bump(stats.byVerb, press.verb);
  maybeScheduleKill();
  return deliver(press.verb, async () => {
    const { httpStatus, card } = await worker.user.invoke(press.verb, press.data);
    if (httpStatus !== 200) throw new Error(`HTTP ${httpStatus}`);
    return card;
  });
}

/** A read-only press (opening a form), retried freely. */
async function read(worker: Worker, press: Press): Promise<Card> {
  stats.reads++;
  return deliver(press.verb, async () => (await worker.user.invoke(press.verb, press.data)).card);
}

/** A typed message; the answer arrives at the connector. */
async function say(worker: Worker, text: string): Promise<Card> {
  stats.reads++;
  return deliver(`"${text}"`, async () => (await worker.user.say(text)).at(-1));
}

// ---------------------------------------------------------------------------------------------
// Journeys

async function redeem(worker: Worker): Promise<Card> {
  const keys = takeKeys(randomInt(1, 2));
  const entry = await say(worker, 'redeem');
  if (!hasButton(entry, 'Next')) abandon('no entry card');
  const review = await turn(worker, pressOf(entry, 'Next', { key0: keys.join('\n') }));
  if (!hasButton(review, 'Product keys were added')) abandon('no summary');
  const confirm = pressOf(review, 'Product keys were added');
  const receipt = await turn(worker, confirm);
  const text = cardText(receipt);
  if (!text.includes('Product keys were added') || !text.includes('reserved for your organization until')) abandon('confirmation not acknowledged', receipt);
  acked.redeem.push({ tenantId: worker.user.options.tenantId, setupId: String(confirm.data.setupId), keyRefs: keys.map((key) => hasher(key)) });
  return receipt;
}

async function create(worker: Worker): Promise<void> {
  const receipt = worker.receipts.length > 0 && random() < 0.8 ? worker.receipts.shift()! : await redeem(worker);
  if (!hasButton(receipt, "Step 2: Create the customer's account")) abandon('receipt without step 2');
  let form = await read(worker, pressOf(receipt, "Step 2: Create the customer's account"));
  if (cardText(form).includes('Your partner profile')) form = await turn(worker, pressOf(form, 'Save profile', PROFILE));
  if (!hasButton(form, 'Next')) abandon('no account form');
  const tenantId = worker.user.options.tenantId;
  const seq = String(++customerSeq).padStart(3, '0');
  const others = domainsTried.filter((d) => d.tenantId !== tenantId);
  // Now and then another partner's domain, to race for it.
  const prefix = others.length > 0 && random() < 0.08 ? pick(others).prefix : `crashp${worker.tenantIndex}c${seq}`;
  domainsTried.push({ tenantId, prefix });
  const name = `Crash P${worker.tenantIndex} C${seq} GmbH`;
  const account = { ...ACCOUNT, organisationName: name, domainPrefix: prefix, email: `admin@${prefix}.example` };
  const review = await turn(worker, pressOf(form, 'Next', account));
  if (!hasButton(review, 'Create account')) abandon(cardText(review).includes('is already taken') ? 'domain taken' : 'no account summary', review);
  const press = pressOf(review, 'Create account');
  const result = await turn(worker, press);
  if (!cardText(result).includes('The account was created')) abandon(cardText(result).includes('initial domain was taken') ? 'domain taken' : 'creation not acknowledged', result);
  const domain = `${prefix}.onmicrosoft.com`;
  acked.create.push({ tenantId, setupId: String(press.data.setupId), name, domain });
  if (!customersOf.has(tenantId)) customersOf.set(tenantId, []);
  customersOf.get(tenantId)!.push({ name, domain, offerTried: false });
}

async function customerCardOf(worker: Worker, customer: KnownCustomer): Promise<Card> {
  const card = await say(worker, `customer ${customer.name}`);
  if (!cardText(card).includes(customer.domain)) abandon('customer card not found');
  return card;
}

async function offer(worker: Worker, customer: KnownCustomer): Promise<void> {
  customer.offerTried = true;
  const card = await customerCardOf(worker, customer);
  if (!hasButton(card, 'Request delegated administration')) abandon('request not possible');
  const compose = await read(worker, pressOf(card, 'Request delegated administration'));
  if (!hasButton(compose, 'Send request')) abandon('no compose card');
  const press = pressOf(compose, 'Send request', { message: `Crash test offer ${randomInt(1, 1e6)}` });
  const answer = await turn(worker, press);
  const result = cardText(answer);
  if (!/was sent to|is saved/.test(result)) abandon('request not acknowledged', answer);
  acked.offer.push({ tenantId: worker.user.options.tenantId, customerId: String(press.data.customerId), offerId: String(press.data.requestId) });
}

async function renew(worker: Worker, customer: KnownCustomer): Promise<void> {
  const card = await customerCardOf(worker, customer);
  if (!hasButton(card, 'Renew')) abandon('renewal not possible');
  const form = await read(worker, pressOf(card, 'Renew'));
  if (!hasButton(form, 'Next')) abandon('no renewal form');
  const [key] = takeKeys(1);
  const entered = pressOf(form, 'Next', { key: key! });
  const review = await turn(worker, entered);
  if (!hasButton(review, 'Renew')) abandon('no renewal summary', review);
  const press = pressOf(review, 'Renew');
  const answer = await turn(worker, press);
  if (!cardText(answer).includes('Renewed:')) abandon('renewal not acknowledged', answer);
  // The renewal's setup is its idempotency key, at the backend and in the partner's file.
  acked.renew.push({ tenantId: worker.user.options.tenantId, customerId: String(entered.data.customerId), subscriptionId: String(entered.data.subscriptionId), requestId: String(press.data.setupId) });
}

async function runWorker(worker: Worker): Promise<void> {
  while (!done()) {
    const customers = customersOf.get(worker.user.options.tenantId) ?? [];
    const notOffered = customers.filter((c) => !c.offerTried);
    const roll = random();
    try {
      if (worker.receipts.length > 0 && roll < 0.35) await create(worker);
      else if (roll < 0.55) worker.receipts.push(await redeem(worker));
      else if (roll < 0.75 || customers.length === 0) await create(worker);
      else if (roll < 0.87 && (notOffered.length > 0 || random() < 0.15)) await offer(worker, notOffered.length > 0 ? pick(notOffered) : pick(customers));
      else await renew(worker, pick(customers));
    } catch (error) {
      if (error instanceof Stop) return;
      if (error instanceof Abandon) continue;
      violations.push(`unexpected error in a journey: ${(error as Error).stack ?? String(error)}`);
    }
  }
}

/** Right after a kill, before the restart: every change stored has its audit entry (see auditIdsAfterKill). */
async function checkAuditAfterKill(store: CrashStore, kill: number): Promise<void> {
  for (const partner of (await store.read()).partners) {
    const ids = await store.auditIdsAfterKill(partner.tenantId);
    for (const id of auditedChanges(partner.customers)) if (!ids.has(id)) violations.push(`after kill ${kill}: a change has no audit entry ${id}, in the trail or an outbox`);
  }
}

/** One way of spoiling an acknowledged result in the database, and what the checks must say to it. */
interface Tampering {
  what: string;
  /** Undefined when the run acknowledged nothing of the kind to spoil. */
  sql?: Array<{ text: string; values: unknown[] }>;
  /** Found by the scan for keys rather than by the invariants. */
  secret?: boolean;
}

function tamperings(leakedKey: string): Tampering[] {
  const created = acked.create[0];
  const receipt = acked.redeem[0];
  const renewal = acked.renew[0];
  return [
    { what: 'an acknowledged account deleted', ...(created && { sql: [{ text: 'DELETE FROM customers WHERE setup_id = $1', values: [created.setupId] }] }) },
    { what: 'an acknowledged receipt deleted', ...(receipt && { sql: [{ text: 'DELETE FROM setups WHERE id = $1', values: [receipt.setupId] }] }) },
    {
      // The unique constraints would refuse the copy: dropped in the same transaction, which rolls back.
      what: 'an acknowledged tenant stored twice',
      ...(created && {
        sql: [
          { text: 'ALTER TABLE commerce_tenants DROP CONSTRAINT commerce_tenants_idempotency_key_key, DROP CONSTRAINT commerce_tenants_domain_key', values: [] },
          {
            text: `INSERT INTO commerce_tenants (tenant_id, idempotency_key, partner_tenant_id, created_at, organisation_name, country, language, domain)
                   SELECT gen_random_uuid(), idempotency_key, partner_tenant_id, created_at, organisation_name, country, language, domain FROM commerce_tenants WHERE idempotency_key = $1`,
            values: [created.setupId],
          },
        ],
      }),
    },
    { what: 'an acknowledged renewal lost in the backend', ...(renewal && { sql: [{ text: 'DELETE FROM commerce_subscription_renewals WHERE idempotency_key = $1', values: [renewal.requestId] }] }) },
    {
      what: 'a full product key in an audit entry',
      secret: true,
      sql: [{ text: "UPDATE audit_entries SET details = details || jsonb_build_object('note', $1::text) WHERE (partner_tenant_id, seq) IN (SELECT partner_tenant_id, seq FROM audit_entries ORDER BY seq LIMIT 1)", values: [leakedKey] }],
    },
  ];
}

/**
 * --tamper: each spoiling in a transaction of its own, the checks run on what that transaction sees
 * (the audit chains are verified on the untouched data), then rolled back. Returns the spoilings
 * the checks missed.
 */
async function tamperCheck(url: string, trail: AuditLog, issued: readonly string[]): Promise<string[]> {
  const keys = new Set(issued.map(compact));
  // What the checks say of the untouched data: only what a spoiling adds to it counts as found.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const missed: string[] = [];
  try {
    const before = new Set(await checkStored(await readDatabase(client), acked, trail));
    for (const tampering of tamperings(issued[0]!)) {
      if (!tampering.sql) {
        console.log(`tamper:           ${tampering.what}: nothing of the kind acknowledged, not tried`);
        continue;
      }
      await client.query('BEGIN');
      try {
        for (const statement of tampering.sql) await client.query(statement.text, statement.values);
        const found = tampering.secret
          ? [...keysIn(await databaseText(client), keys)].map((key) => `the database holds the key ending in ${key.slice(-5)}`)
          : (await checkStored(await readDatabase(client), acked, trail)).filter((violation) => !before.has(violation));
        console.log(`tamper:           ${tampering.what}: ${found.length > 0 ? `found (${found[0]})` : 'MISSED'}`);
        if (found.length === 0) missed.push(tampering.what);
      } finally {
        await client.query('ROLLBACK');
      }
    }
  } finally {
    await client.end();
  }
  return missed;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  if (SECRET.length !== 40) throw new Error('the secret must have 40 characters');
  const runDir = await mkdtemp(join(tmpdir(), 'psb-crash-'));
  const dataDir = join(runDir, 'data');
  const logFile = join(runDir, 'bot.log');
  const log = createWriteStream(logFile);
  if (STORE !== 'file' && STORE !== 'postgres') throw new Error(`--store: file or postgres, not ${STORE}`);
  if (TAMPER && STORE !== 'postgres') throw new Error('--tamper checks the PostgreSQL checks: use it with --store postgres');
  const connector = await new FakeConnector().start();
  let store: CrashStore | undefined;
  let cleaned = false;
  const cleanUp = async () => {
    if (cleaned) return;
    cleaned = true;
    await bot?.forceKill().catch(() => undefined);
    await connector.stop().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await stopPostgres().catch(() => undefined);
    log.end();
    // A failed run keeps its data and log to look at.
    if (violations.length > 0) console.log(`data and log kept in ${runDir}`);
    else await rm(runDir, { recursive: true, force: true });
  };
  const onSignal = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    store = STORE === 'postgres' ? await postgresStore() : fileStore(dataDir);
    console.log(`crash test: seed ${SEED}, ${TARGET_TURNS} turns, ${store.kind} store, data in ${dataDir}, log in ${logFile}`);
    const secret = await loadKeyHashSecret(dataDir, SECRET);
    hasher = createKeyHasher(secret);
    const catalog = await store.catalog();
    await ensureSameSecret(catalog, secret);
    keyPool = await new KeyIssuer(catalog, hasher, () => new Date()).issueKeys({ product: PRODUCT, seats: 10, months: 12, count: KEY_COUNT });
    const issued = [...keyPool];

    bot = new BotProcess(dataDir, store, await freePort(), log);
    await bot.start();
    startedAt = Date.now();
    nextKillAt = randomInt(5, 40);
    const workers: Worker[] = [];
    for (let t = 1; t <= TENANTS; t++) {
      for (let u = 1; u <= USERS_PER_TENANT; u++) {
        const user = new CrashUser({ botUrl: bot.url, connector, tenantId: `c7a5e000-0000-4000-8000-00000000000${t}`, userId: `crash-user-${t}-${u}`, name: `Crash User ${t}.${u}` });
        workers.push({ user, tenantIndex: t, receipts: [] });
      }
    }
    // Roles: each partner's first user saves the profile and becomes Admin agent, and makes the others Sales agents.
    for (let t = 1; t <= TENANTS; t++) {
      const [admin, ...colleagues] = workers.filter((worker) => worker.tenantIndex === t);
      await turn(admin!, pressOf(await say(admin!, 'profile'), 'Save profile', PROFILE));
      for (const colleague of colleagues) {
        await say(colleague, 'hello');
        await turn(admin!, { verb: 'role.assign', data: { userId: colleague.user.options.userId, field: 'role0', role0: 'sales' } });
      }
    }
    await Promise.all(workers.map(runWorker));
    const reachedTarget = stats.turns >= TARGET_TURNS;
    const driveMs = Date.now() - startedAt;

    // One last kill at rest, a recovery start, then a clean stop before the store is read.
    await bot.ready();
    await bot.crashAndRestart();
    await bot.stop();
    const aged = await store.ageInterrupted();
    if (aged > 0) {
      await bot.start();
      await bot.stop();
    }
    violations.push(...(await checkStored(await store.read(), acked, store.trail)));
    await store.dumpInto(runDir);
    await new Promise((resolve) => log.end(resolve));
    const secrets = await scanForKeys(await filesUnder(runDir), issued);
    for (const hit of secrets.hits) violations.push(`${hit.file} holds the product key ending in ${hit.lastGroup} in full`);
    for (const exit of bot.unexpectedExits) violations.push(`the bot died on its own: ${exit}`);
    if (!reachedTarget) violations.push(`only ${stats.turns} of ${TARGET_TURNS} turns in ${Math.round(driveMs / 1000)} s`);
    // A run in which no journey got past its first step checked nothing: most likely the answers it
    // looks for were reworded.
    for (const [step, done] of Object.entries(acked)) if (done.length === 0) violations.push(`no ${step} step was acknowledged in the whole run`);
    if (TAMPER) for (const missed of await tamperCheck(store.env.DATABASE_URL!, store.trail, issued)) violations.push(`the checks did not notice ${missed}`);

    const verbs = [...stats.byVerb].map(([verb, n]) => `${verb} ${n}`).join(', ');
    const abandoned = [...stats.abandoned].map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none';
    const repairs = [...bot.recoveries].map(([msg, n]) => `${msg} ×${n}`).join('; ') || 'none';
    console.log(`turns driven:     ${stats.turns} state-changing (${verbs}); ${stats.reads} reads; ${Math.round(driveMs / 1000)} s`);
    console.log(`kills survived:   ${bot.kills} SIGKILLs, ${bot.starts} starts; ${stats.lostToKill} requests lost to a kill, ${stats.retries} retries with the same data${aged > 0 ? `; ${aged} interrupted confirmation(s) aged for one more start to take back` : ''}`);
    console.log(`acknowledged:     ${acked.redeem.length} receipts, ${acked.create.length} accounts created, ${acked.offer.length} offers, ${acked.renew.length} renewals`);
    console.log(`journeys stopped: ${abandoned}`);
    console.log(`bot warnings:     ${repairs}`);
    console.log(`secrets scan:     ${secrets.files} files (${(secrets.bytes / 1e6).toFixed(1)} MB) scanned, ${secrets.keys} product keys checked, hits: ${secrets.hits.length}`);
    console.log(`violations:       ${violations.length}`);
    for (const violation of violations) console.log(`  - ${violation}`);
    return violations.length === 0 ? 0 : 1;
  } finally {
    await cleanUp();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
