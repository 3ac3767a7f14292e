/** Teams-shaped activities, as test/support/teams.ts sends them, for a partner's staff member. */
import { randomUUID } from 'node:crypto';
import { LOCALE, type BenchUser } from './dataset.js';

function base(user: BenchUser, serviceUrl: string, type: string): Record<string, unknown> {
  return {
    type,
    id: randomUUID(),
    channelId: 'msteams',
    serviceUrl,
    timestamp: new Date().toISOString(),
    locale: LOCALE,
    from: { id: `29:${user.userId}`, name: user.name, aadObjectId: user.userId },
    recipient: { id: '28:bot', name: 'Partner Setup Bot' },
    conversation: { id: user.conversationId, conversationType: 'personal', tenantId: user.tenantId },
    channelData: { tenant: { id: user.tenantId } },
  };
}

export function messageActivity(user: BenchUser, serviceUrl: string, text: string): string {
  return JSON.stringify({ ...base(user, serviceUrl, 'message'), text });
}

/** An Action.Execute press, as Teams sends it for an Adaptive Card button. */
export function invokeActivity(user: BenchUser, serviceUrl: string, verb: string, data: Record<string, unknown>): string {
  return JSON.stringify({ ...base(user, serviceUrl, 'invoke'), name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' } });
}

/** "Next" on a fresh redeem card with one valid key: creates a setup in the partner's file. */
export function redeemNextActivity(user: BenchUser, serviceUrl: string, key: string): string {
  return invokeActivity(user, serviceUrl, 'redeem.next', { setupId: randomUUID(), rev: 0, fieldCount: 1, key0: key });
}
