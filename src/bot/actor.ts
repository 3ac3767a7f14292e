/** Who is acting in a turn: the Teams tenant (the partner organisation) and the person. */
import type { Activity } from 'botbuilder';
import { z } from 'zod';
import type { Actor } from '../setups/setupService.js';

const TeamsIdentity = z.object({
  from: z.looseObject({ id: z.string().min(1).max(500), name: z.string().max(500).optional(), aadObjectId: z.string().min(1).max(100).optional() }),
  tenantId: z.string().min(1).max(100),
});

/** The actor, or undefined when the activity does not come from a Teams user in an organisation. */
export function actorFrom(activity: Partial<Activity>): Actor | undefined {
  const channelData = activity.channelData as { tenant?: { id?: unknown } } | undefined;
  const parsed = TeamsIdentity.safeParse({ from: activity.from, tenantId: channelData?.tenant?.id ?? activity.conversation?.tenantId });
  if (!parsed.success) return undefined;
  const { from, tenantId } = parsed.data;
  // The Entra object id is stable across chats and apps; the channel account id is the fallback.
  return { tenantId, userId: from.aadObjectId ?? from.id, name: from.name?.trim() || from.id };
}
