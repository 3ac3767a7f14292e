/** The pure rules of a setup's life that no HTTP journey reaches at every boundary. */
import { expect } from 'chai';
import { complete, discard, isPastRetention, newSetup, release, SETUP_STATUSES, type Setup } from '../src/domain/setup.js';

describe('setup retention', () => {
  const closedAt = new Date('2026-03-02T09:00:00Z');
  const day = (n: number) => new Date(closedAt.getTime() + n * 86_400_000);
  const fresh = newSetup('5f0b7c1e-8a9d-4f3b-9c2a-1d2e3f4a5b6c', { id: 'user-anna', name: 'Anna' }, closedAt);

  it('drops a completed, discarded or announced released setup once its retention has passed, to the millisecond', () => {
    const announced: Setup = { ...release(fresh, closedAt), releaseNotice: 'sent' };
    for (const setup of [complete(fresh, 'contoso-tenant', closedAt), discard(fresh, closedAt), announced]) {
      expect(isPastRetention(setup, new Date(day(30).getTime() - 1), 30), setup.status).to.equal(false);
      expect(isPastRetention(setup, day(30), 30), setup.status).to.equal(true);
    }
  });

  it('keeps a released setup whose owner has not been told, and every open one, however old', () => {
    expect(isPastRetention(release(fresh, closedAt), day(3650), 30)).to.equal(false);
    for (const status of SETUP_STATUSES.filter((s) => !['completed', 'discarded', 'released'].includes(s))) {
      expect(isPastRetention({ ...fresh, status, closedAt: closedAt.toISOString() }, day(3650), 30), status).to.equal(false);
    }
  });
});
