/**
 * The performance benchmark of Partner Setup Bot (a script, not a test: it reports and exits 0).
 *
 *   npx tsx scripts/bench.ts [--runs 3] [--duration 5] [--warmup 1.5] [--concurrency 16] [--profile]
 *                            [--reminder-state today|none] [--bot-node-options="--trace-gc"]
 *   npx tsx scripts/bench.ts --scale [--scale-partners 100,1000,5000]
 *   DATABASE_URL=postgres://… npx tsx scripts/bench.ts   (or --store postgres: a throwaway server)
 *
 * Builds a synthetic data set (1,000 partner tenants, 50,000 customers, 150,000 subscriptions) in the
 * store's on-disk layout in a temporary folder, starts the real bot (createApp, local mode) and a
 * bare botbuilder echo bot each in a child process, drives both over HTTP from a load generator
 * process with 16 concurrent conversations whose replies go to a local connector, runs one
 * reminder run over all subscriptions, and compares the medians with the issue's targets. Beside
 * each phase it measures what the machine adds to every delay: the loop delays of the load
 * generator and the connector, and that of an idle probe process (its wait for a CPU). Writes
 * bench-results/latest.json.
 * `--profile` also writes per-phase CPU profiles of the bot to bench-results/profiles/ and prints
 * where the time goes (profiling slows the bot, so its figures are marked as profiled).
 * `--scale` runs the same phases once per data-set size (100, 1,000 and 5,000 partners by default,
 * 50 customers each) and writes bench-results/scale.json.
 * On PostgreSQL (`--store postgres`, the default when DATABASE_URL is set) the generated files are
 * copied once into a database of their own with the import, each run gets a clone of it, and the
 * bot runs with DATABASE_URL on that clone. Without DATABASE_URL a throwaway server is started (as
 * the tests start theirs). Needs a user allowed to CREATE DATABASE.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { messageActivity } from './bench/activities.js';
import { BotChild, liveChildren, startScriptNodeOptions } from './bench/child.js';
import { BenchConnector } from './bench/connector.js';
import { BenchDatabases } from './bench/postgresData.js';
import { DatasetSchemaError, generateDataset, type Dataset } from './bench/dataset.js';
import type { LoadResult } from './bench/load.js';
import { foreignShare, serverCpuMs, snapshot, waitForQuietMachine } from './bench/machine.js';
import { summarise } from './bench/profileSummary.js';
import type { LoopFigures } from './bench/protocol.js';
import { judge, medians, ratios, table, targetsFor, verdicts, type Figures } from './bench/report.js';
import type { TurnKind } from './bench/turns.js';
import { JsonFileStore } from '../src/store/store.js';
import { databaseUrl, stopPostgres } from './support/postgresServer.js';

/** The bot's key-hash secret in the benchmark; the catalogue is minted with the same one. */
const KEY_HASH_SECRET = 'bench-secret-bench-secret-bench-secret-42';
const CARD = 'application/vnd.microsoft.card.adaptive';
const WELCOME_TITLE = 'Partner Setup Bot';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = join(projectRoot, 'bench-results');

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1.5' },
    concurrency: { type: 'string', default: '16' },
    partners: { type: 'string', default: '1000' },
    customers: { type: 'string', default: '50' },
    subscriptions: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    'reminder-state': { type: 'string', default: 'today' },
    'settle-timeout': { type: 'string', default: '90' },
    /** Seconds to wait for other processes to calm down before each run. */
    'quiet-wait': { type: 'string', default: '60' },
    /** Extra node options for the bot child only, e.g. --bot-node-options="--trace-gc". */
    'bot-node-options': { type: 'string', default: '' },
    out: { type: 'string', default: join(resultsDir, 'latest.json') },
    /** Growth: the help, list and write turns and the reminder run at 100, 1,000 and 5,000 partners. */
    scale: { type: 'boolean', default: false },
    'scale-partners': { type: 'string', default: '100,1000,5000' },
    /** `file` or `postgres`; PostgreSQL by default when DATABASE_URL is set. */
    store: { type: 'string', default: process.env.DATABASE_URL ? 'postgres' : 'file' },
  },
});

const settings = {
  runs: Math.max(1, Number(args.runs)),
  durationMs: Number(args.duration) * 1000,
  warmupMs: Number(args.warmup) * 1000,
  concurrency: Number(args.concurrency),
  partners: Number(args.partners),
  customersPerPartner: Number(args.customers),
  subscriptionsPerCustomer: Number(args.subscriptions),
  profile: args.profile,
  /** `today`: reminders up to today already recorded (steady state); `none`: never recorded. */
  reminderState: (args['reminder-state'] === 'none' ? 'none' : 'today') as 'today' | 'none',
  settleTimeoutMs: Number(args['settle-timeout']) * 1000,
  quietWaitMs: Number(args['quiet-wait']) * 1000,
  botNodeOptions: (args['bot-node-options'] ?? '').split(/\s+/).filter(Boolean),
  scale: args.scale,
  scalePartners: args['scale-partners']!.split(',').map(Number).filter((n) => n > 0),
  store: args.store as 'file' | 'postgres',
};
if (settings.store !== 'file' && settings.store !== 'postgres') throw new Error(`--store ${String(settings.store)}: file or postgres`);

/** The data set's databases when the store is PostgreSQL (made by `dataset`). */
let databases: BenchDatabases | undefined;
/** The database server's main process when it runs on this machine: its CPU is the turns' too, not another's. */
let databasePid: number | undefined;

const say = (text: string) => process.stdout.write(`${text}\n`);

let tempRoot: string | undefined;
function killEverything(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  if (tempRoot) rmSync(tempRoot, { recursive: true, force: true });
  tempRoot = undefined;
}
process.on('exit', () => killEverything());
// `on`, not `once`: under `npx tsx` the signal arrives twice (from the terminal and relayed by tsx),
// and a second one with no listener would end the process in the middle of the clean-up.
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    killEverything();
    process.exit(130);
  });
}

interface Measured {
  load: LoadResult;
  loop: LoopFigures;
  /** Longest event-loop delay of the load generator during the phase: it adds to every latency measured. */
  loadGeneratorMaxLoopMs: number;
  /** Longest event-loop delay of this process, the connector: it adds to the latency of message turns. */
  connectorMaxLoopMs: number;
  /** Longest delay of the idle probe process meanwhile: the machine's scheduling floor. */
  idleProbeMaxDelayMs: number;
  /** Share of the machine's CPU other processes (not the bot, the load generator, nor the database server) used during the phase. */
  foreign?: number;
  /** CPU time of the database server (PostgreSQL on this machine) during the phase. */
  databaseCpuMs?: number;
  profile?: string;
}

/** The helper processes beside the bots: the load generator, and the idle probe. */
interface Helpers {
  loader: BotChild;
  probe: BotChild;
}

/**
 * One measured phase: the child's loop histogram is reset first, and read (with memory) after.
 * The loop delays of the load generator, the connector (this process) and the idle probe are
 * measured alongside.
 */
async function phase(child: BotChild, { loader, probe }: Helpers, name: string, run: () => Promise<LoadResult>): Promise<Measured> {
  await Promise.all([child.resetLoop(), loader.resetLoop(), probe.resetLoop()]);
  if (settings.profile) await child.profileStart();
  const machine = snapshot();
  const databaseBefore = databasePid === undefined ? undefined : serverCpuMs(databasePid);
  const ownLoop = monitorEventLoopDelay({ resolution: 1 });
  ownLoop.enable();
  const load = await run();
  ownLoop.disable();
  const profile = settings.profile ? await child.profileStop(name) : undefined;
  const [loop, loaderLoop, idle] = await Promise.all([child.loop(), loader.loop(), probe.loop()]);
  const databaseAfter = databasePid === undefined ? undefined : serverCpuMs(databasePid);
  const databaseCpuMs = databaseBefore === undefined || databaseAfter === undefined ? undefined : databaseAfter - databaseBefore;
  const foreign = foreignShare(machine, loop.cpuMs + loaderLoop.cpuMs + (databaseCpuMs ?? 0));
  if (foreign !== undefined && foreign > 0.1) note(`${name} phase: other processes used ${(foreign * 100).toFixed(0)} % of the machine's CPU meanwhile; its figures are distorted`);
  return { load, loop, foreign, profile, databaseCpuMs, loadGeneratorMaxLoopMs: loaderLoop.maxMs, connectorMaxLoopMs: ownLoop.max / 1e6, idleProbeMaxDelayMs: idle.maxMs };
}

/** Checks the connector's sample of replies: each must be an Adaptive Card (or text) containing `expected`. */
function checkReplies(connector: BenchConnector, expected: string, card: boolean): { checked: number; failures: number; first?: string } {
  let failures = 0;
  let first: string | undefined;
  for (const body of connector.samples) {
    try {
      const activity = JSON.parse(body) as { text?: string; attachments?: Array<{ contentType?: string; content?: unknown }> };
      const content = card ? activity.attachments?.[0] : activity;
      const ok = card ? content !== undefined && activity.attachments?.[0]?.contentType === CARD && JSON.stringify(activity.attachments?.[0]?.content).includes(expected) : String(activity.text).includes(expected);
      if (!ok) {
        failures++;
        first ??= body.slice(0, 300);
      }
    } catch {
      failures++;
      first ??= body.slice(0, 300);
    }
  }
  return { checked: connector.samples.length, failures, first };
}

function loadFigures(prefix: string, measured: Measured): Figures {
  const { load, loop } = measured;
  return {
    [`${prefix}Throughput`]: load.throughput,
    [`${prefix}P50Ms`]: load.p50Ms,
    [`${prefix}P99Ms`]: load.p99Ms,
    [`${prefix}MaxMs`]: load.maxMs,
    [`${prefix}Turns`]: load.turns,
    [`${prefix}Errors`]: load.errors,
    [`${prefix}MaxLoopBlockMs`]: loop.maxMs,
    [`${prefix}LoopP99Ms`]: loop.p99Ms,
    [`${prefix}GcShare`]: loop.gcTotalMs / load.durationMs,
    [`${prefix}GcMaxMs`]: loop.gcMaxMs,
    [`${prefix}CpuMsPerTurn`]: loop.cpuMs / Math.max(1, load.turns),
    ...(measured.databaseCpuMs !== undefined && { [`${prefix}DatabaseCpuMsPerTurn`]: measured.databaseCpuMs / Math.max(1, load.turns) }),
    [`${prefix}LoadGeneratorMaxLoopMs`]: measured.loadGeneratorMaxLoopMs,
    [`${prefix}ConnectorMaxLoopMs`]: measured.connectorMaxLoopMs,
    [`${prefix}IdleProbeMaxDelayMs`]: measured.idleProbeMaxDelayMs,
    ...(measured.foreign === undefined ? {} : { [`${prefix}ForeignCpuShare`]: measured.foreign }),
  };
}

const problems: string[] = [];
/** Remarks that hold for every run (said once). */
const notes = new Set<string>();
function note(problem: string): void {
  problems.push(problem);
  say(`  ! ${problem}`);
}

async function runOnce(run: number, pristine: string, tmp: string, data: Dataset, connector: BenchConnector, helpers: Helpers, profileDir: string | undefined): Promise<Figures> {
  const dataDir = join(tmp, `run-${run}`);
  let store: Record<string, string>;
  if (databases) store = { BENCH_DATABASE_URL: await databases.clone(run) };
  else {
    await cp(pristine, dataDir, { recursive: true });
    // The bot caches each partner file's summary on its first start: opening the store once makes the
    // measured start a restart, as every start after the first is (a first start reads every file).
    await (await JsonFileStore.open(dataDir)).flush();
    store = { BENCH_DATA_DIR: dataDir };
  }
  const serviceUrl = connector.url;
  const { users, keys } = data;
  const load = (url: string, durationMs: number, kind: TurnKind) =>
    helpers.loader.load({ url, concurrency: settings.concurrency, durationMs, checkEvery: 20, turn: { kind, users, keys, serviceUrl } });
  const figures: Figures = { partners: data.partners, customers: data.customers, subscriptions: data.subscriptions };

  // ---- the real bot
  // Other work on this 2-core machine (a test run, a browser) distorts every figure: wait for quiet, say so.
  const quiet = await waitForQuietMachine(settings.quietWaitMs);
  if (!quiet.quiet) note(`run ${run}: the machine did not become quiet within ${(settings.quietWaitMs / 1000).toFixed(0)} s; measuring anyway`);
  figures.quietWaitMs = quiet.waitedMs;
  figures.loadAverageAtStart = loadavg()[0]!;
  say(`run ${run}: starting the bot on the data set (load average ${figures.loadAverageAtStart.toFixed(2)})`);
  const bot = await BotChild.spawn({
    script: 'botProcess.ts',
    env: { ...store, BENCH_KEY_HASH_SECRET: KEY_HASH_SECRET, ...(profileDir ? { BENCH_PROFILE_DIR: join(profileDir, `run${run}-bot`) } : {}) },
    probeBody: messageActivity(users[0]!, serviceUrl, 'help'),
    nodeOptions: [...startScriptNodeOptions(), ...settings.botNodeOptions],
    timeoutMs: 120_000,
  });
  let reminderKind = 'stand-in';
  try {
    if (profileDir) await bot.profileStop('startup');
    // Everything since the child's start: module loading, createApp, the first sweep and the first turn.
    figures.startupMaxLoopBlockMs = (await bot.loop()).maxMs;
    say(`  startup ${bot.startupMs.toFixed(0)} ms (reminders: ${bot.reminders})`);
    // The bot's own start-up work (sweep, reminder catch-up) must be over before turns are measured.
    const settled = await bot.idle(settings.settleTimeoutMs);
    const afterStart = await bot.loop();
    Object.assign(figures, { startupSettleMs: settled.waitedMs, startupSettleCpuMs: settled.cpuMs, startupPeakRssMB: afterStart.maxRssMB, startupHeapUsedMB: afterStart.heapUsedMB, startupHeapTotalMB: afterStart.heapTotalMB });
    if (settled.timedOut) note(`the bot was still busy ${settled.waitedMs.toFixed(0)} ms after its first answer; the turns were measured with its background work running`);
    say(`  busy after the first answer for ${settled.waitedMs.toFixed(0)} ms (${settled.cpuMs.toFixed(0)} ms CPU)`);
    Object.assign(figures, { startupMs: bot.startupMs, bootImportsMs: bot.boot.importsMs, bootCreateMs: bot.boot.createMs, bootListenMs: bot.boot.listenMs, bootChildListeningMs: bot.boot.sinceProcessStartMs });

    await load(bot.url, settings.warmupMs, 'help');
    connector.clear();
    const read = await phase(bot, helpers, 'read', () => load(bot.url, settings.durationMs, 'help'));
    const readReplies = checkReplies(connector, WELCOME_TITLE, true);
    figures.readPeakRssMB = read.loop.maxRssMB;
    Object.assign(figures, loadFigures('read', read), { readRepliesPerTurn: connector.received / Math.max(1, read.load.turns), readCheckFailures: readReplies.failures });
    if (readReplies.failures > 0 || read.load.errors > 0) note(`read turn: ${read.load.errors} errors, ${readReplies.failures}/${readReplies.checked} sampled replies not a welcome card (${read.load.firstFailure ?? readReplies.first})`);
    say(`  read  ${read.load.throughput.toFixed(0)} turns/s, p99 ${read.load.p99Ms.toFixed(1)} ms, loop block ${read.loop.maxMs.toFixed(0)} ms`);

    await load(bot.url, settings.warmupMs, 'customers');
    const customers = await phase(bot, helpers, 'customers', () => load(bot.url, settings.durationMs, 'customers'));
    Object.assign(figures, loadFigures('customers', customers));
    say(`  customers ${customers.load.throughput.toFixed(0)} turns/s, p99 ${customers.load.p99Ms.toFixed(1)} ms, loop block ${customers.loop.maxMs.toFixed(0)} ms`);

    await load(bot.url, settings.warmupMs, 'redeem');
    const write = await phase(bot, helpers, 'write', () => load(bot.url, settings.durationMs, 'redeem'));
    figures.writePeakRssMB = write.loop.maxRssMB;
    Object.assign(figures, loadFigures('write', write), { writeChecked: write.load.checked, writeCheckFailures: write.load.checkFailures });
    if (write.load.checkFailures > 0 || write.load.errors > 0 || write.load.checked === 0) note(`write turn: ${write.load.errors} errors, ${write.load.checkFailures}/${write.load.checked} checked answers not a review card (${write.load.firstFailure})`);
    say(`  write ${write.load.throughput.toFixed(0)} turns/s, p99 ${write.load.p99Ms.toFixed(1)} ms, loop block ${write.loop.maxMs.toFixed(0)} ms`);

    // The next daily run: the bot's clock set one day ahead, so that day's reminders are due and queued
    // (the start-up catch-up run has already done today's). Then the same day again: nothing new.
    const tomorrow = new Date(Date.now() + 86_400_000);
    if (profileDir) await bot.profileStart();
    await helpers.probe.resetLoop();
    const scan = await bot.scan(tomorrow);
    const probeDuringScan = await helpers.probe.loop();
    if (profileDir) await bot.profileStop('reminders');
    const rescan = await bot.scan(tomorrow);
    reminderKind = scan.kind;
    Object.assign(figures, {
      reminderScanMs: scan.findMs,
      reminderRunMs: scan.ms,
      reminderDue: scan.due,
      reminderScanMaxLoopBlockMs: scan.loopMaxMs,
      reminderIdleProbeMaxDelayMs: probeDuringScan.maxMs,
      reminderRescanMs: rescan.findMs,
      reminderRescanDue: rescan.due,
      reminderRescanMaxLoopBlockMs: rescan.loopMaxMs,
      reminderStandIn: scan.kind === 'stand-in' ? 1 : 0,
    });
    say(`  reminder run (${scan.kind}) ${scan.ms.toFixed(0)} ms, ${scan.due} due, loop block ${scan.loopMaxMs.toFixed(0)} ms; again ${rescan.ms.toFixed(0)} ms, ${rescan.due} due`);
    if (scan.note && !notes.has(scan.note)) notes.add(scan.note);

    const final = await bot.loop();
    figures.peakRssMB = final.maxRssMB;
    figures.rssAtEndMB = final.rssMB;
    figures.heapUsedAtEndMB = final.heapUsedMB;
    figures.heapTotalAtEndMB = final.heapTotalMB;
    figures.externalAtEndMB = final.externalMB;
    figures.maxLoopBlockMs = Math.max(read.loop.maxMs, customers.loop.maxMs, write.loop.maxMs, scan.loopMaxMs);
    figures.idleProbeMaxDelayMs = Math.max(read.idleProbeMaxDelayMs, customers.idleProbeMaxDelayMs, write.idleProbeMaxDelayMs, probeDuringScan.maxMs);
  } finally {
    await bot.stop();
  }

  // ---- the baseline: a bare echo bot, measured the same way
  say(`run ${run}: starting the echo bot`);
  const echo = await BotChild.spawn({ script: 'echoProcess.ts', env: {}, probeBody: messageActivity(users[0]!, serviceUrl, 'help') });
  try {
    figures.echoStartupMs = echo.startupMs;
    await load(echo.url, settings.warmupMs, 'help');
    connector.clear();
    const read = await phase(echo, helpers, 'echo', () => load(echo.url, settings.durationMs, 'help'));
    const replies = checkReplies(connector, 'You said: help', false);
    if (replies.failures > 0 || read.load.errors > 0) note(`echo: ${read.load.errors} errors, ${replies.failures}/${replies.checked} sampled replies wrong (${replies.first})`);
    Object.assign(figures, loadFigures('echo', read));
    await load(echo.url, settings.warmupMs, 'echoInvoke');
    const invoke = await phase(echo, helpers, 'echoInvoke', () => load(echo.url, settings.durationMs, 'echoInvoke'));
    Object.assign(figures, loadFigures('echoInvoke', invoke));
    figures.echoPeakRssMB = (await echo.loop()).maxRssMB;
    say(`  echo  ${read.load.throughput.toFixed(0)} turns/s, p99 ${read.load.p99Ms.toFixed(1)} ms; invoke ${invoke.load.throughput.toFixed(0)} turns/s`);
  } finally {
    await echo.stop();
  }
  await rm(dataDir, { recursive: true, force: true });

  Object.assign(figures, ratios(figures));
  figures.reminderKind = reminderKind === 'real' ? 1 : 0;
  return figures;
}

async function printProfiles(profileDir: string): Promise<void> {
  for (const folder of (await readdir(profileDir)).sort()) {
    for (const file of (await readdir(join(profileDir, folder))).sort()) {
      const path = join(profileDir, folder, file);
      say(`\n== CPU profile ${path}\n${summarise(JSON.parse(await readFile(path, 'utf8')), 15)}`);
    }
  }
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** Writes the synthetic data set for `partners` partner tenants into `dir`. */
async function dataset(dir: string, connector: BenchConnector, partners: number): Promise<Dataset> {
  say(`generating ${partners} partners × ${settings.customersPerPartner} customers × ${settings.subscriptionsPerCustomer} subscriptions in ${dir}`);
  let data: Dataset;
  try {
    data = await generateDataset({
      dir,
      serviceUrl: connector.url,
      keyHashSecret: KEY_HASH_SECRET,
      partners,
      customersPerPartner: settings.customersPerPartner,
      subscriptionsPerCustomer: settings.subscriptionsPerCustomer,
      keys: 64,
      now: new Date(),
      reminderState: settings.reminderState,
    });
  } catch (error) {
    if (error instanceof DatasetSchemaError) say(`\nDATA SET REJECTED BY THE SCHEMA: ${error.message}`);
    throw error;
  }
  say(`  ${data.customers} customers, ${data.subscriptions} subscriptions, ${data.reminderRecords} reminder records, ${(data.bytes / 1024 / 1024).toFixed(0)} MB of JSON in ${data.generateMs.toFixed(0)} ms`);
  if (settings.store === 'postgres') {
    await databases?.drop();
    databases = new BenchDatabases(process.env.DATABASE_URL ?? (await databaseUrl()));
    say('  copying it into PostgreSQL (the import)');
    const { importMs } = await databases.load(dir, KEY_HASH_SECRET);
    data.importMs = importMs;
    databasePid = await databases.serverPid();
    say(`  imported in ${(importMs / 1000).toFixed(0)} s`);
  }
  return data;
}

/** The figures `--scale` reports per data-set size (bench-results/scale.json). */
const SCALE_FIGURES = ['customers', 'readThroughput', 'customersThroughput', 'writeThroughput', 'echoThroughput', 'echoInvokeThroughput', 'reminderScanMs', 'startupMs', 'peakRssMB'] as const;

/**
 * `--scale`: one run per size, each on a data set of its own with the echo bot measured in the same
 * run, and how the largest compares with the smallest (the growth targets).
 */
async function scale(tmp: string, connector: BenchConnector, helpers: Helpers, started: number): Promise<void> {
  const sizes: Figures[] = [];
  for (const partners of settings.scalePartners) {
    const pristine = join(tmp, `data-${partners}`);
    const data = await dataset(pristine, connector, partners);
    const figures = await runOnce(1, pristine, tmp, data, connector, helpers, undefined);
    await rm(pristine, { recursive: true, force: true });
    sizes.push(figures);
    say(`  ${partners} partners: ${SCALE_FIGURES.map((name) => `${name} ${figures[name]?.toFixed(name.endsWith('Ms') || name.endsWith('MB') ? 0 : 1)}`).join(', ')}`);
  }
  const [smallest, largest] = [sizes[0]!, sizes.at(-1)!];
  // Throughput relative to the echo bot of the same run, so that the machine's drift between sizes cancels out.
  const growth = Object.fromEntries(
    (['read', 'customers', 'write'] as const).map((kind) => {
      const echo = kind === 'write' ? 'echoInvokeThroughput' : 'echoThroughput';
      const relative = (f: Figures) => f[`${kind}Throughput`]! / f[echo]!;
      return [`${kind}ThroughputLargestVsSmallest`, relative(largest) / relative(smallest)];
    }),
  );
  say(`\nPartner Setup Bot growth — ${settings.durationMs / 1000} s per phase`);
  say(`${'figure'.padEnd(24)}${sizes.map((f) => `${f.customers} customers`.padStart(20)).join('')}`);
  for (const name of SCALE_FIGURES.slice(1)) say(`${name.padEnd(24)}${sizes.map((f) => (f[name] ?? Number.NaN).toFixed(name.endsWith('Throughput') ? 0 : 1).padStart(20)).join('')}`);
  say(`\nthroughput at the largest size ÷ at the smallest (each relative to the echo bot of its run; target ≥ 0.85):`);
  for (const [name, value] of Object.entries(growth)) say(`  ${value >= 0.85 ? 'PASS' : 'FAIL'}  ${name} ${value.toFixed(2)}`);
  if (problems.length > 0) say(`\nproblems:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  const out = join(resultsDir, 'scale.json');
  await mkdir(resultsDir, { recursive: true });
  const result = {
    store: settings.store,
    sizes: sizes.map((f) => Object.fromEntries(SCALE_FIGURES.map((name) => [name, f[name]]))),
    growth,
    runs: sizes,
    problems,
    settings,
    machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, platform: process.platform },
    commit: gitCommit(),
    finishedAt: new Date().toISOString(),
    benchSeconds: (performance.now() - started) / 1000,
  };
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  say(`\nwrote ${out} (${result.benchSeconds.toFixed(0)} s)`);
}

async function main(): Promise<void> {
  const started = performance.now();
  say(`compiling to dist/ (the bots run compiled, as npm start runs them; the bot with npm start's node options: ${startScriptNodeOptions().join(' ') || 'none'})`);
  BotChild.build();
  tempRoot = await mkdtemp(join(tmpdir(), 'psb-bench-'));
  const connector = await new BenchConnector().start();
  const helpers: Helpers = {
    loader: await BotChild.spawn({ script: 'loadProcess.ts', env: {} }),
    probe: await BotChild.spawn({ script: 'probeProcess.ts', env: {} }),
  };
  const profileDir = settings.profile ? join(resultsDir, 'profiles') : undefined;
  try {
    if (profileDir) {
      await rm(profileDir, { recursive: true, force: true });
      for (let run = 1; run <= settings.runs; run++) await mkdir(join(profileDir, `run${run}-bot`), { recursive: true });
    }
    if (settings.scale) {
      await scale(tempRoot, connector, helpers, started);
      return;
    }
    const pristine = join(tempRoot, 'data');
    const data = await dataset(pristine, connector, settings.partners);

    const runs: Figures[] = [];
    for (let run = 1; run <= settings.runs; run++) {
      runs.push(await runOnce(run, pristine, tempRoot, data, connector, helpers, profileDir));
    }
    const summary = medians(runs);
    const reminderKind = summary.reminderKind === 1 ? 'real app.reminders.scan' : 'STAND-IN: app.reminders.scan not found';
    const list = judge(summary, targetsFor(settings.store));
    say(`\nPartner Setup Bot benchmark (${settings.store} store) — ${settings.runs} run(s), ${settings.concurrency} conversations, ${settings.durationMs / 1000} s per phase${settings.profile ? ' — PROFILED (figures slowed by the profiler)' : ''}`);
    say(table(runs, summary, reminderKind));
    say(`\ntargets (${settings.runs > 1 ? 'medians' : 'single run'}):\n${verdicts(list)}`);
    if (notes.size > 0) say(`\nnotes:\n${[...notes].map((n) => `  ${n}`).join('\n')}`);
    if (problems.length > 0) say(`\nproblems:\n${problems.map((p) => `  ${p}`).join('\n')}`);

    await mkdir(resultsDir, { recursive: true });
    const result = {
      store: settings.store,
      ...summary,
      reminderScanKind: summary.reminderKind === 1 ? 'real' : 'stand-in',
      targets: Object.fromEntries(list.map((v) => [v.name, { value: v.value, op: v.op, limit: v.limit, pass: v.pass, ...(v.echoValues && { echo: v.echoValues }) }])),
      allTargetsMet: list.every((v) => v.pass),
      runs,
      problems,
      notes: [...notes],
      settings: { ...settings, targets: targetsFor(settings.store) },
      dataset: { partners: data.partners, customers: data.customers, subscriptions: data.subscriptions, reminderRecords: data.reminderRecords, reminderState: settings.reminderState, jsonMB: data.bytes / 1024 / 1024, generateMs: data.generateMs, importMs: data.importMs },
      machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, platform: process.platform },
      commit: gitCommit(),
      finishedAt: new Date().toISOString(),
      benchSeconds: (performance.now() - started) / 1000,
    };
    await writeFile(args.out!, `${JSON.stringify(result, null, 2)}\n`);
    say(`\nwrote ${args.out} (${result.benchSeconds.toFixed(0)} s)`);
    if (profileDir) await printProfiles(profileDir);
  } finally {
    await connector.stop();
    for (const child of liveChildren) child.kill('SIGKILL');
    await databases?.drop();
    await stopPostgres();
    await rm(tempRoot, { recursive: true, force: true });
    tempRoot = undefined;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`benchmark failed: ${String((error as Error)?.stack ?? error)}\n`);
  killEverything();
  process.exitCode = 1;
});
