/**
 * Where the time goes in a .cpuprofile written by a `--profile` run:
 *   npx tsx scripts/bench/profileSummary.ts bench-results/profiles/bot-write.cpuprofile [--top 25]
 * Prints self time by function and by package/source file, and inclusive time of the project's own
 * functions (src/), so a hot path reads as "DocumentFile.update → safeParse → …".
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function where(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1]!;
  const own = url.match(/\/((?:src|scripts)\/.*)$/);
  if (own) return own[1]!;
  if (url.startsWith('node:')) return url;
  return url || `(${frame.functionName || 'native'})`;
}

function label(frame: CallFrame): string {
  // The inspector session that records the profile: its own overhead, not the bot's.
  if (frame.functionName === 'dispatch' && !frame.url) return '(inspector dispatch: profiler overhead)';
  return `${frame.functionName || '(anonymous)'} ${where(frame)}:${frame.lineNumber + 1}`;
}

export function summarise(profile: Profile, top = 25): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const byPlace = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const dt = (profile.timeDeltas[index] ?? 0) / 1000;
    const node = byId.get(id);
    if (!node) return;
    total += dt;
    const frame = node.callFrame;
    self.set(label(frame), (self.get(label(frame)) ?? 0) + dt);
    byPlace.set(where(frame), (byPlace.get(where(frame)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (!/\/src\//.test(f.url) || f.url.includes('node_modules')) continue;
      const key = label(f);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
    }
  });
  const idle = self.get('(idle) (idle):0') ?? 0;
  const rows = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => `  ${ms.toFixed(0).padStart(7)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${name}`)
      .join('\n');
  return [
    `profiled ${total.toFixed(0)} ms (idle ${idle.toFixed(0)} ms)`,
    'self time by package / file:',
    rows(byPlace),
    'self time by function:',
    rows(self),
    'inclusive time of the bot\'s own functions (src/):',
    rows(inclusive),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = process.argv.slice(2).filter((arg, i, all) => !arg.startsWith('--') && all[i - 1] !== '--top');
  const topIndex = process.argv.indexOf('--top');
  const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 25;
  for (const file of files) {
    process.stdout.write(`== ${file}\n${summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, top)}\n\n`);
  }
}
