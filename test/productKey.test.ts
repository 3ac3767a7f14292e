import { expect } from 'chai';
import { formatKey, lastGroup, maskKey, maskKeysInText, normaliseKey, parseKeyFields, PRODUCT_KEY_ALPHABET, randomKey, splitKeys } from '../src/domain/productKey.js';
import { mulberry32 } from './support/random.js';
import { compact, keysIn } from './support/secretScan.js';

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
    for (const text of ['Donaudampfschifffahrtsgesellschaft', '2c4a1e5f-1111-4111-8111-111111111111', 'Greetings there world again today']) expect(maskKeysInText(text)).to.equal(text);
  });

  it('masks a key glued to other text, and a key whose first group the mask of other text would show', () => {
    const key = 'BCDFG-HJKMP-QRTVW-XY234-6789B';
    expect(maskKeysInText(`Anna${key}Smith`)).to.equal('Anna•••••-•••••-•••••-•••••-6789BSmith');
    expect(maskKeysInText(`${key}${key}`)).to.equal('•••••-•••••-•••••-•••••-6789B'.repeat(2));
    expect(maskKeysInText('BCDFG-HJKMP QRTVW  XY234 - 6789B')).to.equal('•••••-•••••-•••••-•••••-6789B');
    expect(maskKeysInText(`bcdfg hjkmp qrtvw xy234 6789b ${key.toLowerCase().replace(/-/g, ' ')}`)).to.equal('•••••-•••••-•••••-•••••-6789B '.repeat(2).trim());
    // The first pass masks "12345 … BCDFG" and shows BCDFG, which with the rest is the key again.
    expect(keysIn(maskKeysInText(`12345 ABCDE FGHIJ KLMNO ${key}`), new Set([compact(key)]))).to.deep.equal(new Set());
  });

  it('leaves no key the secrets scan would find in generated names and messages (10,000 texts)', () => {
    const random = mulberry32(20261124);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const keys = new Set<string>();
    const typedForms = [(key: string) => key, (key: string) => key.toLowerCase().replace(/-/g, ' '), (key: string) => key.replace(/-/g, ''), (key: string) => key.replace(/-/g, pick([' ', ' - ', '\t', '  ']))];
    const glue = ['', ' ', '-', '\n', 'Anna', 'x', '7', 'ABCDE ', 'AB12C-', 'Contoso GmbH ', 'QRTVW XY234 ', '«', '•'];
    for (let n = 0; n < 10_000; n++) {
      const parts: string[] = [];
      for (let i = 1 + Math.floor(random() * 4); i > 0; i--) {
        // A key the bot has no rule against: one with a digit (a run of letters only is a word).
        let key: string;
        do key = randomKey((max) => Math.floor(random() * max));
        while (!/\d/.test(key));
        keys.add(compact(key));
        parts.push(pick(glue), pick(typedForms)(key), pick(glue));
      }
      const text = parts.join('');
      const masked = maskKeysInText(text);
      expect([...keysIn(masked, keys)].map(lastGroup), `${JSON.stringify(text)} became ${JSON.stringify(masked)}`).to.deep.equal([]);
    }
  });
});
