/**
 * A real PostgreSQL server for the tests (scripts/support/postgresServer.ts starts it, shared with the
 * benchmark), stopped by the root hook in postgres.hooks.ts. Each suite gets a fresh database of its own.
 *
 * When no server can start, suites skip with a one-line reason; under CI (env CI set) they fail.
 */
import { databaseUrl, startCluster, type OwnServer } from '../../scripts/support/postgresServer.js';

export { beforeServerStops, databaseUrl, stopPostgres, type OwnServer } from '../../scripts/support/postgresServer.js';

/**
 * A throwaway server for one suite alone, which it may pause and resume (a database outage); the
 * suite stops it. Skipped, or failing under CI, like freshDatabase when none can start.
 */
export async function ownServer(context: Mocha.Context): Promise<OwnServer> {
  context.timeout(120_000);
  try {
    return await startCluster();
  } catch (error) {
    return unavailable(context, error);
  }
}

let reported = false;

/**
 * A fresh, empty database on the shared server, for a suite's `before` hook; the suite is skipped,
 * or fails under CI, when no server can be had.
 */
export async function freshDatabase(context: Mocha.Context): Promise<string> {
  context.timeout(120_000);
  try {
    return await databaseUrl();
  } catch (error) {
    return unavailable(context, error);
  }
}

function unavailable(context: Mocha.Context, error: unknown): never {
  const reason = `PostgreSQL unavailable: ${(error as Error).message.split('\n')[0]}`;
  if (process.env.CI) throw new Error(`${reason} (CI must run the PostgreSQL suites)`);
  if (!reported) console.log(`  (PostgreSQL suites skipped: ${reason})`);
  reported = true;
  context.skip();
}

