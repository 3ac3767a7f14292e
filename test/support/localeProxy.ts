/**
 * The Agents Playground sends every activity as en-US: its activity generators fix `locale` and the
 * `clientInfo` entity's locale, with no setting to change them. A Teams client in another language
 * is played by this proxy between the Playground and the bot: it forwards each request unchanged but
 * for the locale of the activity, and hands the bot's answer (the invoke response) back. Replies and
 * proactive messages go from the bot to the Playground's connector directly, as from Teams.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocaleProxy {
  /** The proxy's origin, in place of the bot's: the Playground's bot endpoint is `${url}/api/messages`. */
  url: string;
  stop(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** With `locale` for the activity's and its clientInfo entity's; anything that is not an activity passes as it came. */
function relocalised(body: string, locale: string): string {
  let activity: any;
  try {
    activity = JSON.parse(body);
  } catch {
    return body;
  }
  if (!activity || typeof activity !== 'object' || typeof activity.type !== 'string') return body;
  activity.locale = locale;
  for (const entity of Array.isArray(activity.entities) ? activity.entities : []) if (entity?.type === 'clientInfo') entity.locale = locale;
  return JSON.stringify(activity);
}

/** Starts a proxy to `botOrigin` (e.g. http://127.0.0.1:3978) that makes every activity's locale `locale`. */
export async function startLocaleProxy(botOrigin: string, locale: string): Promise<LocaleProxy> {
  const server = createServer(async (req, res) => {
    try {
      const body = await bodyOf(req);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name, value]) => typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name))) as Record<string, string>;
      const answer = await fetch(`${botOrigin}${req.url}`, { method: req.method, headers, body: ['GET', 'HEAD'].includes(req.method ?? 'GET') ? undefined : relocalised(body, locale) });
      const content = Buffer.from(await answer.arrayBuffer());
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream', 'content-length': content.length });
      res.end(content);
    } catch {
      res.writeHead(502).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
