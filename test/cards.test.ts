/** Every card, rendered from sample state in both languages, must pass the Adaptive Cards parser and schema. */
import { readdirSync } from 'node:fs';
import { expect } from 'chai';
import { CARD_NAMES, renderCard } from '../src/cards.js';
import { currentCard, entryCard, noticeCard, refusalCard, reviewCard, setupCard, welcomeCard } from '../src/bot/views.js';
import type { Setup } from '../src/domain/setup.js';
import { messagesFor } from '../src/i18n/index.js';
import { cardsDir } from '../src/paths.js';
import { cardText } from './support/cardQuery.js';
import { validateAdaptiveCard } from './support/card-validation.js';

const key = (n: number) => ({
  id: `00000000-0000-4000-8000-00000000000${n}`,
  ref: String(n).repeat(64),
  handle: String(n).repeat(64),
  lastGroup: `ABCD${n}`,
  product: n === 3 ? 'Office 365 E3' : 'Microsoft 365 Business Standard',
  seats: 10,
  termMonths: 12,
});

function sampleSetup(status: Setup['status']): Setup {
  return {
    id: '11111111-1111-4111-8111-111111111111',
    ownerId: 'user-anna',
    ownerName: 'Anna [Berg](https://evil.example) ${t.title}',
    createdAt: '2026-03-01T09:00:00.000Z',
    updatedAt: '2026-03-02T09:00:00.000Z',
    rev: 3,
    status,
    keys: status === 'entering' ? [] : [key(1), key(2), key(3)],
    reservedUntil: status === 'reserved' ? '2026-03-16T09:00:00.000Z' : undefined,
    closedAt: status === 'discarded' || status === 'released' ? '2026-03-05T09:00:00.000Z' : undefined,
  };
}

describe('card templates', () => {
  it('has a renderer entry for every template file and a file for every entry', () => {
    const files = readdirSync(cardsDir).filter((f) => f.endsWith('.json')).map((f) => f.replace('.json', '')).sort();
    expect(files).to.deep.equal([...CARD_NAMES].sort());
  });

  for (const locale of ['en-US', 'de-DE']) {
    describe(`rendered in ${locale}`, () => {
      const m = messagesFor(locale);
      const statuses: Setup['status'][] = ['entering', 'reviewing', 'reserving', 'reserved', 'discarded', 'released'];
      const cards: Array<[string, object]> = [
        ['welcome, empty', welcomeCard(m, 'user-anna', [])],
        ['welcome, with setups', welcomeCard(m, 'user-anna', [sampleSetup('reserved'), { ...sampleSetup('reviewing'), ownerId: 'user-ben' }], { text: 'x', style: 'warning' })],
        ['entry, fresh', entryCard(m, sampleSetup('entering').id, undefined, { values: [''] })],
        [
          'entry, with errors and added keys',
          entryCard(m, sampleSetup('reviewing').id, sampleSetup('reviewing'), {
            values: ['abc', 'x'.repeat(10)],
            errors: [[{ code: 'length', position: 1, length: 3 }, { code: 'duplicate', position: 2, first: 1 }], [{ code: 'reservedByColleague', position: 3, name: 'Ben' }]],
          }, { text: m.t.entry.fix, style: 'attention' }),
        ],
        ['review', reviewCard(m, sampleSetup('reviewing'))],
        ['notice', noticeCard(m, { text: m.t.notice.failed, style: 'attention' }, true)],
        ['receipt', setupCard(m, sampleSetup('reserved'), { actions: false })],
        ...statuses.map((status): [string, object] => [`current card, ${status}`, currentCard(m, sampleSetup(status))]),
        ...(['notFound', 'notOwner', 'stale', 'discarded', 'released', 'alreadyReserved'] as const).map((refused): [string, object] => [
          `refusal ${refused}`,
          refusalCard(m, refused === 'notFound' ? { refused } : { refused, setup: sampleSetup(refused === 'discarded' ? 'discarded' : refused === 'released' ? 'released' : 'reviewing') }),
        ]),
      ];
      for (const [name, card] of cards) {
        it(`${name}: passes the renderer's parser and the 1.5 schema`, () => {
          expect(validateAdaptiveCard(card)).to.deep.equal([]);
          expect(JSON.stringify(card)).not.to.match(/\$\{(?!t\.title)/);
        });
      }
    });
  }

  it('renders typed text as data, never as template source', () => {
    const card = renderCard('notice', { notice: { text: '${t.title} ${1+1} @{x}', style: 'good' } });
    expect(cardText(card)).to.equal('${t.title} ${1+1} @{x}');
  });

  it('shows a German card in German', () => {
    expect(cardText(reviewCard(messagesFor('de-AT'), sampleSetup('reviewing')))).to.include('Sieht alles richtig aus?');
    expect(cardText(reviewCard(messagesFor('fr-FR'), sampleSetup('reviewing')))).to.include('Does everything look right?');
  });
});
