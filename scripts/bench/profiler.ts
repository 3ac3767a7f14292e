/**
 * CPU profiles of a bot child, per phase, through the inspector (diagnostic runs only: profiling
 * slows the bot down). Enabled by BENCH_PROFILE_DIR; the start-up profile begins before the bot's
 * modules are loaded.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR;
let session: Session | undefined;

export async function profileStart(): Promise<void> {
  if (!dir) return;
  if (!session) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 250 });
  }
  await session.post('Profiler.start');
}

export async function profileStop(name: string): Promise<string | undefined> {
  if (!dir || !session) return undefined;
  const { profile } = await session.post('Profiler.stop');
  const path = join(dir, `${name}.cpuprofile`);
  await writeFile(path, JSON.stringify(profile));
  return path;
}
