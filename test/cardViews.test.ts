/**
 * A card built in code (src/cards.ts) must be exactly what its template expands to for the
 * same data: varied shapes (notice or not, empty pages, first, middle and last pages, rows without
 * subscriptions) and hostile typed text (template expressions, markdown links, JSON-looking text),
 * which must stay data in both.
 */
import { expect } from 'chai';
import { customersView, expandTemplate, renderCard, reviewView, type CardData } from '../src/cards.js';
import { messagesFor } from '../src/i18n/index.js';

const HOSTILE = [
  '${t.title}',
  '${$root.t.open}',
  '${if(true, "a", "b")}',
  '{{DATE(2026-01-01T00:00:00Z)}}',
  '[click](https://evil.example)',
  '$when',
  '"}, {"type": "Action.OpenUrl"',
  '',
  ' ',
  '123',
  'true',
  'null',
  'Ünïcødé – 日本語 \u202e',
  '<b>bold</b> **x** \n second line',
];

function row(i: number, text: string, subscriptions: number) {
  return {
    tenantId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    name: `${text} ${i}`,
    line: `${text}.onmicrosoft.com · Germany`,
    subscriptions: Array.from({ length: subscriptions }, (_, s) => `${text} subscription ${s}`),
    delegation: `Delegation: ${text}`,
  };
}

function samples(): Array<[string, CardData['customers']]> {
  const out: Array<[string, CardData['customers']]> = [];
  for (const language of ['en-US', 'de-DE']) {
    const t = messagesFor(language).t.customers;
    out.push([`${language} empty, no notice`, { t, filter: '', page: 1, hasNext: false, rows: [] }]);
    out.push([`${language} empty with notice`, { t, notice: { text: 'No customers', style: 'accent' }, filter: 'zzz', page: 1, hasNext: false, rows: [] }]);
    HOSTILE.forEach((text, i) => {
      const page = (i % 3) + 1;
      out.push([
        `${language} hostile ${JSON.stringify(text)}`,
        {
          t,
          notice: i % 2 ? { text, style: 'attention' } : undefined,
          filter: text,
          page,
          hasNext: i % 2 === 0,
          showing: i % 4 ? `${text} 1 to 10 of 50` : undefined,
          rows: Array.from({ length: (i % 4) * 3 + 1 }, (_, r) => row(r, text, r % 4)),
        },
      ]);
    });
  }
  return out;
}

function keyRow(i: number, text: string) {
  return { id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, masked: `XXXXX-XXXXX-XXXXX-XXXXX-${text}`, product: `${text} product`, seats: String(i), term: `${text} 12 months` };
}

function reviewSamples(): Array<[string, CardData['review']]> {
  const out: Array<[string, CardData['review']]> = [];
  for (const language of ['en-US', 'de-DE']) {
    const t = messagesFor(language).t.review;
    for (const editable of [true, false]) {
      out.push([`${language} ${editable ? 'editable' : 'read-only'}, no keys, no totals`, { t, setupId: keyRow(0, '').id, rev: 0, editable, keys: [], totals: [] }]);
      HOSTILE.forEach((text, i) => {
        out.push([
          `${language} ${editable ? 'editable' : 'read-only'} hostile ${JSON.stringify(text)}`,
          {
            t,
            notice: i % 2 ? { text, style: 'attention' } : undefined,
            setupId: keyRow(i, '').id,
            rev: i * 7,
            editable,
            keys: Array.from({ length: (i % 4) + 1 }, (_, k) => keyRow(k, text)),
            totals: Array.from({ length: i % 3 }, (_, k) => `${text} total ${k}`),
          },
        ]);
      });
    }
  }
  return out;
}

describe('cards built in code', () => {
  for (const [name, data] of samples()) {
    it(`customers equals its template's expansion: ${name}`, () => {
      const expected = expandTemplate('customers', data);
      // The same JSON text, key order included, as a client would receive it.
      expect(JSON.stringify(renderCard('customers', data))).to.equal(JSON.stringify(expected));
    });
  }

  for (const [name, data] of reviewSamples()) {
    it(`review equals its template's expansion: ${name}`, () => {
      expect(JSON.stringify(renderCard('review', data))).to.equal(JSON.stringify(expandTemplate('review', data)));
    });
  }

  it('keeps typed text as data: an expression a user typed reaches the card verbatim', () => {
    const t = messagesFor('en-US').t.customers;
    const card = customersView({ t, filter: '${t.title}', page: 1, hasNext: false, rows: [row(1, '${$root.t.open}', 1)] });
    const text = JSON.stringify(card);
    expect(text).to.include('${t.title}').and.include('${$root.t.open} 1');
    const review = JSON.stringify(reviewView({ t: messagesFor('en-US').t.review, setupId: keyRow(1, '').id, rev: 1, editable: true, keys: [keyRow(1, '${$root.setupId}')], totals: ['${t.title}'] }));
    expect(review).to.include('${$root.setupId} product').and.include('"text":"${t.title}"');
  });
});
