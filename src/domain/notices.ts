/**
 * The one messaging port of the services: what they have to tell a staff member outside any turn,
 * as data. The bot layer words each notice in the person's language and sends it to their chat.
 */
import type { Customer, Subscription } from './customer.js';
import type { CreateResult } from './outcomes.js';
import type { Setup } from './setup.js';

export type ProactiveNotice =
  /** A reservation ran out and its keys went back. */
  | { kind: 'reservationReleased'; setup: Setup }
  /** An account creation a restart interrupted has ended, one way or the other. */
  | { kind: 'creationResumed'; result: CreateResult }
  /** A switch to direct billing the person scheduled has run. */
  | { kind: 'switchRan'; customer: Customer; subscription: Subscription };

export interface Messenger {
  /** Tells the staff member in their personal chat; false when the bot cannot reach them. */
  tell(tenantId: string, userId: string, notice: ProactiveNotice): Promise<boolean>;
}
