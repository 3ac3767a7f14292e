/** Mocha root hook (registered in .mocharc.json): the throwaway PostgreSQL server goes when the run ends. */
import { stopPostgres } from './postgres.js';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopPostgres();
  },
};
