/**
 * A stand-in for the Bot Framework connector at an activity's serviceUrl: it records what the bot
 * sends (replies and proactive messages), and can be told to fail like Teams does.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SentActivity {
  conversationId: string;
  method: string;
  activity: Record<string, any>;
  /** The id Teams gave a new message (a POST); an update (PUT) names it in `activity.id`. */
  id?: string;
}

export class FakeConnector {
  readonly sent: SentActivity[] = [];
  /** When set, answers sends with this status and a Teams-style error body (`times` sends, or all). */
  failWith?: { status: number; code: string; retryAfterSeconds?: number; times?: number };
  /** Every send attempt, failed ones included, for checking retries. */
  attempts = 0;
  /** What Teams member info returns per user id (GET …/members/{id}), e.g. the sign-in name. */
  readonly members = new Map<string, Record<string, unknown>>();
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const member = req.url?.match(/^\/v3\/conversations\/[^/]+\/members\/([^/?]+)/);
        if (member && req.method === 'GET') {
          const found = this.members.get(decodeURIComponent(member[1]!));
          res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
          res.end(JSON.stringify(found ?? { error: { code: 'MemberNotFoundInConversation' } }));
          return;
        }
        const match = req.url?.match(/^\/v3\/conversations\/([^/]+)\/activities/);
        if (!match) {
          res.writeHead(404);
          res.end();
          return;
        }
        this.attempts++;
        const failure = this.failWith;
        if (failure && (failure.times === undefined || failure.times > 0)) {
          if (failure.times !== undefined) failure.times--;
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (failure.retryAfterSeconds !== undefined) headers['retry-after'] = String(failure.retryAfterSeconds);
          // Separate calls: restify patches ServerResponse.writeHead so that it no longer chains.
          res.writeHead(failure.status, headers);
          res.end(JSON.stringify({ error: { code: failure.code, message: failure.code } }));
          return;
        }
        const id = randomUUID();
        this.sent.push({ conversationId: decodeURIComponent(match[1]!), method: req.method ?? '', activity: JSON.parse(body || '{}'), ...(req.method === 'POST' && { id }) });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/`;
    return this;
  }

  /** Everything sent to a conversation since `from` (an index into `sent`). */
  since(from: number, conversationId?: string): SentActivity[] {
    return this.sent.slice(from).filter((s) => !conversationId || s.conversationId === conversationId);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
