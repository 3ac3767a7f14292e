/** The repositories on one PostgreSQL pool, migrated to the current schema first. */
import type { Logger } from 'pino';
import type { LifecycleDays } from '../../domain/lifecycle.js';
import type { Repositories } from '../repositories.js';
import { PostgresCommerceTenants, PostgresKeyCatalog } from './commerce.js';
import { PostgresCustomers } from './customers.js';
import { openPool, type Pool } from './database.js';
import { PostgresGuessGuard } from './guessGuard.js';
import { migrate } from './migrate.js';
import { PostgresOutbox } from './outbox.js';
import { PostgresPartners } from './partners.js';
import { PostgresReminders } from './reminders.js';
import { PostgresRunnerLock } from './runnerLock.js';
import { PostgresSetups } from './setups.js';

/** The repositories on PostgreSQL; the customers' also copy many in at once (the import). */
export type PostgresRepositories = Repositories & { customers: PostgresCustomers };

export function postgresRepositories(pool: Pool, lifecycle: LifecycleDays): PostgresRepositories {
  return {
    partners: new PostgresPartners(pool),
    customers: new PostgresCustomers(pool, lifecycle),
    setups: new PostgresSetups(pool),
    guessGuard: new PostgresGuessGuard(pool),
    reminders: new PostgresReminders(pool, lifecycle),
    outbox: new PostgresOutbox(pool),
    runnerLock: new PostgresRunnerLock(pool),
    keyCatalog: new PostgresKeyCatalog(pool),
    commerceTenants: new PostgresCommerceTenants(pool),
  };
}

/** Connects (failing with the host named if it cannot), applies pending migrations, and builds the repositories. */
export async function openPostgres(url: string, lifecycle: LifecycleDays, log?: Logger): Promise<{ pool: Pool; repositories: PostgresRepositories }> {
  const pool = await openPool(url, log);
  try {
    const applied = await migrate(pool);
    if (applied.length > 0) log?.info({ applied }, 'database schema migrated');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return { pool, repositories: postgresRepositories(pool, lifecycle) };
}
