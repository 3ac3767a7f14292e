/** Targets, medians over runs, the printed table and bench-results/latest.json. */

export type Figures = Record<string, number>;

export interface Target {
  name: string;
  op: '>=' | '<=';
  limit: number;
  unit: string;
  /**
   * The echo bot's figures of the same kind, from the same run: an absolute limit also depends on
   * the machine, and these say what the bare SDK reaches on it under the same load.
   */
  echo?: Record<string, string>;
  /**
   * What the machine itself added meanwhile (figures of the same phases): an idle process's longest
   * wait for a CPU, and the load generator's own longest loop delay, which every latency includes.
   */
  machine?: Record<string, string>;
}

/**
 * The issue's targets; they are judged on the medians of the runs. Every time is a ratio to the echo
 * bot's figure for the same activity type in the same run (message turns against its message turns,
 * invoke turns against its invoke turns): on a shared machine absolute times vary from run to run,
 * side-by-side ratios much less.
 */
export const TARGETS: Target[] = [
  { name: 'readRatio', op: '>=', limit: 0.6, unit: '', echo: { echoThroughput: 'message turns/s' } },
  { name: 'customersRatio', op: '>=', limit: 0.5, unit: '', echo: { echoThroughput: 'message turns/s' } },
  { name: 'writeRatioVsEchoInvoke', op: '>=', limit: 0.5, unit: '', echo: { echoInvokeThroughput: 'invoke turns/s' } },
  { name: 'readP99Ratio', op: '<=', limit: 1.5, unit: '', echo: { echoP99Ms: 'message p99 ms' } },
  { name: 'customersP99Ratio', op: '<=', limit: 2, unit: '', echo: { echoP99Ms: 'message p99 ms' } },
  {
    name: 'writeP99Ratio',
    op: '<=',
    limit: 2,
    unit: '',
    echo: { echoInvokeP99Ms: 'invoke p99 ms' },
    machine: { writeIdleProbeMaxDelayMs: 'idle process ms', writeLoadGeneratorMaxLoopMs: 'load generator ms' },
  },
  {
    name: 'loopBlockRatio',
    op: '<=',
    limit: 1.5,
    unit: '',
    echo: { echoLoopBlockMs: 'longest block ms', maxLoopBlockMs: 'bot longest block ms' },
    machine: { idleProbeMaxDelayMs: 'idle process ms' },
  },
  { name: 'reminderScanMs', op: '<=', limit: 200, unit: 'ms' },
  { name: 'startupMs', op: '<=', limit: 3000, unit: 'ms' },
  { name: 'peakRssMB', op: '<=', limit: 400, unit: 'MB' },
];

/**
 * The ratios the targets judge, from one run's figures: throughput as bot ÷ echo, times as
 * bot ÷ echo, each against the echo bot's turns of the same activity type.
 */
export function ratios(f: Figures): Figures {
  const echoLoopBlockMs = Math.max(f.echoMaxLoopBlockMs!, f.echoInvokeMaxLoopBlockMs!);
  return {
    readRatio: f.readThroughput! / f.echoThroughput!,
    // Kept as before (an invoke turn against message turns); writeRatioVsEchoInvoke is the fair one.
    writeRatio: f.writeThroughput! / f.echoThroughput!,
    writeRatioVsEchoInvoke: f.writeThroughput! / f.echoInvokeThroughput!,
    customersRatio: f.customersThroughput! / f.echoThroughput!,
    readP99Ratio: f.readP99Ms! / f.echoP99Ms!,
    customersP99Ratio: f.customersP99Ms! / f.echoP99Ms!,
    writeP99Ratio: f.writeP99Ms! / f.echoInvokeP99Ms!,
    echoLoopBlockMs,
    loopBlockRatio: f.maxLoopBlockMs! / echoLoopBlockMs,
  };
}

export function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The median of every numeric figure over the runs (a figure missing in a run is skipped there). */
export function medians(runs: Figures[]): Figures {
  const names = new Set(runs.flatMap((run) => Object.keys(run)));
  const result: Figures = {};
  for (const name of names) {
    const values = runs.map((run) => run[name]).filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
    if (values.length > 0) result[name] = median(values);
  }
  return result;
}

export interface Verdict extends Target {
  value: number;
  pass: boolean;
  /** The echo bot's figures named in the target, by their labels. */
  echoValues?: Record<string, number>;
  /** The machine's figures named in the target, by their labels. */
  machineValues?: Record<string, number>;
}

/**
 * The targets on PostgreSQL (issue 21): every turn there is a few round trips to another process, so
 * the throughput and p99 limits are those of the issue for the database; the rest are the same.
 */
const POSTGRES_LIMITS: Record<string, number> = { readRatio: 0.5, customersRatio: 0.4, writeRatioVsEchoInvoke: 0.35, readP99Ratio: 2, customersP99Ratio: 2.5, writeP99Ratio: 2.5 };

export function targetsFor(store: 'file' | 'postgres'): Target[] {
  return store === 'file' ? TARGETS : TARGETS.map((target) => ({ ...target, limit: POSTGRES_LIMITS[target.name] ?? target.limit }));
}

export function judge(figures: Figures, targets: Target[] = TARGETS): Verdict[] {
  return targets.map((target) => {
    const value = figures[target.name] ?? Number.NaN;
    const pass = target.op === '>=' ? value >= target.limit : value <= target.limit;
    const labelled = (names?: Record<string, string>) => names && Object.fromEntries(Object.entries(names).map(([name, label]) => [label, figures[name] ?? Number.NaN]));
    const echoValues = labelled(target.echo);
    const machineValues = labelled(target.machine);
    return { ...target, value, pass, ...(echoValues && { echoValues }), ...(machineValues && { machineValues }) };
  });
}

function fmt(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Rows of the table: a section title, or [label, figure name], and 'measured' for a row left out where its figure is not (the database's on the files). */
const ROWS: Array<string | [string, string] | [string, string, 'measured']> = [
  'data set',
  ['partners / customers / subscriptions', 'partners'],
  'start-up (bot child: spawn to first 200 on /api/messages)',
  ['startupMs', 'startupMs'],
  ['  child: module loading ms', 'bootImportsMs'],
  ['  child: createApp ms', 'bootCreateMs'],
  ['  child: listen ms', 'bootListenMs'],
  ['  longest loop block until first answer ms', 'startupMaxLoopBlockMs'],
  ['  busy after first answer ms (start-up runs)', 'startupSettleMs'],
  ['  echo bot startupMs', 'echoStartupMs'],
  'read turn: message "help" (welcome card to the connector)',
  ['bot turns/s', 'readThroughput'],
  ['  bot CPU ms per turn', 'readCpuMsPerTurn'],
  ['  database server CPU ms per turn', 'readDatabaseCpuMsPerTurn', 'measured'],
  ['bot p50 / p99 ms', 'readP50Ms'],
  ['echo turns/s', 'echoThroughput'],
  ['  echo CPU ms per turn', 'echoCpuMsPerTurn'],
  ['echo p50 / p99 ms', 'echoP50Ms'],
  ['  echo longest loop block ms', 'echoMaxLoopBlockMs'],
  ['  idle process meanwhile: longest delay ms', 'echoIdleProbeMaxDelayMs'],
  ['readRatio (vs echo message turns/s)', 'readRatio'],
  ['readP99Ratio (vs echo message p99)', 'readP99Ratio'],
  ['longest loop block ms', 'readMaxLoopBlockMs'],
  ['  idle process meanwhile: longest delay ms', 'readIdleProbeMaxDelayMs'],
  ['  load generator: longest loop delay ms', 'readLoadGeneratorMaxLoopMs'],
  ['  connector: longest loop delay ms', 'readConnectorMaxLoopMs'],
  ['  share of time in GC / longest GC pause ms', 'readGcShare'],
  'extra read turn: message "customers" (50 customers, sorted, paged)',
  ['bot turns/s', 'customersThroughput'],
  ['  bot CPU ms per turn', 'customersCpuMsPerTurn'],
  ['  database server CPU ms per turn', 'customersDatabaseCpuMsPerTurn', 'measured'],
  ['bot p50 / p99 ms', 'customersP50Ms'],
  ['customersRatio (vs echo message turns/s)', 'customersRatio'],
  ['customersP99Ratio (vs echo message p99)', 'customersP99Ratio'],
  ['longest loop block ms', 'customersMaxLoopBlockMs'],
  'write turn: invoke redeem.next with one valid key (new setup in the partner file)',
  ['bot turns/s', 'writeThroughput'],
  ['  bot CPU ms per turn', 'writeCpuMsPerTurn'],
  ['  database server CPU ms per turn', 'writeDatabaseCpuMsPerTurn', 'measured'],
  ['bot p50 / p99 ms', 'writeP50Ms'],
  ['echo invoke turns/s', 'echoInvokeThroughput'],
  ['echo invoke p50 / p99 ms', 'echoInvokeP50Ms'],
  ['  echo invoke longest loop block ms', 'echoInvokeMaxLoopBlockMs'],
  ['writeRatioVsEchoInvoke (vs echo invoke turns/s)', 'writeRatioVsEchoInvoke'],
  ['writeP99Ratio (vs echo invoke p99)', 'writeP99Ratio'],
  ['  writeRatio (old: vs echo message turns/s)', 'writeRatio'],
  ['longest loop block ms', 'writeMaxLoopBlockMs'],
  ['  idle process meanwhile: longest delay ms', 'writeIdleProbeMaxDelayMs'],
  ['  load generator: longest loop delay ms', 'writeLoadGeneratorMaxLoopMs'],
  ['  share of time in GC / longest GC pause ms', 'writeGcShare'],
  'reminder run over all subscriptions (the next day\'s run: bot clock +1 day)',
  ['reminderScanMs (finding what is due)', 'reminderScanMs'],
  ['  whole run incl. recording ms', 'reminderRunMs'],
  ['  due (queued)', 'reminderDue'],
  ['  longest loop block ms', 'reminderScanMaxLoopBlockMs'],
  ['  idle process meanwhile: longest delay ms', 'reminderIdleProbeMaxDelayMs'],
  ['  same day again (nothing new) ms', 'reminderRescanMs'],
  ['  same day again: longest loop block ms', 'reminderRescanMaxLoopBlockMs'],
  'process',
  ['maxLoopBlockMs (all turns, reminder run)', 'maxLoopBlockMs'],
  ['echo longest loop block ms (message, invoke)', 'echoLoopBlockMs'],
  ['loopBlockRatio (vs echo)', 'loopBlockRatio'],
  ['peakRssMB (bot)', 'peakRssMB'],
  ['  peak RSS after start-up MB', 'startupPeakRssMB'],
  ['  heap used after start-up MB', 'startupHeapUsedMB'],
  ['  peak RSS after the write turns MB', 'writePeakRssMB'],
  ['echo peakRssMB', 'echoPeakRssMB'],
];

function cell(figures: Figures, name: string): string {
  if (name === 'partners') return `${figures.partners}/${(figures.customers ?? 0) / 1000}k/${(figures.subscriptions ?? 0) / 1000}k`;
  if (name.endsWith('GcShare')) return `${fmt(figures[name])} / ${fmt(figures[name.replace('GcShare', 'GcMaxMs')])}`;
  if (name.endsWith('P50Ms')) return `${fmt(figures[name])} / ${fmt(figures[name.replace('P50Ms', 'P99Ms')])}`;
  return fmt(figures[name]);
}

export function table(runs: Figures[], summary: Figures, reminderKind: string): string {
  const headers = runs.length > 1 ? [...runs.map((_, i) => `run ${i + 1}`), 'median'] : ['value'];
  const width = 50;
  const lines: string[] = [];
  lines.push(`${''.padEnd(width)}${headers.map((h) => h.padStart(16)).join('')}`);
  for (const row of ROWS) {
    if (typeof row === 'string') {
      lines.push(`-- ${row}${row.startsWith('reminder') ? ` [${reminderKind}]` : ''}`);
      continue;
    }
    const [text, name, only] = row;
    if (only && summary[name] === undefined) continue;
    const cells = runs.length > 1 ? [...runs.map((run) => cell(run, name)), cell(summary, name)] : [cell(summary, name)];
    lines.push(`${text.padEnd(width)}${cells.map((c) => c.padStart(16)).join('')}`);
  }
  return lines.join('\n');
}

export function verdicts(list: Verdict[]): string {
  return list
    .map((v) => {
      const listed = (values: Record<string, number>) => Object.entries(values).map(([label, value]) => `${label} ${fmt(value)}${v.unit ? ` ${v.unit}` : ''}`).join(', ');
      const echo = v.echoValues && ` (echo bot, same runs: ${listed(v.echoValues)})`;
      const machine = v.machineValues && `\n${''.padEnd(46)}machine meanwhile, longest delay: ${listed(v.machineValues)}`;
      return `  ${v.pass ? 'PASS' : 'FAIL'}  ${v.name.padEnd(22)} ${fmt(v.value).padStart(9)} ${v.unit.padEnd(3)} target ${v.op} ${v.limit}${v.unit ? ` ${v.unit}` : ''}${echo ?? ''}${machine ?? ''}`;
    })
    .join('\n');
}
