/** The real entry point as `npm start` runs it: configuration, demo keys, refusing bad files, authentication. */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startBot, TEST_SECRET } from './support/botHarness.js';
import { FakeConnector } from './support/connector.js';
import { TeamsUser } from './support/teams.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts src/index.ts; stops it once `until` matches its output (or it exits by itself). */
function runBot(env: Record<string, string>, until?: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const run: Run = { code: null, stdout: '', stderr: '' };
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const check = () => until && until.test(run.stdout) && child.kill('SIGTERM');
    child.stdout.on('data', (chunk) => ((run.stdout += chunk), check()));
    child.stderr.on('data', (chunk) => (run.stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ ...run, code });
    });
  });
}

describe('starting the bot', function () {
  this.timeout(40_000);
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'psb-start-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('mints and prints demo keys on a first local start only', async () => {
    const env = { DATA_DIR: dir, PORT: String(await freePort()) };
    const first = await runBot(env, /Mint more with/);
    const keys = first.stdout.match(/^ {2}([A-Z0-9]{5}-){4}[A-Z0-9]{5}$/gm) ?? [];
    expect(keys, first.stderr).to.have.length(3);
    expect(first.stdout).to.include('"localMode":true');
    const second = await runBot(env, /listening on/);
    expect(second.stdout).not.to.include('Demo product keys');
    const secret = await readFile(join(dir, 'key-hash-secret'), 'utf8');
    expect(secret.trim()).to.match(/^[0-9a-f]{64}$/);
    for (const key of keys) expect(second.stdout + first.stdout.replace(key, '')).not.to.include(key.trim());
  });

  it('mints no demo keys when bot credentials are set', async () => {
    const run = await runBot(
      { DATA_DIR: dir, PORT: String(await freePort()), HOST: '127.0.0.1', MicrosoftAppId: '00000000-0000-4000-8000-000000000001', MicrosoftAppPassword: 'p', MicrosoftAppTenantId: '00000000-0000-4000-8000-000000000002' },
      /listening on/,
    );
    expect(run.stdout).to.include('"localMode":false');
    expect(run.stdout).not.to.include('Demo product keys');
  });

  it('stops with a message naming a wrong variable', async () => {
    const run = await runBot({ DATA_DIR: dir, PORT: 'eighty', RESERVATION_DAYS: '0' });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include('PORT:');
    expect(run.stderr).to.include('RESERVATION_DAYS:');
  });

  const damaged: Array<[string, Buffer]> = [
    ['truncated', Buffer.from('{"schemaVersion":1,"tenantId":"tenant-a","setu')],
    ['garbage', Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x22, 0x0a, 0xc3, 0x28, 0x89, 0x50, 0x4e, 0x47])],
  ];
  for (const [what, content] of damaged) {
    it(`refuses to start on a ${what} partner file, naming it, and leaves it byte for byte as it was`, async () => {
      await mkdir(join(dir, 'partners'), { recursive: true });
      const path = join(dir, 'partners', 'tenant-a.json');
      await writeFile(path, content);
      const run = await runBot({ DATA_DIR: dir, PORT: String(await freePort()) });
      expect(run.code).to.equal(1);
      expect(run.stderr).to.include(`Cannot read the database file ${path}`);
      expect(run.stderr).to.include('restore it from a backup or move it away');
      expect(await readFile(path)).to.deep.equal(content);
    });
  }

  it('names the backup of a damaged file, and starts again once the backup is copied over it', async () => {
    const bot = await startBot({}, { dataDir: dir });
    const connector = await new FakeConnector().start();
    // Two writes of the partner file: the member is remembered, then again under a new name.
    for (const name of ['Anna', 'Anna Berg']) await new TeamsUser({ botUrl: bot.url, connector, tenantId: 'tenant-a', userId: 'anna', name }).say('help');
    await bot.app.stop();
    await connector.stop();
    const path = join(dir, 'partners', 'tenant-a.json');
    const backup = `${path}.bak`;
    await writeFile(path, '{"schemaVersion":1,"tenantId":"tena');

    const refused = await runBot({ DATA_DIR: dir, PORT: String(await freePort()) });
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.include(`${backup} holds its previous version: stop the bot, copy tenant-a.json.bak over tenant-a.json and start again`);
    await copyFile(backup, path);
    // The secret the first bot hashed keys with (another one is refused: see below).
    const restored = await runBot({ DATA_DIR: dir, PORT: String(await freePort()), KEY_HASH_SECRET: TEST_SECRET }, /listening on/);
    expect(restored.stderr).not.to.include('Cannot read');
    expect(restored.stdout).to.include('listening on');
  });

  it('refuses to start with another key-hash secret than the key catalogue was made with, saying so', async () => {
    const bot = await startBot({}, { dataDir: dir });
    await bot.app.stop();
    const refused = await runBot({ DATA_DIR: dir, PORT: String(await freePort()), KEY_HASH_SECRET: 'another-secret-another-secret-another-1' });
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/^The key-hash secret differs from the one the key catalogue was made with, so no stored key would be recognised\. Set KEY_HASH_SECRET to that secret on every instance/m);
    expect(refused.stderr).not.to.match(/ at /);
    expect(refused.stdout).not.to.include('listening on');
    const started = await runBot({ DATA_DIR: dir, PORT: String(await freePort()), KEY_HASH_SECRET: TEST_SECRET }, /listening on/);
    expect(started.stdout).to.include('listening on');
  });
});

describe('authentication', () => {
  it('answers 401 to a request without a Bot Framework token when credentials are set, and runs nothing', async () => {
    const bot = await startBot({
      HOST: '127.0.0.1',
      MicrosoftAppId: '00000000-0000-4000-8000-000000000001',
      MicrosoftAppPassword: 'secret',
      MicrosoftAppTenantId: '00000000-0000-4000-8000-000000000002',
    });
    try {
      const response = await fetch(`${bot.url}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'message', text: 'help', channelId: 'msteams', serviceUrl: 'http://127.0.0.1:9/', from: { id: 'u' }, conversation: { id: 'c', tenantId: 't' }, channelData: { tenant: { id: 't' } } }),
      });
      expect(response.status).to.equal(401);
      expect(await bot.app.setups.openSetups('t')).to.have.length(0);
    } finally {
      await bot.stop();
    }
  });

  it('listens on loopback only in local mode', async () => {
    const bot = await startBot();
    try {
      expect(new URL(bot.url).hostname).to.equal('127.0.0.1');
      expect((bot.app.server.address() as { address: string }).address).to.equal('127.0.0.1');
    } finally {
      await bot.stop();
    }
  });
});
