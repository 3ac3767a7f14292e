/** The pure rules of a setup's life that no HTTP journey reaches at every boundary. */
import { expect } from 'chai';
import { allows, cancelTarget, complete, discard, isPastRetention, newSetup, release, SETUP_STATUSES, type Setup, type SetupStep } from '../src/domain/setup.js';

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

describe('which setup states allow which step', () => {
  const at = new Date('2026-03-02T09:00:00Z');
  const setup = (status: Setup['status'], account = false): Setup => ({ ...newSetup('5f0b7c1e-8a9d-4f3b-9c2a-1d2e3f4a5b6c', { id: 'user-anna', name: 'Anna' }, at), status, ...(account ? { account: {} as Setup['account'] } : {}) });
  const allowed = (step: SetupStep) => SETUP_STATUSES.filter((status) => allows(setup(status, true), step));

  it('edits keys while entering or reviewing, confirms only a summary, and creates only from reserved keys with an account', () => {
    expect(allowed('open')).to.deep.equal([...SETUP_STATUSES]);
    expect(allowed('editKeys')).to.deep.equal(['entering', 'reviewing']);
    expect(allowed('review')).to.deep.equal(['reviewing']);
    expect(allowed('discard')).to.deep.equal(['entering', 'reviewing', 'reserved']);
    expect(allowed('account')).to.deep.equal(['reserved']);
    expect(allowed('create')).to.deep.equal(['reserved']);
    expect(allows(setup('reserved'), 'create'), 'no account yet').to.equal(false);
  });

  it("lets 'cancel' discard the person's latest setup only while its keys are not reserved", () => {
    const mine = (status: Setup['status']) => ({ ...setup(status), ownerId: 'user-anna' });
    const colleagues = { ...setup('entering'), ownerId: 'user-ben' };
    expect(cancelTarget([colleagues], 'user-anna')).to.deep.equal({ outcome: 'nothing' });
    expect(cancelTarget([colleagues, mine('reviewing')], 'user-anna').outcome).to.equal('discard');
    expect(cancelTarget([mine('reserved'), mine('entering')], 'user-anna').outcome, 'the latest counts').to.equal('kept');
    expect(cancelTarget([mine('creating')], 'user-anna').outcome).to.equal('kept');
  });
});
