// Test harness for the Microsoft 365 Agents Playground (a local Teams emulator):
// starts isolated playground instances and drives their web UI with headless Chromium.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export interface PlaygroundUser {
  id: string;
  name: string;
  aadObjectId: string;
  email?: string;
}

export interface PlaygroundOptions {
  botEndpoint: string;
  /** Omit (or 0) to let the playground pick a free port. */
  port?: number;
  tenantId: string;
  user: PlaygroundUser;
  startTimeoutMs?: number;
}

export interface Playground {
  url: string;
  port: number;
  /** Where the bot must send replies and proactive messages for this instance. */
  serviceUrl: string;
  stop(): Promise<void>;
}

const CLI = join(dirname(createRequire(import.meta.url).resolve('@microsoft/m365agentsplayground/package.json')), 'cli.js');
const RESULTS_DIR = fileURLToPath(new URL('../../test-results/', import.meta.url));

// The playground validates this file against a strict schema (every section, exactly 5 extra users) and
// exits with the reason only in devTools/m365agentsplayground.log, so keep the default layout intact.
function configYaml({ tenantId, user }: PlaygroundOptions): string {
  const q = (s: string) => JSON.stringify(s); // JSON strings are valid YAML scalars
  const [givenName = user.name, ...rest] = user.name.split(' ');
  const members = ['Megan Bowen', 'Adele Vance', 'Isaiah Langer', 'Patti Fernandez', 'Lynne Robbins'].map((name, i) => {
    const [first, last] = name.split(' ') as [string, string];
    const email = `${first.toLowerCase()}${last[0]!.toLowerCase()}@example.com`;
    return `  - id: ${q(`${user.id}-member-${i + 1}`)}
    name: ${q(name)}
    userPrincipleName: ${q(email)}
    aadObjectId: ${q(`00000000-0000-0000-0000-00000000002${i + 1}`)}
    givenName: ${q(first)}
    surname: ${q(last)}
    email: ${q(email)}`;
  });
  const email = user.email ?? `${user.id}@example.com`;
  return `version: "0.1.1"
tenantId: ${q(tenantId)}
bot:
  id: "00000000-0000-0000-0000-00000000000011"
  name: "Test Bot"
currentUser:
  id: ${q(user.id)}
  name: ${q(user.name)}
  userPrincipleName: ${q(email)}
  aadObjectId: ${q(user.aadObjectId)}
  givenName: ${q(givenName)}
  surname: ${q(rest.join(' ') || givenName)}
  email: ${q(email)}
users:
${members.join('\n')}
personalChat:
  id: ${q(`personal-${user.id}`)}
groupChat:
  id: ${q(`group-${user.id}`)}
  name: "Group Chat"
team:
  id: ${q(`team-${tenantId}`)}
  name: "My Team"
  aadGroupId: "00000000-0000-0000-0000-000000000031"
  channels:
    - id: ${q(`channel-${tenantId}`)}
      name: "Announcements"
`;
}

/** Starts a playground in its own temp working directory (own yml, own log), so several can run at once. */
export async function startPlayground(opts: PlaygroundOptions): Promise<Playground> {
  const cwd = await mkdtemp(join(tmpdir(), 'playground-'));
  await writeFile(join(cwd, '.m365agentsplayground.yml'), configYaml(opts));

  const child = spawn(
    process.execPath,
    [CLI, '-e', opts.botEndpoint, '-c', 'msteams', '-p', String(opts.port ?? 0), '--dt'],
    // detached = own process group, so stop() can kill the whole tree.
    { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TEAMSAPPTESTER_BROWSER: 'none' } },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => child.on('exit', (code) => ((exitCode = code), resolve())));
  // A detached child would outlive a runner that exits without running after() hooks.
  const killOnExit = () => kill('SIGKILL');
  process.once('exit', killOnExit);

  function kill(signal: NodeJS.Signals): void {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  }
  async function stop(): Promise<void> {
    process.off('exit', killOnExit);
    if (exitCode === undefined) {
      kill('SIGTERM');
      if ((await Promise.race([exited.then(() => 'exited'), sleep(5000, undefined, { ref: false })])) !== 'exited') kill('SIGKILL');
      await exited;
    }
    await rm(cwd, { recursive: true, force: true });
  }
  async function fail(reason: string): Promise<never> {
    // Most of the playground's console output is redirected to this file rather than stdout.
    const log = await readFile(join(cwd, 'devTools', 'm365agentsplayground.log'), 'utf8').catch(() => '');
    await stop();
    throw new Error(`Agents Playground failed to start: ${reason}\n--- output ---\n${output}\n--- devTools log ---\n${log}`);
  }

  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (exitCode !== undefined) return fail(`process exited with code ${exitCode}`);
    // It silently falls back to a random port when the requested one is busy, so trust only what it reports.
    const port = Number(/Listening on (\d+)/.exec(output)?.[1]);
    if (port) {
      if (opts.port && port !== opts.port) return fail(`port ${opts.port} is busy (it moved to ${port})`);
      const url = `http://localhost:${port}`;
      // The config endpoint only exists once the yml was loaded; the tenant check proves it is ours.
      // It also waits (up to 15 s) for the bot endpoint to answer, so start the bot first.
      const config = await fetch(`${url}/_internal/v1/config`)
        .then((r) => (r.ok ? (r.json() as Promise<{ config?: { tenantId?: string } }>) : undefined))
        .catch(() => undefined);
      if (config?.config?.tenantId === opts.tenantId) return { url, port, serviceUrl: `${url}/_connector`, stop };
    }
    await sleep(200);
  }
  return fail(`not ready after ${opts.startTimeoutMs ?? 30_000} ms`);
}

/** The Chromium binary to use (CHROMIUM_PATH overrides /usr/bin/chromium), or undefined if it is missing. */
export function chromiumPath(): string | undefined {
  const path = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  return existsSync(path) ? path : undefined;
}

let sharedBrowser: Promise<Browser> | undefined;

/** One headless browser shared by all chats (each chat gets its own context). */
export function launchBrowser(): Promise<Browser> {
  sharedBrowser ??= (async () => {
    const executablePath = chromiumPath();
    if (!executablePath) {
      throw new Error(
        `Chromium not found at ${process.env.CHROMIUM_PATH || '/usr/bin/chromium'}: ` +
          'run `apt-get install -y chromium` or set CHROMIUM_PATH (`npx playwright install` is not used here).',
      );
    }
    return chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-quic', '--no-first-run', '--disable-sync'],
    });
  })().catch((err: unknown) => {
    sharedBrowser = undefined;
    throw err;
  });
  return sharedBrowser;
}

export async function closeBrowser(): Promise<void> {
  const browser = sharedBrowser;
  sharedBrowser = undefined;
  await (await browser)?.close();
}

export interface ChatPage {
  /** Escape hatch for assertions the helpers below don't cover. */
  page: Page;
  send(text: string): Promise<void>;
  waitForText(text: string, timeoutMs?: number): Promise<void>;
  clickButton(title: string): Promise<void>;
  fillInput(labelOrPlaceholder: string, value: string): Promise<void>;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Opens the playground UI on its default Personal Chat with the bot. */
export async function openChat(url: string): Promise<ChatPage> {
  const context = await (await launchBrowser()).newContext({ viewport: { width: 1280, height: 900 } });
  // The UI pulls fonts/animations from Office CDNs; block them so runs are offline-safe and deterministic.
  await context.route((u) => !['localhost', '127.0.0.1'].includes(u.hostname), (route) => route.abort());
  const page = await context.newPage();
  await page.goto(url);
  const editor = page.locator('[data-lexical-editor=true]');
  await editor.waitFor();

  // Message bubbles have no role; each one is the parent of its "Message header". Scoping to them keeps
  // the log panel and the chat list previews (which repeat message text) out of matches.
  const messages = page.locator('div:has(> [aria-label="Message header"])');
  const cards = page.locator('.ac-adaptiveCard');

  return {
    page,
    async send(text) {
      await editor.click();
      await editor.pressSequentially(text); // Lexical ignores fill(); it needs real key events
      await editor.press('Enter');
      // Wait for the box to clear so the message is really sent before the caller waits for a reply.
      await page.waitForFunction(() => !document.querySelector('[data-lexical-editor=true]')?.textContent);
    },
    async waitForText(text, timeoutMs = 15_000) {
      await messages.filter({ hasText: text }).last().waitFor({ timeout: timeoutMs });
    },
    // "Last" because older cards stay in the history; wait for the new card's text first if it may lag.
    async clickButton(title) {
      await cards.getByRole('button', { name: title, exact: true }).filter({ visible: true }).last().click();
    },
    async fillInput(labelOrPlaceholder, value) {
      // Role name rather than getByLabel: required inputs render their label as "Name *".
      const byLabel = cards.getByRole('textbox', { name: labelOrPlaceholder, exact: true });
      const byPlaceholder = cards.getByPlaceholder(labelOrPlaceholder, { exact: true });
      await byLabel.or(byPlaceholder).filter({ visible: true }).last().fill(value);
    },
    async screenshot(name) {
      await mkdir(RESULTS_DIR, { recursive: true });
      const path = join(RESULTS_DIR, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
    },
  };
}
