/**
 * What stands between the network and the adapter on /api/messages: reading the body (JSON only,
 * bounded) and checking the Bot Framework token with answers that reveal nothing internal.
 */
import type { IncomingMessage } from 'node:http';
import { CloudAdapter, type Activity, type InvokeResponse, type TurnContext } from 'botbuilder';
import { AuthenticationError, type AuthenticateRequestResult, type BotFrameworkAuthentication } from 'botframework-connector';
import type { Logger } from 'pino';

export type Refusal = { ok: false; status: number; code: string; message: string };

/**
 * The request's JSON body. Anything but `application/json` (a multipart upload above all) is
 * refused before a byte is read, so nothing of it reaches memory or the temp folder; a body
 * over `limit` is refused from its Content-Length, or once more than `limit` bytes arrived.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<{ ok: true; value: unknown } | Refusal> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return { ok: false, status: 415, code: 'UnsupportedMediaType', message: 'the body must be application/json' };
  const tooLarge: Refusal = { ok: false, status: 413, code: 'PayloadTooLarge', message: `the body is larger than ${limit} bytes` };
  if (Number(req.headers['content-length']) > limit) return tooLarge;
  const chunks: Buffer[] = [];
  let size = 0;
  const complete = await new Promise<boolean>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      // Stop here: what is already read is dropped, the rest is not kept (dropRestOfBody).
      req.off('data', onData);
      chunks.length = 0;
      resolve(false);
    };
    req.on('data', onData);
    req.once('end', () => resolve(true));
    // A client that goes away mid-body: nothing to answer, nothing kept.
    req.once('close', () => resolve(false));
    req.once('error', reject);
  });
  if (!complete) return tooLarge;
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks, size).toString('utf8')) };
  } catch {
    return { ok: false, status: 400, code: 'BadArgument', message: 'the body is not valid JSON' };
  }
}

/** How long the rest of a refused body is read (and dropped) before the connection is cut. */
const LINGER_MS = 1000;

/**
 * After a refusal, the rest of the body is read and dropped (never kept) for a moment, then the
 * connection is closed. Closing at once would reset it while the client still sends, and a reset
 * loses the answer the client had not read yet.
 */
export function dropRestOfBody(req: IncomingMessage): void {
  if (req.complete) return;
  req.resume();
  const timer = setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
  req.once('end', () => clearTimeout(timer));
}

/** The adapter, running a turn for a request whose token was already checked (once). */
export class MessagesAdapter extends CloudAdapter {
  processAuthenticated(authenticated: AuthenticateRequestResult, activity: Activity, logic: (context: TurnContext) => Promise<void>): Promise<InvokeResponse | undefined> {
    return this.processActivity(authenticated, activity, logic);
  }
}

/**
 * Checks a request's token. A token that is not valid gets 401; when the keys to check it cannot be
 * fetched (Microsoft's OpenID metadata unreachable), 503. Neither answer says more, and the cause is
 * logged once per outage, not with a stack trace per request.
 */
export function authenticator(auth: BotFrameworkAuthentication, log: Logger) {
  let unavailable = false;
  return async (activity: Activity, header: string): Promise<{ ok: true; result: AuthenticateRequestResult } | Refusal> => {
    try {
      const result = await auth.authenticateRequest(activity, header);
      unavailable = false;
      return { ok: true, result };
    } catch (error) {
      if (error instanceof AuthenticationError && error.statusCode < 500) {
        unavailable = false;
        // Not the SDK's message: it can quote parts of the token, which the sender chose.
        log.debug({ status: error.statusCode }, 'request refused: token not valid');
        return { ok: false, status: 401, code: 'Unauthorized', message: 'the request is not authenticated' };
      }
      if (!unavailable) log.error({ reason: String((error as Error)?.message ?? error).slice(0, 500) }, 'tokens cannot be checked: the Bot Framework key metadata cannot be reached');
      unavailable = true;
      return { ok: false, status: 503, code: 'ServiceUnavailable', message: 'the request cannot be authenticated now; try again later' };
    }
  };
}
