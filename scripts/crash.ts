/**
 * Crash test (`npm run test:stress`): the real bot as a child process (`node --import tsx src/index.ts`)
 * is killed with SIGKILL at random moments while several partners redeem keys, create customers,
 * offer delegated administration and renew subscriptions over HTTP. A request that dies with the
 * process is sent again after the restart with exactly the same data, as Teams would. Afterwards the
 * database files are read directly: every operation the bot acknowledged must be there exactly once,
 * and no key, tenant or customer may be doubled or half-done. The bot logs at the most verbose level
 * to a file beside its data, and neither may hold any of the run's product keys in full.
 *
 *   npx tsx scripts/crash.ts [--seed 1234] [--turns 300]
 *
 * Exits 0 when no violation was found, 1 otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeyIssuer } from '../src/commerce/keyIssuer.js';
import { openFileKeyCatalog } from '../src/store/files/commerce.js';
import { FileAuditLog } from '../src/store/auditFile.js';
import { createKeyHasher, loadKeyHashSecret, type KeyHasher } from '../src/commerce/keyHasher.js';
import { addMonths } from '../src/domain/subscriptions.js';
import { button, buttons, cardText, inputs, type Card } from '../test/support/cardQuery.js';
import { FakeConnector } from '../test/support/connector.js';
import { ACCOUNT, PROFILE } from '../test/support/journeys.js';
import { TeamsUser } from '../test/support/teams.js';
import { mulberry32 } from '../test/support/random.js';
import { filesUnder, scanForKeys } from '../test/support/secretScan.js';

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
      .then(() => checkAuditAfterKill(this.dataDir, this.kills))
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

interface Receipt {
  tenantId: string;
  setupId: string;
  keyRefs: string[];
}
interface Creation {
  tenantId: string;
  setupId: string;
  name: string;
  domain: string;
}
interface OfferAck {
  tenantId: string;
  customerId: string;
  offerId: string;
}
interface RenewalAck {
  tenantId: string;
  customerId: string;
  subscriptionId: string;
  requestId: string;
}

const acked = { redeem: [] as Receipt[], create: [] as Creation[], offer: [] as OfferAck[], renew: [] as RenewalAck[] };
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
const startedAt = Date.now();

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

// ---------------------------------------------------------------------------------------------
// The files, read directly

async function jsonFiles(dir: string): Promise<any[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.json'));
  return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(dir, name), 'utf8'))));
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) bump(counts, key(item));
  return counts;
}

/** The audit entry ids the changes in a partner file must have: its customers, requests and renewals. */
function auditedChanges(partner: any): string[] {
  return partner.customers.flatMap((customer: any) => [
    `account.create:${customer.setupId}`,
    ...customer.offers.map((o: any) => `delegation.request:${o.id}`),
    ...customer.subscriptions.flatMap((sub: any) => sub.renewalIds.map((id: string) => `keys.apply:${id}`)),
  ]);
}

/**
 * Right after a kill, before the restart: every change in the files has its audit entry, in the
 * trail or still in the outbox of the document written with it (the start appends those).
 */
async function checkAuditAfterKill(dataDir: string, kill: number): Promise<void> {
  const trail = FileAuditLog.in(dataDir);
  const books = await jsonFiles(join(dataDir, 'setups'));
  for (const partner of await jsonFiles(join(dataDir, 'partners'))) {
    const book = books.find((b) => b.tenantId === partner.tenantId);
    const ids = new Set<string>([...(partner.auditOutbox ?? []), ...(book?.auditOutbox ?? [])].map((entry: any) => entry.id));
    for await (const entry of trail.entries(partner.tenantId)) ids.add(entry.id);
    for (const id of auditedChanges(partner)) if (!ids.has(id)) violations.push(`after kill ${kill}: a change has no audit entry ${id}, in the trail or an outbox`);
  }
}

async function checkFiles(dataDir: string): Promise<void> {
  const fail = (text: string) => violations.push(text);
  const partners = await jsonFiles(join(dataDir, 'partners'));
  const books = await jsonFiles(join(dataDir, 'setups'));
  const reservations = new Map<string, { tenantId: string; setupId: string }>();
  for (const shard of await jsonFiles(join(dataDir, 'reservations'))) for (const [ref, r] of Object.entries<any>(shard.reservations)) reservations.set(ref, r);
  const catalog = new Map<string, any>();
  for (const shard of await jsonFiles(join(dataDir, 'commerce', 'catalog'))) for (const [ref, entry] of Object.entries<any>(shard.keys)) catalog.set(ref, entry);
  const tenants: any[] = [];
  for (const shard of await jsonFiles(join(dataDir, 'commerce', 'tenants'))) tenants.push(...Object.values<any>(shard.tenants));

  const setups = books.flatMap((p) => p.setups.map((s: any) => ({ tenantId: p.tenantId as string, setup: s })));
  const customers = partners.flatMap((p) => p.customers.map((c: any) => ({ tenantId: p.tenantId as string, customer: c })));
  const setupCount = countBy(setups, (s) => `${s.tenantId}/${s.setup.id}`);

  // Nothing half-done after the last recovery.
  for (const { tenantId, setup } of setups) if (setup.status === 'reserving' || setup.status === 'creating') fail(`setup ${tenantId}/${setup.id} left ${setup.status} after recovery`);

  // Receipts: reserved keys, unless a creation redeemed them since.
  for (const r of acked.redeem) {
    const found = setups.filter((s) => s.tenantId === r.tenantId && s.setup.id === r.setupId);
    if (found.length !== 1) {
      fail(`acknowledged receipt ${r.setupId}: ${found.length} setups in the file`);
      continue;
    }
    const setup = found[0]!.setup;
    const refs = setup.keys.map((k: any) => k.ref).sort();
    if (JSON.stringify(refs) !== JSON.stringify([...r.keyRefs].sort())) fail(`acknowledged receipt ${r.setupId}: the setup holds other keys than were added`);
    for (const ref of r.keyRefs) {
      const entry = catalog.get(ref);
      if (setup.status === 'reserved') {
        const holder = reservations.get(ref);
        if (holder?.tenantId !== r.tenantId || holder.setupId !== r.setupId) fail(`acknowledged receipt ${r.setupId}: key …${entry?.lastGroup} not reserved for it`);
        if (entry?.status !== 'available') fail(`acknowledged receipt ${r.setupId}: reserved key …${entry?.lastGroup} is ${entry?.status} in the catalogue`);
      } else if (setup.status === 'completed') {
        if (entry?.status !== 'redeemed' || entry.redeemedFor !== setup.customerId) fail(`receipt ${r.setupId} consumed by a creation, but key …${entry?.lastGroup} is ${entry?.status} for ${entry?.redeemedFor}`);
      } else fail(`acknowledged receipt ${r.setupId}: setup is ${setup.status}`);
    }
  }

  // Creations: one customer each, one tenant each; no domain, tenant or setup twice anywhere.
  for (const c of acked.create) {
    const found = customers.filter((x) => x.tenantId === c.tenantId && x.customer.setupId === c.setupId);
    if (found.length !== 1) fail(`acknowledged creation ${c.name}: ${found.length} customers in the partner file`);
    const customer = found[0]?.customer;
    if (customer && customer.domain !== c.domain) fail(`acknowledged creation ${c.name}: domain ${customer.domain}, expected ${c.domain}`);
    const records = tenants.filter((t) => t.idempotencyKey === c.setupId);
    if (records.length !== 1) fail(`acknowledged creation ${c.name}: ${records.length} commerce tenants`);
    else if (customer && (records[0].tenantId !== customer.tenantId || records[0].status !== 'active')) fail(`acknowledged creation ${c.name}: commerce tenant ${records[0].tenantId} (${records[0].status}) is not customer ${customer.tenantId}`);
  }
  for (const [domain, n] of countBy(customers, (x) => x.customer.domain)) if (n > 1) fail(`${n} customers with domain ${domain}`);
  for (const [id, n] of countBy(customers, (x) => x.customer.tenantId)) if (n > 1) fail(`customer tenant ${id} recorded ${n} times`);
  for (const [id, n] of countBy(customers, (x) => x.customer.setupId)) if (n > 1) fail(`setup ${id} made ${n} customers`);
  for (const [key, n] of setupCount) if (n > 1) fail(`setup ${key} stored ${n} times`);
  for (const [id, n] of countBy(tenants, (t) => t.tenantId)) if (n > 1) fail(`commerce tenant ${id} stored ${n} times`);
  for (const [key, n] of countBy(tenants, (t) => t.idempotencyKey)) if (n > 1) fail(`setup ${key} made ${n} commerce tenants`);
  for (const t of tenants) {
    if (t.status !== 'active') fail(`commerce tenant ${t.domain} left ${t.status}`);
    const owners = customers.filter((x) => x.customer.tenantId === t.tenantId);
    if (owners.length !== 1 || owners[0]!.tenantId !== t.partnerTenantId) fail(`commerce tenant ${t.domain} has ${owners.length} customer records at its partner`);
    for (const handle of t.keyHandles) if (catalog.get(handle)?.redeemedFor !== t.tenantId) fail(`commerce tenant ${t.domain}: key …${catalog.get(handle)?.lastGroup} not redeemed for it`);
  }
  // A redeemed key must have made a tenant or a renewal: one redeemed for nothing was lost.
  const redeemedFor = countBy([...catalog.values()].filter((e) => e.status === 'redeemed'), (e) => e.redeemedFor);
  for (const t of tenants) {
    const used = t.keyHandles.length + t.subscriptions.reduce((n: number, s: any) => n + s.renewals.length, 0);
    const redeemed = redeemedFor.get(t.tenantId) ?? 0;
    if (redeemed !== used) fail(`${t.domain}: ${redeemed} keys redeemed for it, but ${t.keyHandles.length} made it and ${used - t.keyHandles.length} renewed it (${redeemed - used} key(s) lost)`);
  }
  const tenantIds = new Set(tenants.map((t) => t.tenantId));
  for (const [ref, entry] of catalog) {
    if (entry.status === 'redeemed' && !tenantIds.has(entry.redeemedFor)) fail(`key …${entry.lastGroup} redeemed for ${entry.redeemedFor}, which does not exist`);
    if (entry.status === 'redeemed' && reservations.has(ref)) fail(`key …${entry.lastGroup} is both reserved and redeemed`);
  }
  for (const [ref, holder] of reservations) {
    const setup = setups.find((s) => s.tenantId === holder.tenantId && s.setup.id === holder.setupId)?.setup;
    if (!setup || setup.status !== 'reserved') fail(`reservation of key …${catalog.get(ref)?.lastGroup} points to a setup that is ${setup?.status ?? 'missing'}`);
  }

  // Requests: each acknowledged one exactly once, with its relationship once in the backend.
  const offers = customers.flatMap((x) => x.customer.offers.map((o: any) => ({ tenantId: x.tenantId, customerId: x.customer.tenantId as string, offer: o })));
  for (const o of acked.offer) {
    const found = offers.filter((x) => x.offer.id === o.offerId);
    if (found.length !== 1 || found[0]!.tenantId !== o.tenantId || found[0]!.customerId !== o.customerId) fail(`acknowledged offer ${o.offerId}: found ${found.length} times`);
  }
  for (const [id, n] of countBy(offers, (x) => x.offer.id)) if (n > 1) fail(`offer ${id} stored ${n} times`);
  const relationships = tenants.flatMap((t) => (t.relationships ?? []).map((r: any) => ({ tenantId: t.tenantId as string, relationship: r })));
  for (const [key, n] of countBy(relationships, (x) => `${x.relationship.partnerTenantId}|${x.relationship.idempotencyKey}`)) if (n > 1) fail(`relationship request ${key} created ${n} times`);
  for (const { customerId, offer } of offers.filter((x) => x.offer.relationship)) {
    const held = relationships.filter((x) => x.tenantId === customerId && x.relationship.id === offer.relationship.id).length;
    if (held !== 1) fail(`request ${offer.id}: its relationship is ${held} times in the backend`);
  }

  // The audit trail: every chain verifies, no entry twice, and no change without its entry.
  const trail = FileAuditLog.in(dataDir);
  const entryIds = new Map<string, Set<string>>();
  for (const partner of new Set(partners.map((p) => p.tenantId as string))) {
    const { verdict } = await trail.verify(partner);
    if (!verdict.ok) fail(`audit trail of ${partner} does not verify: ${verdict.broken.problem} at position ${verdict.broken.position}`);
    const ids: string[] = [];
    for await (const entry of trail.entries(partner)) ids.push(entry.id);
    for (const [id, n] of countBy(ids, (id) => id)) if (n > 1) fail(`audit entry ${id} of ${partner} recorded ${n} times`);
    entryIds.set(partner, new Set(ids));
  }
  for (const partner of partners) for (const id of auditedChanges(partner)) if (!entryIds.get(partner.tenantId)?.has(id)) fail(`a change has no audit entry ${id}`);

  // Renewals: once each in the backend and in the partner's mirror; the end date moved once per renewal.
  const tenantById = new Map(tenants.map((t) => [t.tenantId, t]));
  for (const r of acked.renew) {
    const sub = tenantById.get(r.customerId)?.subscriptions.find((s: any) => s.id === r.subscriptionId);
    const mirror = customers.find((x) => x.customer.tenantId === r.customerId)?.customer.subscriptions.find((s: any) => s.id === r.subscriptionId);
    const inBackend = sub?.renewals.filter((id: string) => id === r.requestId).length ?? 0;
    const inMirror = mirror?.renewalIds.filter((id: string) => id === r.requestId).length ?? 0;
    if (inBackend !== 1 || inMirror !== 1) fail(`acknowledged renewal ${r.requestId}: ${inBackend}× in the backend, ${inMirror}× in the partner file`);
  }
  for (const t of tenants) {
    for (const sub of t.subscriptions) {
      let expected = addMonths(sub.startDate, 12);
      for (let i = 0; i < sub.renewals.length; i++) expected = addMonths(expected, 12);
      if (sub.endDate !== expected) fail(`${t.domain}: ends ${sub.endDate} after ${sub.renewals.length} renewals, expected ${expected}`);
      const mirror = customers.find((x) => x.customer.tenantId === t.tenantId)?.customer.subscriptions.find((s: any) => s.id === sub.id);
      if (mirror && mirror.endDate !== sub.endDate) {
        const lost = sub.renewals.filter((id: string) => !mirror.renewalIds.includes(id));
        fail(`${t.domain}: the partner file says it ends ${mirror.endDate}, the backend ${sub.endDate} (renewals not mirrored: ${lost.join(', ')})`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  if (SECRET.length !== 40) throw new Error('the secret must have 40 characters');
  const runDir = await mkdtemp(join(tmpdir(), 'psb-crash-'));
  const dataDir = join(runDir, 'data');
  const logFile = join(runDir, 'bot.log');
  const log = createWriteStream(logFile);
  const connector = await new FakeConnector().start();
  let cleaned = false;
  const cleanUp = async () => {
    if (cleaned) return;
    cleaned = true;
    await bot?.forceKill().catch(() => undefined);
    await connector.stop().catch(() => undefined);
    log.end();
    // A failed run keeps its data and log to look at.
    if (violations.length > 0) console.log(`data and log kept in ${runDir}`);
    else await rm(runDir, { recursive: true, force: true });
  };
  const onSignal = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    console.log(`crash test: seed ${SEED}, ${TARGET_TURNS} turns, data in ${dataDir}, log in ${logFile}`);
    hasher = createKeyHasher(await loadKeyHashSecret(dataDir, SECRET));
    const commerce = new KeyIssuer(await openFileKeyCatalog(dataDir), hasher, () => new Date());
    keyPool = await commerce.issueKeys({ product: PRODUCT, seats: 10, months: 12, count: KEY_COUNT });
    const issued = [...keyPool];

    bot = new BotProcess(dataDir, await freePort(), log);
    await bot.start();
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

    // One last kill at rest, a recovery start, then a clean stop before the files are read.
    await bot.ready();
    await bot.crashAndRestart();
    await bot.stop();
    await checkFiles(dataDir);
    await new Promise((resolve) => log.end(resolve));
    const secrets = await scanForKeys(await filesUnder(runDir), issued);
    for (const hit of secrets.hits) violations.push(`${hit.file} holds the product key ending in ${hit.lastGroup} in full`);
    for (const exit of bot.unexpectedExits) violations.push(`the bot died on its own: ${exit}`);
    if (!reachedTarget) violations.push(`only ${stats.turns} of ${TARGET_TURNS} turns in ${Math.round(driveMs / 1000)} s`);
    // A run in which no journey got past its first step checked nothing: most likely the answers it
    // looks for were reworded.
    for (const [step, done] of Object.entries(acked)) if (done.length === 0) violations.push(`no ${step} step was acknowledged in the whole run`);

    const verbs = [...stats.byVerb].map(([verb, n]) => `${verb} ${n}`).join(', ');
    const abandoned = [...stats.abandoned].map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none';
    const repairs = [...bot.recoveries].map(([msg, n]) => `${msg} ×${n}`).join('; ') || 'none';
    console.log(`turns driven:     ${stats.turns} state-changing (${verbs}); ${stats.reads} reads; ${Math.round(driveMs / 1000)} s`);
    console.log(`kills survived:   ${bot.kills} SIGKILLs, ${bot.starts} starts; ${stats.lostToKill} requests lost to a kill, ${stats.retries} retries with the same data`);
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
