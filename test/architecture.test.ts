/**
 * The layers of the README's "Architecture" part, checked on the source: which folder may import
 * which, and no import circle. Type-only imports count: they tie a layer to another just the same.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';

const SRC = resolve(import.meta.dirname, '../src');
const SERVICES = ['setups', 'delegation', 'renewals', 'partners', 'reminders'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []));
}

/** Each file of src (as a path like "bot/views.ts") with the files of src it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const imports = ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((i) => i.fileName).filter((name) => name.startsWith('.'));
    graph.set(
      relative(SRC, file),
      imports.map((name) => relative(SRC, resolve(dirname(file), name.replace(/\.js$/, '.ts')))),
    );
  }
  return graph;
}

/** The top-level folder of a path in src, or the file itself for files directly in src. */
const layer = (path: string) => path.split('/')[0]!;

function violations(from: (layer: string) => boolean, to: (layer: string) => boolean): string[] {
  return [...importGraph()].flatMap(([file, imports]) => (from(layer(file)) ? imports.filter((target) => to(layer(target))).map((target) => `${file} → ${target}`) : []));
}

describe('architecture: imports go one way (domain ← store, commerce ← services ← bot ← app)', () => {
  it('finds the source files and their imports', () => {
    const graph = importGraph();
    expect(graph.get('bot/actions.ts')).to.include('bot/flows/redeem.ts');
    expect(graph.get('app.ts')).to.include('bot/partnerSetupBot.ts');
  });

  it('the domain imports nothing outside the domain', () => {
    expect(violations((l) => l === 'domain', (l) => l !== 'domain')).to.deep.equal([]);
  });

  it('store and commerce import no service, no chat layer', () => {
    expect(violations((l) => l === 'store' || l === 'commerce', (l) => SERVICES.includes(l) || l === 'bot' || l === 'i18n' || l === 'app.ts')).to.deep.equal([]);
  });

  it('the embedded commerce keeps its state behind the repository interfaces only (either store)', () => {
    expect(violations((l) => l === 'commerce', (l) => l === 'store').filter((edge) => !edge.endsWith('→ store/repositories.ts'))).to.deep.equal([]);
  });

  it('services know no chat: no import of the bot layer, the wording or the composition root', () => {
    expect(violations((l) => SERVICES.includes(l), (l) => l === 'bot' || l === 'i18n' || l === 'cards.ts' || l === 'app.ts')).to.deep.equal([]);
  });

  it('the bot layer and the wording import no service, store or commerce backend', () => {
    expect(violations((l) => l === 'bot' || l === 'i18n', (l) => SERVICES.includes(l) || l === 'store' || l === 'commerce' || l === 'app.ts')).to.deep.equal([]);
  });

  it('has no import circle', () => {
    const graph = importGraph();
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...path.slice(path.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(circles).to.deep.equal([]);
  });
});
