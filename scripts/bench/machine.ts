/**
 * How busy the machine is with work that is not the benchmark's: on a 2-core machine another
 * process (a test run, a browser) distorts every figure, so each phase reports the share of CPU
 * that others used, and a run waits for a quiet machine before it starts. Linux only (/proc/stat);
 * elsewhere the figures are left out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

const TICK_MS = 10; // USER_HZ is 100 on Linux

interface Snapshot {
  busyMs: number;
  at: number;
  ownCpuMs: number;
}

function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [, ...fields] = line.trim().split(/\s+/);
    const [user, nice, system, , iowait, irq, softirq, steal] = fields.map(Number) as number[];
    void iowait;
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * TICK_MS;
  } catch {
    return undefined;
  }
}

function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

export function snapshot(): Snapshot | undefined {
  const busyMs = machineBusyMs();
  return busyMs === undefined ? undefined : { busyMs, at: performance.now(), ownCpuMs: ownCpuMs() };
}

/**
 * The share of the machine's CPU capacity that processes other than this one and `childCpuMs`
 * (a bot child's CPU time over the same interval) used since `before`.
 */
export function foreignShare(before: Snapshot | undefined, childCpuMs: number): number | undefined {
  const after = snapshot();
  if (!before || !after) return undefined;
  const elapsed = after.at - before.at;
  const foreign = after.busyMs - before.busyMs - (after.ownCpuMs - before.ownCpuMs) - childCpuMs;
  return Math.max(0, foreign) / (elapsed * cpus().length);
}

/** Waits until others use less than `share` of the machine for 2 s in a row, at most `maxWaitMs`. */
export async function waitForQuietMachine(maxWaitMs: number, share = 0.15): Promise<{ waitedMs: number; quiet: boolean }> {
  const started = performance.now();
  let quietSeconds = 0;
  while (performance.now() - started < maxWaitMs) {
    const before = snapshot();
    if (!before) return { waitedMs: 0, quiet: true };
    await new Promise((resolve) => setTimeout(resolve, 1000));
    quietSeconds = (foreignShare(before, 0) ?? 0) < share ? quietSeconds + 1 : 0;
    if (quietSeconds >= 2) return { waitedMs: performance.now() - started - 2000, quiet: true };
  }
  return { waitedMs: performance.now() - started, quiet: false };
}

/** The fields of /proc/<pid>/stat after the command's name (state is [0], ppid [1], utime [11], stime [12], cutime [13], cstime [14]). */
function statOf(pid: number | string): number[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
  } catch {
    return undefined;
  }
}

/** The parent of a process on this machine, if it is on this machine (Linux only). */
export function parentPid(pid: number): number | undefined {
  return statOf(pid)?.[1];
}

/**
 * CPU time of a server process and its children (a PostgreSQL postmaster and its backends), those
 * that exited included (the parent's cutime), in ms; undefined where /proc cannot tell.
 */
export function serverCpuMs(pid: number): number | undefined {
  const root = statOf(pid);
  if (!root) return undefined;
  let ticks = root[11]! + root[12]! + root[13]! + root[14]!;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statOf(entry);
    if (stat?.[1] === pid) ticks += stat[11]! + stat[12]!;
  }
  return ticks * TICK_MS;
}
