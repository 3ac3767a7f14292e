/** Who is acting in a turn: the Teams tenant (the partner organisation) and the person. */
import type { Activity } from 'botbuilder';
import { z } from 'zod';
import { maskKeysInText } from '../domain/productKey.js';
import type { Actor } from '../domain/actor.js';

/**
 * Ids become keys of stored records; names that JavaScript gives a meaning on every object would let
 * a forged activity reach Object.prototype, so they are no valid id.
 */
const id = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((value) => !['__proto__', 'constructor', 'prototype'].includes(value), 'reserved name');

const TeamsIdentity = z.object({
  from: z.looseObject({ id: id(500), name: z.string().max(500).optional(), aadObjectId: id(100).optional() }),
  tenantId: id(100),
});

/** The actor, or undefined when the activity does not come from a Teams user in an organisation. */
export function actorFrom(activity: Partial<Activity>): Actor | undefined {
  const channelData = activity.channelData as { tenant?: { id?: unknown } } | undefined;
  const parsed = TeamsIdentity.safeParse({ from: activity.from, tenantId: channelData?.tenant?.id ?? activity.conversation?.tenantId });
  if (!parsed.success) return undefined;
  const { from, tenantId } = parsed.data;
  // The Entra object id is stable across chats and apps; the channel account id is the fallback.
  return { tenantId, userId: from.aadObjectId ?? from.id, name: maskKeysInText(from.name?.trim() || from.id) };
}
