/** The smallest document a store test can write: a counter, with room for padding. */
import { z } from 'zod';

export const CounterSchema = z.object({ schemaVersion: z.literal(1), n: z.number(), padding: z.string().optional() });
export type Counter = z.infer<typeof CounterSchema>;
export const emptyCounter = (): Counter => ({ schemaVersion: 1, n: 0 });
