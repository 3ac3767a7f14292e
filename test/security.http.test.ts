/**
 * What the security review found, each against the real bot over HTTP: uploads before the token
 * check, two processes on one data folder, text from the request in the log, internal error text in
 * answers, file modes, a read-only data folder, odd files in place of a partner file, and where
 * replies may go (SERVICE_URL_ALLOW).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../src/config.js';
import { serviceUrlMatcher, TEAMS_SERVICE_URLS } from '../src/domain/serviceUrl.js';
import { FakeClock, startBot } from './support/botHarness.js';
import { BotProcess } from './support/botProcess.js';
import { FakeConnector } from './support/connector.js';
import { snapshotFiles, changedFiles } from './support/dataFiles.js';
import { createCustomer } from './support/journeys.js';
import { onlyOn, sameStoreAs } from './support/stored.js';
import { TeamsUser } from './support/teams.js';

const PARTNER = 'c1c2c3d4-0000-4000-8000-000000000001';
const CREDENTIALS = {
  HOST: '127.0.0.1',
  MicrosoftAppId: '00000000-0000-4000-8000-000000000001',
  MicrosoftAppPassword: 'secret',
  MicrosoftAppTenantId: '00000000-0000-4000-8000-000000000002',
};
/** Shaped like a product key, so that a leak of it is easy to find. */
const KEY = 'QWERT-ZUIOP-ASDFG-HJKLY-XCVBN';

/** Why the cases of the data folder's lock run on the files only. */
const INSTANCE_LOCK = "the data folder's instance lock; instances on PostgreSQL share one database by design (test/postgres/twoInstances.test.ts)";

/** The RSS of a process in bytes, from /proc. */
function rssOf(pid: number): number {
  const kb = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1]);
  return kb * 1024;
}

/** POSTs a body of `size` bytes (sent in chunks, without waiting for it to be read) and returns the status. */
function postLarge(url: string, headers: Record<string, string>, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/messages`, { method: 'POST', headers });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // The bot answers and closes before the whole body is sent: that is the point.
    req.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' || (error as NodeJS.ErrnoException).code === 'EPIPE' ? undefined : reject(error)));
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

function multipart(boundary: string, size: number, asFile: boolean): { head: string; tail: string; length: number } {
  const disposition = asFile ? 'form-data; name="f"; filename="big.bin"\r\nContent-Type: application/octet-stream' : 'form-data; name="f"';
  const head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  return { head, tail, length: head.length + size + tail.length };
}

describe('security: what the review found, over HTTP', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'psb-sec-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  describe('request bodies (credentials mode, before the token is checked)', () => {
    let bot: BotProcess;
    let url: string;
    let uploads: string;
    beforeEach(async () => {
      uploads = join(dir, 'tmp');
      await mkdir(uploads);
      bot = new BotProcess({ ...CREDENTIALS, DATA_DIR: join(dir, 'data'), TMPDIR: uploads });
      url = await bot.url();
    });
    afterEach(() => bot.kill());

    it('refuses multipart uploads with 415: no file in the temp folder, no memory taken', async () => {
      const before = rssOf(bot.child.pid!);
      const boundary = 'xxBOUNDARYxx';
      const file = multipart(boundary, 10 * 1024 * 1024, true);
      const field = multipart(boundary, 19 * 1024 * 1024, false);
      const headers = (part: { length: number }) => ({ 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(part.length) });
      // The body is sent as bytes of 'a' with the part's head and tail length: the parser would take it as a part.
      const statuses = await Promise.all([
        postLarge(url, headers(file), file.length),
        ...Array.from({ length: 16 }, () => postLarge(url, headers(field), field.length)),
      ]);
      expect(new Set(statuses)).to.deep.equal(new Set([415]));
      // restify's parser wrote each file part there as upload_<hex> (tsx keeps its own cache folder there).
      expect((await readdir(uploads)).filter((name) => !name.startsWith('tsx-')), 'files in TMPDIR').to.deep.equal([]);
      // Loose on purpose: 16 fields of 19 MB held in memory would be over 300 MB.
      expect(rssOf(bot.child.pid!) - before, 'RSS growth').to.be.below(100 * 1024 * 1024);
      expect((await fetch(`${url}/healthz`)).status).to.equal(200);
    });

    it('refuses other content types with 415 and bodies over 256 KB with 413, declared or not', async () => {
      const form = await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'type=message' });
      expect(form.status).to.equal(415);
      const declared = await postLarge(url, { 'content-type': 'application/json', 'content-length': String(5 * 1024 * 1024) }, 5 * 1024 * 1024);
      expect(declared).to.equal(413);
      // Chunked: no length to go by, so reading stops once the limit is passed.
      const chunked = await postLarge(url, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, 5 * 1024 * 1024);
      expect(chunked).to.equal(413);
      expect((await readdir(uploads)).filter((name) => !name.startsWith('tsx-'))).to.deep.equal([]);
    });

    it('answers a forged token with 401 or 503 and no internal text; the cause goes to the log once', async () => {
      // A JWT-shaped token: the bot must fetch Microsoft's keys to check it, which this machine cannot reach.
      const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const token = `${part({ alg: 'RS256', typ: 'JWT', kid: 'forged' })}.${part({ iss: 'https://api.botframework.com', aud: CREDENTIALS.MicrosoftAppId, exp: 4102444800 })}.${part({ sig: 1 })}`;
      const activity = { type: 'message', text: 'help', channelId: 'msteams', serviceUrl: 'https://smba.trafficmanager.net/emea/', from: { id: 'u' }, conversation: { id: 'c', tenantId: 't' }, channelData: { tenant: { id: 't' } } };
      const answers = await Promise.all(
        Array.from({ length: 3 }, async () => {
          const response = await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(activity) });
          return { status: response.status, text: await response.text() };
        }),
      );
      for (const { status, text } of answers) {
        expect([401, 503]).to.include(status);
        expect(text).not.to.match(/getaddrinfo|request to|botframework\.com|ENOTFOUND|ECONNREFUSED|\bat \w/);
      }
      // The adapter used to print the error with its stack to stderr for every request.
      expect(bot.stderr, 'stderr').not.to.match(/getaddrinfo|FetchError|\n\s+at /);
      if (answers.some((answer) => answer.status === 503)) {
        expect(bot.output.match(/tokens cannot be checked/g), 'log lines about it').to.have.length(1);
      }
    });
  });

  describe('two processes on one data folder', () => {
    it('refuses the second with a message naming the first; the first keeps answering; a dead one is taken over', async function () {
      onlyOn('file', this, INSTANCE_LOCK);
      const connector = await new FakeConnector().start();
      const dataDir = join(dir, 'data');
      const first = new BotProcess({ DATA_DIR: dataDir });
      let second: BotProcess | undefined;
      try {
        const anna = new TeamsUser({ botUrl: await first.url(), connector, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
        const before = await snapshotFiles(dataDir);

        second = new BotProcess({ DATA_DIR: dataDir });
        expect(await Promise.race([second.exited, second.url().then(() => 'it started as well')])).to.equal(1);
        expect(second.stderr).to.include(`in use by another Partner Setup Bot: process ${first.child.pid} on host`);
        expect(second.stderr).to.include('PostgreSQL');
        expect(second.stderr).not.to.match(/\n\s+at /);
        expect(changedFiles(before, await snapshotFiles(dataDir)), 'files the second process changed').to.deep.equal([]);
        expect((await anna.say('help')).length).to.be.above(0);

        await first.kill('SIGKILL');
        const third = new BotProcess({ DATA_DIR: dataDir });
        try {
          await third.url();
          expect(third.output).to.include('took over the data folder lock of a process that is gone');
          expect(third.output).to.include(`"pid":${first.child.pid}`);
        } finally {
          await third.kill();
        }
      } finally {
        await second?.kill();
        await first.kill();
        await connector.stop();
      }
    });
  });

  describe('a lock from another host', () => {
    const lockFrom = async (dataDir: string, minutesAgo: number) => {
      await mkdir(dataDir, { recursive: true });
      const path = join(dataDir, 'instance.lock');
      await writeFile(path, JSON.stringify({ pid: 4242, host: 'another-host', since: '2026-01-01T00:00:00.000Z', token: 't' }));
      const at = new Date(Date.now() - minutesAgo * 60_000);
      await utimes(path, at, at);
      return path;
    };

    it('is respected while its holder keeps touching it', async function () {
      onlyOn('file', this, INSTANCE_LOCK);
      const dataDir = join(dir, 'data');
      await lockFrom(dataDir, 0);
      const error = await startBot({}, { dataDir }).then(
        (bot) => bot.stop().then(() => undefined),
        (refused: Error) => refused,
      );
      expect(error?.message).to.include('in use by another Partner Setup Bot: process 4242 on host another-host');
    });

    it('is taken over once untouched for a minute (a container recreated on the same volume)', async function () {
      onlyOn('file', this, INSTANCE_LOCK);
      const dataDir = join(dir, 'data');
      const path = await lockFrom(dataDir, 2);
      const bot = await startBot({}, { dataDir });
      try {
        expect(JSON.parse(await readFile(path, 'utf8'))).to.include({ pid: process.pid });
      } finally {
        await bot.stop();
      }
    });
  });

  it('logs neither a key nor a long text sent as an activity name or card verb', async () => {
    const connector = await new FakeConnector().start();
    const bot = new BotProcess({ DATA_DIR: join(dir, 'data') });
    try {
      const anna = new TeamsUser({ botUrl: await bot.url(), connector, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
      await anna.invoke(KEY, {});
      await anna.invoke('x', {}, { name: KEY });
      await anna.invoke('y'.repeat(100), {}, { name: 'n'.repeat(200_000), type: `invoke${KEY}` });
      await anna.invoke('redeem.next', {});
      await bot.kill();
      const turns = bot.output.split('\n').filter((line) => line.includes('"msg":"turn"'));
      expect(turns.length).to.be.at.least(3);
      expect(bot.output).not.to.include(KEY);
      expect(bot.output).not.to.include(KEY.replace(/-/g, ''));
      expect(Math.max(...bot.output.split('\n').map((line) => line.length)), 'longest log line').to.be.below(2000);
      expect(bot.output).to.include('"verb":"redeem.next"');
      expect(bot.output).to.include('"name":"unknown (200000 characters)"');
    } finally {
      await bot.kill();
      await connector.stop();
    }
  });

  it('keeps data files 0600 and folders 0700 after a full flow, backups and the data folder included', async function () {
    onlyOn('file', this, 'the modes of the data folder and its files; on PostgreSQL the server guards the data');
    const connector = await new FakeConnector().start();
    const bot = await startBot({}, { dataDir: join(dir, 'data') });
    try {
      const anna = new TeamsUser({ botUrl: bot.url, connector, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
      await createCustomer(anna, await bot.mintKeys(2));
      await createCustomer(anna, await bot.mintKeys(1), { country: 'DE', organisationName: 'Fabrikam AG', firstName: 'Max', lastName: 'Muster', email: 'max@fabrikam.example', phone: '+49 30 1234567', domainPrefix: 'fabrikamag', signInName: 'max', language: 'de', partnerOfRecord: 'true' });
      await bot.app.stop();
      const entries = await readdir(bot.dataDir, { withFileTypes: true, recursive: true });
      const wrong: string[] = [];
      const modeOf = async (path: string) => (await stat(path)).mode & 0o777;
      if ((await modeOf(bot.dataDir)) !== 0o700) wrong.push(`. ${(await modeOf(bot.dataDir)).toString(8)}`);
      for (const entry of entries) {
        const path = join(entry.parentPath, entry.name);
        const expected = entry.isDirectory() ? 0o700 : 0o600;
        const mode = await modeOf(path);
        if (mode !== expected) wrong.push(`${path.slice(bot.dataDir.length)} ${mode.toString(8)}`);
      }
      expect(entries.some((entry) => entry.name.endsWith('.bak')), 'backups were made').to.equal(true);
      expect(wrong).to.deep.equal([]);
    } finally {
      await connector.stop();
    }
  });

  describe('a read-only data folder', () => {
    let mounted = false;
    beforeEach(function () {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
        mounted = true;
      } catch (error) {
        // CI runs as root and can mount: there, no mount is a failure, not a reason to skip.
        if (process.env.CI) throw error;
        this.skip();
      }
    });
    afterEach(() => {
      if (mounted) execFileSync('umount', ['-l', dir]);
      mounted = false;
    });

    it('is reported not ready by /healthz once it cannot be written, and refused at start naming it', async function () {
      onlyOn('file', this, 'a read-only data folder; an unreachable database is test/postgres/outage.test.ts');
      const dataDir = join(dir, 'data');
      const bot = new BotProcess({ DATA_DIR: dataDir });
      try {
        const url = await bot.url();
        expect((await fetch(`${url}/healthz`)).status).to.equal(200);
        execFileSync('mount', ['-o', 'remount,ro', dir]);
        const health = await fetch(`${url}/healthz`);
        expect(health.status).to.equal(503);
        expect(await health.json()).to.deep.equal({ status: 'not ready', reason: 'the data folder cannot be written' });
      } finally {
        await bot.kill('SIGKILL');
      }
      const refused = new BotProcess({ DATA_DIR: dataDir });
      expect(await refused.exited).to.equal(1);
      expect(refused.stderr).to.include(`The data folder ${dataDir} cannot be written (EROFS)`);
      expect(refused.stderr).not.to.match(/\n\s+at /);
    });
  });

  describe('odd files in place of a partner file', () => {
    const ODD_FILES = 'what lies in the data folder in place of a partner file';
    /** A data folder with one partner, made by a bot that is stopped again. */
    async function folderWithPartner(): Promise<string> {
      const connector = await new FakeConnector().start();
      const dataDir = join(dir, 'data');
      const bot = await startBot({}, { dataDir });
      await new TeamsUser({ botUrl: bot.url, connector, tenantId: 'tenant-a', userId: 'anna', name: 'Anna' }).say('help');
      await bot.stop();
      await connector.stop();
      return dataDir;
    }

    it('a folder: start-up stops with the message that names the file, not a stack trace', async function () {
      onlyOn('file', this, ODD_FILES);
      const dataDir = await folderWithPartner();
      const path = join(dataDir, 'partners', 'tenant-a.json');
      await rm(path);
      await mkdir(path);
      const run = new BotProcess({ DATA_DIR: dataDir });
      expect(await run.exited).to.equal(1);
      expect(run.stderr).to.include(`Cannot read the database file ${path}: it is a folder, not a file.`);
      expect(run.stderr).not.to.match(/EISDIR|\n\s+at /);
    });

    it('a symbolic link: not followed, and nothing of the file it points to is quoted', async function () {
      onlyOn('file', this, ODD_FILES);
      const dataDir = await folderWithPartner();
      const path = join(dataDir, 'partners', 'tenant-a.json');
      const outside = join(dir, 'outside.txt');
      await writeFile(outside, 'root:SECRET-CONTENT-OUTSIDE:0:0');
      await rm(path);
      await symlink(outside, path);
      const run = new BotProcess({ DATA_DIR: dataDir });
      expect(await run.exited).to.equal(1);
      expect(run.stderr).to.include(`Cannot read the database file ${path}: it is a symbolic link`);
      expect(run.stderr).not.to.include('SECRET');
      expect(run.stderr).not.to.include('root:');
    });

    it('a damaged file: the message does not quote its content', async function () {
      onlyOn('file', this, ODD_FILES);
      const dataDir = await folderWithPartner();
      const path = join(dataDir, 'partners', 'tenant-a.json');
      await writeFile(path, 'SECRET-CONTENT not json');
      const run = new BotProcess({ DATA_DIR: dataDir });
      expect(await run.exited).to.equal(1);
      expect(run.stderr).to.include(`Cannot read the database file ${path}: it is not valid JSON`);
      expect(run.stderr).not.to.include('SECRET');
    });
  });

  describe('where replies and proactive messages may go (SERVICE_URL_ALLOW)', () => {
    it('answers 403 to an activity from a service URL outside the list, and sends nothing there', async () => {
      const allowed = await new FakeConnector().start();
      const other = await new FakeConnector().start();
      const bot = await startBot({ SERVICE_URL_ALLOW: new URL(allowed.url).origin });
      try {
        const anna = new TeamsUser({ botUrl: bot.url, connector: allowed, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
        expect((await anna.say('help')).length).to.be.above(0);
        const mallory = new TeamsUser({ botUrl: bot.url, connector: other, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
        const refused = await mallory.post({ type: 'message', text: 'help', channelId: 'msteams', serviceUrl: other.url, from: { id: '29:user-anna', aadObjectId: 'user-anna' }, recipient: { id: '28:bot' }, conversation: { id: 'a:x', conversationType: 'personal', tenantId: PARTNER }, channelData: { tenant: { id: PARTNER } } });
        expect(refused.status).to.equal(403);
        expect(other.attempts).to.equal(0);
      } finally {
        await bot.stop();
        await allowed.stop();
        await other.stop();
      }
    });

    it('does not send to a stored conversation whose service URL the list no longer allows', async () => {
      const connector = await new FakeConnector().start();
      const dataDir = join(dir, 'data');
      const setUp = await startBot({}, { dataDir });
      const anna = new TeamsUser({ botUrl: setUp.url, connector, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' });
      await createCustomer(anna, await setUp.mintKeys(1));
      await setUp.stop();
      // 60 days before the subscription ends, 9:00 in the partner's Berlin: the first reminder is due.
      const reminderDay = () => new FakeClock(new Date('2027-01-01T08:00:00Z'));
      try {
        const restricted = await startBot({ SERVICE_URL_ALLOW: 'https://smba.trafficmanager.net', ...sameStoreAs(setUp) }, { dataDir, clock: reminderDay() });
        const attempts = connector.attempts;
        await restricted.app.reminders.run();
        await restricted.stop();
        expect(connector.attempts - attempts, 'sends to a host outside the list').to.equal(0);
        // With the connector allowed, the reminder kept for Anna's next reachable chat goes out: it was due.
        const open = await startBot(sameStoreAs(setUp), { dataDir, clock: reminderDay() });
        await new TeamsUser({ botUrl: open.url, connector, tenantId: PARTNER, userId: 'user-anna', name: 'Anna Berg' }).say('help');
        const from = connector.sent.length;
        await open.app.reminders.run();
        await open.stop();
        const titles = connector.since(from).flatMap((sent) => (sent.activity.attachments ?? []).map((a: { content: unknown }) => JSON.stringify(a.content)));
        expect(titles.some((title) => title.includes('ends in 60 days'))).to.equal(true);
      } finally {
        await connector.stop();
      }
    });

    it('defaults to Teams’ own hosts with credentials and to any host without; refuses a pattern that is not an origin', () => {
      expect(loadConfig({ ...CREDENTIALS }).serviceUrlAllow).to.deep.equal(TEAMS_SERVICE_URLS);
      expect(loadConfig({}).serviceUrlAllow).to.deep.equal(['*']);
      expect(() => loadConfig({ SERVICE_URL_ALLOW: 'https://smba.trafficmanager.net/amer/' })).to.throw('SERVICE_URL_ALLOW');
      const allowed = serviceUrlMatcher(loadConfig({ ...CREDENTIALS }).serviceUrlAllow);
      expect(allowed('https://smba.trafficmanager.net/emea/')).to.equal(true);
      expect(allowed('https://smba.trafficmanager.net.evil.example/emea/')).to.equal(false);
      expect(allowed('http://smba.trafficmanager.net/emea/')).to.equal(false);
      expect(allowed('https://user@smba.trafficmanager.net/')).to.equal(false);
      expect(serviceUrlMatcher(['https://*.example.com'])('https://a.example.com/x')).to.equal(true);
      expect(serviceUrlMatcher(['https://*.example.com'])('https://example.com/x')).to.equal(false);
    });

    it('sweeps every 15 minutes on the files and every minute on a shared database unless RELEASE_CRON says otherwise', () => {
      expect(loadConfig({}).RELEASE_CRON).to.equal('*/15 * * * *');
      expect(loadConfig({ DATABASE_URL: 'postgres://db.example/partners' }).RELEASE_CRON).to.equal('* * * * *');
      expect(loadConfig({ DATABASE_URL: 'postgres://db.example/partners', RELEASE_CRON: '*/5 * * * *' }).RELEASE_CRON).to.equal('*/5 * * * *');
      expect(() => loadConfig({ RELEASE_CRON: 'every minute' })).to.throw('RELEASE_CRON: is not a valid cron expression');
    });
  });
});
