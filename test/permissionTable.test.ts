/** The README's table of who may do what is the code's own: rendered from the verbs' declarations. */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { PERMISSIONS, VERBS } from '../src/bot/actions.js';
import { renderPermissionTable } from '../src/domain/roles.js';

export function readmeTable(): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const match = /<!-- permissions:start -->\n([\s\S]*?)\n<!-- permissions:end -->/.exec(readme);
  if (!match) throw new Error('README has no permissions table');
  return match[1]!;
}

describe("the README's permission table", () => {
  it('equals the table rendered from the declarations (npx tsx scripts/permissions.ts prints it)', () => {
    expect(readmeTable()).to.equal(renderPermissionTable(PERMISSIONS));
  });

  it('declares every card verb once', () => {
    const declared = PERMISSIONS.map((permission) => permission.verb);
    expect(VERBS.filter((verb) => !declared.includes(verb))).to.deep.equal([]);
    expect(declared.filter((verb, i) => declared.indexOf(verb) !== i)).to.deep.equal([]);
  });
});
