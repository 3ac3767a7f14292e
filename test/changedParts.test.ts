import { expect } from 'chai';
import { produce } from 'immer';
import { z } from 'zod';
import { problemInChange } from '../src/store/changedParts.js';

const Item = z.object({ id: z.string(), n: z.number() });
const Doc = z.object({ items: z.array(Item), byKey: z.record(z.string(), Item).default({}), note: z.string().optional() });
type DocT = z.infer<typeof Doc>;

describe('checking only the changed parts of a document', () => {
  const base: DocT = { items: [{ id: 'a', n: 1 }, { id: 'b', n: 2 }], byKey: { a: { id: 'a', n: 1 } } };

  it('accepts a valid change and finds nothing in an unchanged document', () => {
    expect(problemInChange(Doc, base, base)).to.equal(undefined);
    const next = produce(base, (d) => void d.items.push({ id: 'c', n: 3 }));
    expect(problemInChange(Doc, base, next)).to.equal(undefined);
  });

  it('finds a bad new array element, a bad record entry, a bad field and an unknown shape', () => {
    expect(problemInChange(Doc, base, produce(base, (d) => void d.items.push({ id: 'c', n: 'x' as unknown as number })))).to.match(/^items\.2\.n /);
    expect(problemInChange(Doc, base, produce(base, (d) => void (d.items[0]!.n = Number.NaN)))).to.match(/^items\.0\.n /);
    expect(problemInChange(Doc, base, produce(base, (d) => void (d.byKey.z = { id: 1 } as unknown as DocT['items'][number])))).to.match(/^byKey\.z\.id /);
    expect(problemInChange(Doc, base, produce(base, (d) => void (d.note = 5 as unknown as string)))).to.match(/^note /);
    expect(problemInChange(Doc, base, produce(base, (d) => void delete (d as Partial<DocT>).items))).to.match(/^items /);
  });

  it('does not re-check parts that are shared with the previous version', () => {
    // A bad element that was already there (say, from an older version) is not this change's fault.
    const legacy = { ...base, items: [...base.items, { id: 'old', n: 'bad' }] } as unknown as DocT;
    const next = produce(legacy, (d) => void (d.note = 'fine'));
    expect(problemInChange(Doc, legacy, next)).to.equal(undefined);
  });
});
