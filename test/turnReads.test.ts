/** Reads remembered for one turn (src/store/turnReads.ts): once per turn, and never across a write. */
import { expect } from 'chai';
import { forgetTurnReads, readOnce, withTurnReads } from '../src/store/turnReads.js';

describe('reads remembered for one turn', () => {
  it('reads once per turn and key, hands out copies, and reads again in the next turn', async () => {
    let reads = 0;
    const at = new Date('2026-12-06T10:00:00.000Z');
    const read = () => readOnce('profile:T', async () => ({ name: `read ${++reads}`, tries: [{ at: new Date(at) }], absent: null }));
    const as = (n: number) => ({ name: `read ${n}`, tries: [{ at }], absent: null });
    await withTurnReads(async () => {
      const first = await read();
      first.name = 'changed by a caller';
      first.tries[0]!.at.setTime(0);
      first.tries.push({ at });
      expect(await read()).to.deep.equal(as(1));
    });
    await withTurnReads(async () => expect(await read()).to.deep.equal(as(2)));
    expect(await read(), 'outside a turn, every time').to.deep.equal(as(3));
  });

  it('reads again after the turn writes', async () => {
    let reads = 0;
    await withTurnReads(async () => {
      await readOnce('roles:T', async () => ++reads);
      forgetTurnReads();
      expect(await readOnce('roles:T', async () => ++reads)).to.equal(2);
    });
  });

  it('does not keep what a read brought along when the turn wrote while that read ran', async () => {
    await withTurnReads(async () => {
      let answer!: () => void;
      const answered = new Promise<void>((resolve) => (answer = resolve));
      // Who is asking is read, with the role book along; the turn writes roles before the answer comes.
      const member = readOnce('member:T:u', async (remember) => {
        await answered;
        remember('roles:T', { u: 'old' });
        return { id: 'u' };
      });
      forgetTurnReads();
      answer();
      await member;
      expect(await readOnce('roles:T', async () => ({ u: 'new' }))).to.deep.equal({ u: 'new' });
    });
  });

  it('keeps what a read brought along when the turn did not write meanwhile', async () => {
    await withTurnReads(async () => {
      await readOnce('member:T:u', async (remember) => {
        remember('roles:T', { u: 'brought along' });
        return { id: 'u' };
      });
      expect(await readOnce('roles:T', async () => ({ u: 'read' }))).to.deep.equal({ u: 'brought along' });
    });
  });
});
