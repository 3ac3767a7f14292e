import { expect } from 'chai';
import { catalogues, fill, messagesFor } from '../src/i18n/index.js';

function flatten(node: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(node as object)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'string') out.set(path, value);
    else for (const [k, v] of flatten(value, path)) out.set(k, v);
  }
  return out;
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('message catalogues', () => {
  const en = flatten(catalogues.en);
  const de = flatten(catalogues.de);

  it('has every English key in German and no extra ones', () => {
    expect([...de.keys()].sort()).to.deep.equal([...en.keys()].sort());
  });

  it('uses the same placeholders in both languages, and no empty text', () => {
    for (const [key, text] of en) {
      expect(placeholders(de.get(key)!), key).to.deep.equal(placeholders(text));
      expect(text.trim(), key).not.to.equal('');
      expect(de.get(key)!.trim(), key).not.to.equal('');
    }
  });

  it('picks German for any German locale and English otherwise', () => {
    expect(messagesFor('de-CH').language).to.equal('de');
    expect(messagesFor('en-US').language).to.equal('en');
    expect(messagesFor('fr-FR').language).to.equal('en');
    expect(messagesFor(undefined).language).to.equal('en');
  });

  it('fills placeholders with plain values and counts in each language', () => {
    expect(fill('Key {n} has {length}', { n: 2, length: 24 })).to.equal('Key 2 has 24');
    expect(fill('{a} {missing}', { a: '{missing}' })).to.equal('{missing} {missing}');
    expect(fill('{a}{a} at the start, twice', { a: 'x' }), 'a placeholder used twice, at the start').to.equal('xx at the start, twice');
    expect(fill('no placeholders', { a: 'x' })).to.equal('no placeholders');
    expect(fill('{} { a } {a-b} {a', { a: 'x' }), 'braces that are no placeholder stay').to.equal('{} { a } {a-b} {a');
    expect(fill('{n} and {n}', { n: 0 }), 'zero is a value').to.equal('0 and 0');
    const en = messagesFor('en-GB');
    expect([0, 1, 2, 1, 1.5].map((n) => en.count(en.t.common.keyCount, n)), 'each count in its form, also when asked again').to.deep.equal(['0 keys', '1 key', '2 keys', '1 key', '1.5 keys']);
    const de = messagesFor('de-DE');
    expect(de.count(de.t.common.keyCount, 1)).to.equal('1 Product Key');
    expect(de.count(de.t.common.keyCount, 2)).to.equal('2 Product Keys');
    expect(de.date('2026-03-16T09:00:00Z')).to.equal('16.\u00a0März 2026');
  });
});

describe('dates in card texts', () => {
  // CommonMark's ordered list marker: up to nine digits, "." or ")", then a space, a tab or the end.
  const startsList = (text: string) => /^ {0,3}\d{1,9}[.)]( |\t|$)/.test(text);

  it('never starts a numbered list with a German date, in a day, a moment or a moment with its time', () => {
    const de = messagesFor('de-DE', 'Europe/Berlin');
    const texts = ['2027-03-02', '2026-12-31', '2026-12-31T23:30:00Z'].flatMap((at) => [de.date(at), de.dateTime(at)]);
    expect(texts.filter(startsList)).to.deep.equal([]);
    // Read as words, a no-break space is a space: the day stays "2. März 2027".
    expect(de.date('2027-03-02').replace(/\s/g, ' ')).to.equal('2. März 2027');
    expect(de.dateTime('2026-12-31T23:30:00Z').replace(/\s/g, ' ')).to.equal('1. Januar 2027 um 00:30 MEZ');
    const en = messagesFor('en-GB');
    expect(en.date('2027-03-02')).to.equal('2 March 2027');
  });
});

describe('filling in what people typed', () => {
  it('keeps a typed markdown link from becoming a link', () => {
    const text = fill('{name} offers', { name: '[Fabrikam](https://evil.example)' });
    expect(text).not.to.include('](');
    expect(text.replace(/\u200b/g, '')).to.equal('[Fabrikam](https://evil.example) offers');
  });
});
