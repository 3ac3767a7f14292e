/**
 * `npm run dev`: the bot in local mode plus the Microsoft 365 Agents Playground (a local Teams
 * emulator), so the bot can be tried in a browser without any Azure registration.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const port = process.env.PORT ?? '3978';
const playgroundPort = process.env.PLAYGROUND_PORT ?? '56150';
const children: ChildProcess[] = [];

function stopAll(code: number): never {
  for (const child of children) child.kill('SIGTERM');
  process.exit(code);
}

const bot = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], { env: { ...process.env, PORT: port }, stdio: ['ignore', 'pipe', 'inherit'] });
children.push(bot);
bot.on('exit', (code) => stopAll(code ?? 1));

let started = false;
bot.stdout!.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  if (started || !chunk.toString().includes('listening on')) return;
  started = true;
  const cli = join(dirname(createRequire(import.meta.url).resolve('@microsoft/m365agentsplayground/package.json')), 'cli.js');
  const playground = spawn(process.execPath, [cli, '-e', `http://localhost:${port}/api/messages`, '-c', 'msteams', '-p', playgroundPort], { stdio: 'inherit' });
  children.push(playground);
  playground.on('exit', (code) => stopAll(code ?? 0));
  process.stdout.write(`\nAgents Playground: http://localhost:${playgroundPort} (type "redeem" in the chat)\n\n`);
});

process.once('SIGINT', () => stopAll(0));
process.once('SIGTERM', () => stopAll(0));
