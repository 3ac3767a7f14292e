import { expect } from 'chai';
import { formatKey, lastGroup, maskKey, maskKeysInText, normaliseKey, parseKeyFields, PRODUCT_KEY_ALPHABET, randomKey, splitKeys } from '../src/domain/productKey.js';

describe('product keys', () => {
  it('normalises case, spaces and hyphens to five groups of five', () => {
    expect(normaliseKey(' bcdfg hjkmp-qrtvw xy234 6789b ')).to.deep.equal({ key: 'BCDFG-HJKMP-QRTVW-XY234-6789B' });
    expect(normaliseKey('bcdfghjkmpqrtvwxy2346789b')).to.deep.equal({ key: 'BCDFG-HJKMP-QRTVW-XY234-6789B' });
  });

  it('reports the length of a key that is too short or too long', () => {
    expect(normaliseKey('ABCDE-ABCDE-ABCDE-ABCDE-ABCD')).to.deep.equal({ problem: { code: 'length', length: 24 } });
    expect(normaliseKey('ABCDE-ABCDE-ABCDE-ABCDE-ABCDEF')).to.deep.equal({ problem: { code: 'length', length: 26 } });
    expect(normaliseKey('')).to.deep.equal({ problem: { code: 'length', length: 0 } });
  });

  it('reports characters that are not letters or digits, once each', () => {
    expect(normaliseKey('ABCDE_ABCDE.ABCDE_ABCDE-ÄBCDE')).to.deep.equal({ problem: { code: 'characters', characters: '_ . Ä' } });
  });

  it('splits pasted text into keys by lines, commas, semicolons or spaces between whole keys', () => {
    const a = 'BCDFG-HJKMP-QRTVW-XY234-6789B';
    const b = 'BBBBB-CCCCC-DDDDD-FFFFF-GGGGG';
    expect(splitKeys(`${a}\n${b}`)).to.deep.equal([a, b]);
    expect(splitKeys(`${a}, ${b};${a}`)).to.deep.equal([a, b, a]);
    expect(splitKeys(`${a} ${b}`)).to.deep.equal([a, b]);
    expect(splitKeys('BCDFG HJKMP QRTVW XY234 6789B')).to.deep.equal(['BCDFG HJKMP QRTVW XY234 6789B']);
    expect(splitKeys('BCDFG HJKMP QRTVW XY234 6789 BBBBB-CCCCC-DDDDD-FFFFF-GGGGG')).to.deep.equal(['BCDFG HJKMP QRTVW XY234 6789', b]);
    expect(splitKeys('  \n , ')).to.deep.equal([]);
  });

  it('numbers the keys across fields and flags repeats against the first occurrence', () => {
    const a = 'BCDFG-HJKMP-QRTVW-XY234-6789B';
    const entries = parseKeyFields([`${a}\nshort`, a.toLowerCase()]);
    expect(entries).to.deep.equal([
      { position: 1, field: 0, key: a },
      { position: 2, field: 0, problem: { code: 'length', length: 5 } },
      { position: 3, field: 1, problem: { code: 'duplicate', firstPosition: 1 } },
    ]);
  });

  it('shows only the last group', () => {
    expect(lastGroup('BCDFG-HJKMP-QRTVW-XY234-6789B')).to.equal('6789B');
    expect(maskKey('6789B')).to.equal('•••••-•••••-•••••-•••••-6789B');
    expect(formatKey('A'.repeat(25))).to.equal('AAAAA-AAAAA-AAAAA-AAAAA-AAAAA');
  });

  it('mints keys from the product-key alphabet', () => {
    let i = 0;
    const key = randomKey((max) => i++ % max);
    expect(key).to.match(/^([A-Z0-9]{5}-){4}[A-Z0-9]{5}$/);
    expect([...key.replace(/-/g, '')].every((c) => PRODUCT_KEY_ALPHABET.includes(c))).to.equal(true);
  });

  it('masks a key pasted into a name or a message, in any of its typed forms, and leaves other text alone', () => {
    expect(maskKeysInText('Contoso BCDFG-HJKMP-QRTVW-XY234-6789B GmbH')).to.equal('Contoso •••••-•••••-•••••-•••••-6789B GmbH');
    expect(maskKeysInText('key: bcdfg hjkmp qrtvw xy234 6789b.')).to.equal('key: •••••-•••••-•••••-•••••-6789B.');
    expect(maskKeysInText('BCDFGHJKMPQRTVWXY23466789')).to.equal('•••••-•••••-•••••-•••••-66789');
    expect(maskKeysInText('9V77W-F3X83-6BTRY-PXTMC-Y8JT3a\u202emg')).to.equal('•••••-•••••-•••••-•••••-Y8JT3a\u202emg');
    for (const text of ['Donaudampfschifffahrtsgesellschaft', '2c4a1e5f-1111-4111-8111-111111111111']) expect(maskKeysInText(text)).to.equal(text);
  });
});
